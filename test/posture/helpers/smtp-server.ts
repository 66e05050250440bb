/**
 * A scripted SMTP server (test/helpers/scripted-server.ts) that answers by behaviour rather than by a fixed
 * script, for the posture checks: which capabilities it advertises before and after TLS, its TLS settings (TLS 1.0
 * on, weak suites), what VRFY/EXPN/RCPT get, and whether it answers commands pipelined behind STARTTLS inside
 * TLS (CVE-2011-0411). Every line the client sends is recorded by the scripted server.
 */
import type tls from 'node:tls';
import { systemClock } from '../../../src/core/clock.js';
import type { SmtpTarget } from '../../../checks/posture/smtp.js';
import type { KeyPair } from '../../helpers/certs.js';
import { multiline, startScriptedServer, type ScriptedConnection, type ScriptedServer } from '../../helpers/scripted-server.js';

export interface Behaviour {
  /** EHLO keywords before TLS (STARTTLS added when `tls` is set and `advertiseStarttls` is not false). */
  caps?: string[];
  /** EHLO keywords after TLS. */
  capsTls?: string[];
  tls?: { pair: KeyPair; options?: tls.TLSSocketOptions };
  advertiseStarttls?: boolean;
  /** The STARTTLS reply (default 220). */
  starttlsReply?: string;
  /** Answer the lines that arrived in plaintext after STARTTLS inside TLS (the CVE-2011-0411 bug). */
  injectionVulnerable?: boolean;
  vrfy?: (arg: string) => string;
  expn?: (arg: string) => string;
  mail?: (arg: string) => string;
  rcpt?: (arg: string) => string;
  /** TLS from the first byte with `tls.pair` (as port 465), no STARTTLS. */
  implicit?: boolean;
}

export async function startPostureServer(b: Behaviour): Promise<ScriptedServer> {
  const implicit = b.implicit && b.tls ? { implicitTls: b.tls.pair } : {};
  return startScriptedServer([{ send: '220 mx.example.test ESMTP posture test\r\n' }, { run: (c) => serve(c, b) }], implicit);
}

async function serve(c: ScriptedConnection, b: Behaviour): Promise<void> {
  for (;;) {
    const line = await c.nextLine();
    if (!line) return;
    if (isTls(c) && !line.tls && !b.injectionVulnerable) continue; // plaintext input discarded after TLS
    const [verb = '', ...rest] = line.text.split(' ');
    const arg = rest.join(' ');
    switch (verb.toUpperCase()) {
      case 'EHLO': {
        const base = isTls(c) ? (b.capsTls ?? b.caps ?? []) : (b.caps ?? []);
        const st = b.tls && !b.implicit && b.advertiseStarttls !== false && !isTls(c) ? ['STARTTLS'] : [];
        c.write(multiline(250, ['mx.example.test', ...base, ...st]));
        break;
      }
      case 'STARTTLS': {
        const r = b.starttlsReply ?? '220 2.0.0 Ready to start TLS';
        c.write(`${r}\r\n`);
        if (!b.tls || !r.startsWith('220')) break;
        try {
          await c.upgrade(b.tls.pair, b.tls.options);
        } catch {
          c.destroy();
          return;
        }
        break;
      }
      case 'VRFY':
        c.write(`${b.vrfy ? b.vrfy(arg) : '502 5.5.1 VRFY command is disabled'}\r\n`);
        break;
      case 'EXPN':
        c.write(`${b.expn ? b.expn(arg) : '502 5.5.1 EXPN command is disabled'}\r\n`);
        break;
      case 'MAIL':
        c.write(`${b.mail ? b.mail(arg) : '250 2.1.0 Ok'}\r\n`);
        break;
      case 'RCPT':
        c.write(`${b.rcpt ? b.rcpt(arg) : '554 5.7.1 Relay access denied'}\r\n`);
        break;
      case 'DATA':
        c.write('354 go ahead\r\n');
        await c.readData();
        c.write('250 2.0.0 queued\r\n');
        break;
      case 'RSET':
      case 'NOOP':
        c.write('250 2.0.0 Ok\r\n');
        break;
      case 'QUIT':
        c.write('221 2.0.0 Bye\r\n');
        c.socket.end();
        return;
      default:
        c.write('502 5.5.2 Error: command not recognized\r\n');
    }
  }
}

const isTls = (c: ScriptedConnection): boolean => 'encrypted' in c.socket;

/** The deps every posture test gives a gather function: the system clock, a 5 s bound on each wait. */
export const testDeps = { clock: systemClock, timeoutMs: 5_000, ehloName: 'probe.example.test' };

/** The one address of the test MX host: the scripted server on loopback. */
export function target(s: ScriptedServer, extra: Partial<SmtpTarget> = {}): SmtpTarget {
  return { mxHost: 'mail.example.test', address: '127.0.0.1', port: s.port, ...extra };
}

/** Strong TLS only (ECDHE with AEAD), as a well-configured server: the passing baseline of the TLS checks. */
export const STRONG = { ciphers: 'ECDHE+AESGCM:ECDHE+CHACHA20', minVersion: 'TLSv1.2' } as const;
