/**
 * `auth_before_tls`: what EHLO offers before STARTTLS. AUTH with PLAIN or LOGIN in plaintext: fail (a client
 * that takes the offer sends the password in the clear); AUTH with other mechanisms only: warn; no AUTH: pass.
 * Only the capabilities are read: nothing is ever authenticated.
 */
import type { PostureFinding } from '../../src/core/posture.js';
import { authMechanisms, type Capabilities } from '../../src/smtp/ehlo.js';
import { addressFinding, finish, openSession, unreachable, unreachableFinding, type SmtpDeps, type SmtpTarget, type Unreachable } from './smtp.js';

export const name = 'auth_before_tls' as const;

/** The plaintext EHLO's capabilities (null when EHLO was refused), or why there was no EHLO. */
export type AuthBeforeTlsSeen = { kind: 'ehlo'; caps: Capabilities | null; implicitTls: boolean } | Unreachable;

const CLEARTEXT = ['PLAIN', 'LOGIN'];

export function judgeAuthBeforeTls(where: Pick<SmtpTarget, 'mxHost' | 'address'>, seen: AuthBeforeTlsSeen): PostureFinding[] {
  if (seen.kind === 'unreachable') return [unreachableFinding(name, where, seen)];
  if (seen.implicitTls) return [addressFinding(name, where, 'n/a', null, 'implicit TLS: nothing is said before TLS')];
  if (!seen.caps) return [addressFinding(name, where, 'pass', null, 'EHLO refused before TLS: no AUTH offered')];
  const mechs = authMechanisms(seen.caps);
  if (!Object.hasOwn(seen.caps, 'AUTH')) return [addressFinding(name, where, 'pass', null, 'no AUTH before STARTTLS')];
  const clear = mechs.filter((m) => CLEARTEXT.includes(m));
  if (clear.length > 0) {
    return [addressFinding(name, where, 'fail', 'auth-before-tls', `AUTH ${clear.join(' ')} offered before STARTTLS (offered: ${mechs.join(' ')})`)];
  }
  return [addressFinding(name, where, 'warn', 'auth-before-tls', `AUTH offered before STARTTLS: ${mechs.join(' ') || '(no mechanism named)'}`)];
}

export async function gatherAuthBeforeTls(t: SmtpTarget, deps: SmtpDeps): Promise<AuthBeforeTlsSeen> {
  if (t.implicitTls ?? t.port === 465) return { kind: 'ehlo', caps: null, implicitTls: true };
  try {
    const open = await openSession(t, deps);
    await finish(open.session, deps);
    return { kind: 'ehlo', caps: open.caps, implicitTls: false };
  } catch (e) {
    return unreachable(e);
  }
}

export async function runAuthBeforeTls(t: SmtpTarget, deps: SmtpDeps): Promise<PostureFinding[]> {
  return judgeAuthBeforeTls(t, await gatherAuthBeforeTls(t, deps));
}
