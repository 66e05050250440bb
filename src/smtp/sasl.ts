import { createHmac } from 'node:crypto';
import { SASL_MECHANISMS, type SaslMechanism } from '../core/sasl.js';

/** SASL exchanges for SMTP AUTH (RFC 4954): each turns server challenges into client responses. */

export interface Credentials {
  username: string;
  /** Password, or the OAuth 2.0 bearer token for XOAUTH2. */
  password: string;
}

export interface SaslExchange {
  /** The AUTH command, with an initial response where the mechanism has one. */
  command: string;
  /** The answer to a 334 challenge (already base64-decoded), base64-encoded; `step` counts from 0. */
  respond(challenge: string, step: number): string;
}

const b64 = (s: string): string => Buffer.from(s, 'utf8').toString('base64');

export function startSasl(mechanism: SaslMechanism, c: Credentials): SaslExchange {
  switch (mechanism) {
    case 'PLAIN':
      // RFC 4616: authzid NUL authcid NUL passwd, sent as the initial response.
      return { command: `AUTH PLAIN ${b64(`\0${c.username}\0${c.password}`)}`, respond: () => '*' };
    case 'LOGIN':
      return { command: 'AUTH LOGIN', respond: (challenge, step) => b64(loginAnswer(challenge, step, c)) };
    case 'CRAM-MD5':
      // RFC 2195: "user hex(HMAC-MD5(password, challenge))".
      return {
        command: 'AUTH CRAM-MD5',
        respond: (challenge) => b64(`${c.username} ${createHmac('md5', c.password).update(challenge).digest('hex')}`),
      };
    case 'XOAUTH2':
      // A 334 here carries a JSON error; the empty response makes the server send its final 5xx.
      return {
        command: `AUTH XOAUTH2 ${b64(`user=${c.username}\x01auth=Bearer ${c.password}\x01\x01`)}`,
        respond: () => '',
      };
  }
}

/** LOGIN's prompts are base64 "Username:" and "Password:"; answer by prompt, by order when a server words them oddly. */
function loginAnswer(challenge: string, step: number, c: Credentials): string {
  const p = challenge.trim().toLowerCase();
  if (p.startsWith('username')) return c.username;
  if (p.startsWith('password')) return c.password;
  return step === 0 ? c.username : c.password;
}

export function decodeChallenge(text: string): string {
  const t = text.trim();
  if (!/^[A-Za-z0-9+/]*={0,2}$/.test(t)) return '';
  return Buffer.from(t, 'base64').toString('utf8');
}

/** The mechanism to use: the configured one, else PLAIN then LOGIN (CRAM-MD5 and XOAUTH2 only when asked for). */
export function chooseMechanism(
  offered: string[],
  wanted: SaslMechanism | null,
): { mechanism: SaslMechanism } | { error: string } {
  const list = offered.join(' ') || 'none';
  if (wanted) {
    return offered.includes(wanted) ? { mechanism: wanted } : { error: `server does not offer AUTH ${wanted} (offers: ${list})` };
  }
  for (const m of ['PLAIN', 'LOGIN'] as const) if (offered.includes(m)) return { mechanism: m };
  return { error: `no usable AUTH mechanism: server offers ${list}; PLAIN or LOGIN unless a mechanism is named` };
}

export function isMechanism(s: string): s is SaslMechanism {
  return (SASL_MECHANISMS as readonly string[]).includes(s);
}
