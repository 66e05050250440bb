/**
 * `starttls`: STARTTLS advertised and the upgrade works (pass); not advertised or refused: fail
 * `starttls-not-supported` (on port 25 mail still flows in plaintext, but nothing protects it); the handshake
 * fails: fail `validation-failure`. Implicit TLS (port 465): the handshake alone.
 */
import type { PostureFinding } from '../../src/core/posture.js';
import { addressFinding, finish, tlsSession, unreachableFinding, type SmtpDeps, type SmtpTarget, type TlsSessionOutcome } from './smtp.js';

export const name = 'starttls' as const;

/** What the gather saw: the outcome of one TLS session, with the version and suite when it worked. */
export type StarttlsSeen =
  | { kind: 'tls'; version: string | null; cipher: string | null }
  | Exclude<TlsSessionOutcome, { kind: 'tls' }>;

export function judgeStarttls(where: Pick<SmtpTarget, 'mxHost' | 'address'>, seen: StarttlsSeen): PostureFinding[] {
  switch (seen.kind) {
    case 'unreachable':
      return [unreachableFinding(name, where, seen)];
    case 'no-starttls':
      return [addressFinding(name, where, 'fail', 'starttls-not-supported', seen.detail)];
    case 'handshake-failed':
      return [addressFinding(name, where, 'fail', 'validation-failure', seen.detail)];
    case 'tls':
      return [addressFinding(name, where, 'pass', null, `upgraded: ${seen.version ?? '?'} ${seen.cipher ?? '?'}`)];
  }
}

export async function gatherStarttls(t: SmtpTarget, deps: SmtpDeps): Promise<StarttlsSeen> {
  const out = await tlsSession(t, deps);
  if (out.kind !== 'tls') return out;
  await finish(out.session, deps);
  return { kind: 'tls', version: out.tls.info.version, cipher: out.tls.info.cipher };
}

export async function runStarttls(t: SmtpTarget, deps: SmtpDeps): Promise<PostureFinding[]> {
  return judgeStarttls(t, await gatherStarttls(t, deps));
}
