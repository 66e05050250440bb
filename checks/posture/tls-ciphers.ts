/**
 * `tls_ciphers`: handshakes offering only one group of suites each (a new STARTTLS connection per group, TLS 1.0
 * to 1.2, SECLEVEL=0): RSA key exchange (no forward secrecy), 3DES, RC4, export, NULL; any of them accepted: fail
 * `weak-cipher`. Then forward-secret CBC suites with SHA-1 MACs: accepted, warn `cbc-sha1`. Else pass. A group
 * this OpenSSL cannot offer at all (OpenSSL 3 has no RC4, export or 3DES suites) is named as untested in the
 * detail; when no weak group at all could be offered the check is n/a (`cannot-offer`), never a silent pass.
 */
import type { PostureFinding } from '../../src/core/posture.js';
import { addressFinding, tryHello, unreachableFinding, type HelloOutcome, type SmtpDeps, type SmtpTarget } from './smtp.js';

export const name = 'tls_ciphers' as const;

export interface CipherGroup {
  id: string;
  /** OpenSSL cipher string offered, alone. */
  ciphers: string;
  /** fail: accepting it is a fail; warn: a warning. */
  severity: 'fail' | 'warn';
}

export const CIPHER_GROUPS: readonly CipherGroup[] = [
  { id: 'RSA key exchange', ciphers: 'kRSA:@SECLEVEL=0', severity: 'fail' },
  { id: '3DES', ciphers: '3DES:@SECLEVEL=0', severity: 'fail' },
  { id: 'RC4', ciphers: 'RC4:@SECLEVEL=0', severity: 'fail' },
  { id: 'export', ciphers: 'EXP:@SECLEVEL=0', severity: 'fail' },
  { id: 'NULL', ciphers: 'eNULL:@SECLEVEL=0', severity: 'fail' },
  { id: 'CBC-SHA1', ciphers: 'SHA1:!eNULL:!aNULL:!kRSA:!3DES:!RC4:!EXP:@SECLEVEL=0', severity: 'warn' },
];

export type TlsCiphersSeen = { group: CipherGroup; outcome: HelloOutcome }[];

const accepted = (s: TlsCiphersSeen[number]): string => (s.outcome.kind === 'accepted' ? `${s.group.id} (${s.outcome.cipher ?? '?'})` : s.group.id);

export function judgeTlsCiphers(where: Pick<SmtpTarget, 'mxHost' | 'address'>, seen: TlsCiphersSeen): PostureFinding[] {
  const stop = seen.find((s) => s.outcome.kind === 'no-starttls' || s.outcome.kind === 'unreachable');
  const weak = seen.filter((s) => s.outcome.kind === 'accepted' && s.group.severity === 'fail');
  const untested = seen.filter((s) => s.outcome.kind === 'unavailable').map((s) => s.group.id);
  const note = untested.length > 0 ? `; not offerable by this OpenSSL: ${untested.join(', ')}` : '';
  if (weak.length > 0) return [addressFinding(name, where, 'fail', 'weak-cipher', `accepted ${weak.map(accepted).join(', ')}${note}`)];
  if (stop?.outcome.kind === 'no-starttls') return [addressFinding(name, where, 'n/a', 'starttls-not-supported', stop.outcome.detail)];
  if (stop?.outcome.kind === 'unreachable') return [unreachableFinding(name, where, stop.outcome)];
  const cbc = seen.filter((s) => s.outcome.kind === 'accepted' && s.group.severity === 'warn');
  if (cbc.length > 0) return [addressFinding(name, where, 'warn', 'cbc-sha1', `accepted ${cbc.map(accepted).join(', ')}${note}`)];
  const refusedWeak = seen.filter((s) => s.outcome.kind === 'refused' && s.group.severity === 'fail').map((s) => s.group.id);
  if (refusedWeak.length === 0) return [addressFinding(name, where, 'n/a', 'cannot-offer', `no weak group could be offered${note}`)];
  const refused = seen.filter((s) => s.outcome.kind === 'refused').map((s) => s.group.id);
  return [addressFinding(name, where, 'pass', null, `refused ${refused.join(', ')}${note}`)];
}

/** One connection per group this OpenSSL can offer; stops when the address cannot be reached or has no STARTTLS. */
export async function gatherTlsCiphers(t: SmtpTarget, deps: SmtpDeps, groups: readonly CipherGroup[] = CIPHER_GROUPS): Promise<TlsCiphersSeen> {
  const seen: TlsCiphersSeen = [];
  for (const group of groups) {
    const outcome = await tryHello(t, deps, { minVersion: 'TLSv1', maxVersion: 'TLSv1.2', ciphers: group.ciphers });
    seen.push({ group, outcome });
    if (outcome.kind === 'unreachable' || outcome.kind === 'no-starttls') break;
  }
  return seen;
}

export async function runTlsCiphers(t: SmtpTarget, deps: SmtpDeps): Promise<PostureFinding[]> {
  return judgeTlsCiphers(t, await gatherTlsCiphers(t, deps));
}
