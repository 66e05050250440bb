/**
 * `tls_versions`: a handshake offering only TLS 1.0, then one offering only TLS 1.1 (each a new connection with
 * STARTTLS, or implicit TLS on 465); either accepted: fail `legacy-tls`. Our hello uses `DEFAULT:@SECLEVEL=0`, as
 * OpenSSL 3 refuses to offer TLS 1.0/1.1 at its default security level. SSLv3 cannot be tested: Node's OpenSSL
 * is built without it (said in the detail, never counted as a pass). A version this OpenSSL cannot offer makes
 * the check n/a (`cannot-offer`), not a pass.
 */
import type { PostureFinding } from '../../src/core/posture.js';
import { addressFinding, tryHello, unreachableFinding, type HelloOutcome, type SmtpDeps, type SmtpTarget } from './smtp.js';

export const name = 'tls_versions' as const;

export const LEGACY_VERSIONS = ['TLSv1', 'TLSv1.1'] as const;
export type LegacyVersion = (typeof LEGACY_VERSIONS)[number];

export const SSLV3_NOTE = 'SSLv3 not tested (n/a): Node\'s OpenSSL has no SSLv3';

export type TlsVersionsSeen = { version: LegacyVersion; outcome: HelloOutcome }[];

export function judgeTlsVersions(where: Pick<SmtpTarget, 'mxHost' | 'address'>, seen: TlsVersionsSeen): PostureFinding[] {
  const first = seen[0]?.outcome;
  if (first?.kind === 'unreachable') return [unreachableFinding(name, where, first)];
  const noTls = seen.find((s) => s.outcome.kind === 'no-starttls');
  if (noTls && noTls.outcome.kind === 'no-starttls') {
    return [addressFinding(name, where, 'n/a', 'starttls-not-supported', noTls.outcome.detail)];
  }
  const accepted = seen.filter((s) => s.outcome.kind === 'accepted');
  if (accepted.length > 0) {
    const what = accepted.map((s) => (s.outcome.kind === 'accepted' ? `${s.version} (${s.outcome.cipher ?? '?'})` : s.version));
    return [addressFinding(name, where, 'fail', 'legacy-tls', `accepted ${what.join(', ')}; ${SSLV3_NOTE}`)];
  }
  const broken = seen.find((s) => s.outcome.kind === 'unreachable');
  if (broken && broken.outcome.kind === 'unreachable') return [unreachableFinding(name, where, broken.outcome)];
  const untested = seen.filter((s) => s.outcome.kind === 'unavailable');
  if (untested.length > 0 || seen.length < LEGACY_VERSIONS.length) {
    const why = untested.map((s) => `${s.version}: ${s.outcome.kind === 'unavailable' ? s.outcome.detail : ''}`).join('; ');
    return [addressFinding(name, where, 'n/a', 'cannot-offer', `${why || 'not every version tried'}; ${SSLV3_NOTE}`)];
  }
  return [addressFinding(name, where, 'pass', null, `TLS 1.0 and 1.1 refused; ${SSLV3_NOTE}`)];
}

/** One connection per legacy version; stops when the address cannot be reached or has no STARTTLS. */
export async function gatherTlsVersions(t: SmtpTarget, deps: SmtpDeps): Promise<TlsVersionsSeen> {
  const seen: TlsVersionsSeen = [];
  for (const version of LEGACY_VERSIONS) {
    const outcome = await tryHello(t, deps, { minVersion: version, maxVersion: version, ciphers: 'DEFAULT:@SECLEVEL=0' });
    seen.push({ version, outcome });
    if (outcome.kind === 'unreachable' || outcome.kind === 'no-starttls') break;
  }
  return seen;
}

export async function runTlsVersions(t: SmtpTarget, deps: SmtpDeps): Promise<PostureFinding[]> {
  return judgeTlsVersions(t, await gatherTlsVersions(t, deps));
}
