/**
 * `certificate`: the leaf certificate an address serves (over STARTTLS, or implicit TLS on 465). An RSA key under
 * 2048 bits or a SHA-1 (or MD5) signature: fail. A name that does not match the MX host, or a chain not trusted
 * (system store plus `--ca`): warn on an MX port, fail on submission ports 465/587 (a sender to an MX falls back
 * to unauthenticated TLS; a mail client does not). Days left, counted from the date given (`--at`): under 14 warn,
 * under 7 or past the end fail (`certificate-expired`). One finding: the worst problem's verdict and reason, every
 * problem in the detail. The hello offers everything this OpenSSL can (SECLEVEL=0), so a weak certificate is seen.
 */
import { checkServerIdentity, type PeerCertificate } from 'node:tls';
import { worstOf, type PostureFinding, type PostureVerdict } from '../../src/core/posture.js';
import { addressFinding, finish, tlsParamsFor, tlsSession, unreachableFinding, type SmtpDeps, type SmtpTarget, type Unreachable } from './smtp.js';
import type { SchemaKit } from '../step.js';

export const name = 'certificate' as const;

const DAY_MS = 86_400_000;

export interface CertificateOptions {
  /** Days left under this: warn. */
  warnDays: number;
  /** Days left under this: fail. */
  failDays: number;
  /** Judge as of this date (ms since the epoch; `--at`); default: now. */
  at: number | null;
}

export const DEFAULT_CERTIFICATE_OPTIONS: CertificateOptions = { warnDays: 14, failDays: 7, at: null };

/** Config keys of `certificate` (the date `--at` is the command's, not a config key). */
export function options({ z }: SchemaKit) {
  const days = z.number().int().min(0).max(3650);
  return {
    warn_days: days.optional().meta({ description: 'Fewer days left than this: warn. Example: 14' }),
    fail_days: days.optional().meta({ description: 'Fewer days left than this: fail (certificate-expired). Example: 7' }),
  };
}

export function certificateOptions(c: { warn_days?: number; fail_days?: number } = {}, at: number | null = null): CertificateOptions {
  return { warnDays: c.warn_days ?? DEFAULT_CERTIFICATE_OPTIONS.warnDays, failDays: c.fail_days ?? DEFAULT_CERTIFICATE_OPTIONS.failDays, at };
}

/** What the handshake showed of the leaf certificate. */
export interface CertFacts {
  /** 'RSA', 'EC' or another key type; bits of the key. */
  keyType: string;
  bits: number | null;
  /** e.g. sha256WithRSAEncryption, or the dotted OID when unknown. */
  signature: string | null;
  /** The chain verified against the trusted CAs (an expiry error alone does not count: dates are judged by `at`). */
  trusted: boolean;
  verifyError: string | null;
  /** Null when the certificate matches the name; else why not. */
  nameError: string | null;
  servername: string;
  validFrom: string | null;
  validTo: string | null;
}

export type CertificateSeen =
  | { kind: 'cert'; facts: CertFacts }
  | { kind: 'no-tls'; detail: string; reason: string }
  | Unreachable;

/** 465 and 587 are submission ports (RFC 8314, 6409): a wrong name or an untrusted chain fails there. */
export function isSubmissionPort(port: number): boolean {
  return port === 465 || port === 587;
}

interface Problem {
  result: PostureVerdict;
  reason: string;
  text: string;
}

export function judgeCertificate(
  where: Pick<SmtpTarget, 'mxHost' | 'address' | 'port'>,
  seen: CertificateSeen,
  o: { warnDays: number; failDays: number; at: number },
): PostureFinding[] {
  if (seen.kind === 'unreachable') return [unreachableFinding(name, where, seen)];
  if (seen.kind === 'no-tls') return [addressFinding(name, where, 'n/a', seen.reason, seen.detail)];
  const f = seen.facts;
  const problems: Problem[] = [...keyProblems(f), ...dateProblems(f, o)];
  const strict: PostureVerdict = isSubmissionPort(where.port) ? 'fail' : 'warn';
  if (!f.trusted) problems.push({ result: strict, reason: 'certificate-not-trusted', text: `not trusted: ${f.verifyError ?? 'unverified'}` });
  if (f.nameError !== null) problems.push({ result: strict, reason: 'certificate-host-mismatch', text: f.nameError });
  const summary = `${f.keyType} ${f.bits ?? '?'} bits, ${f.signature ?? 'unknown signature'}, until ${f.validTo ?? '?'}`;
  if (problems.length === 0) return [addressFinding(name, where, 'pass', null, `${summary}; trusted; matches ${f.servername}`)];
  const worst = worstOf(problems)!;
  return [addressFinding(name, where, worst.result, worst.reason, `${problems.map((p) => p.text).join('; ')} (${summary})`)];
}

const WEAK_SIGNATURE = /sha1|md5|md2/i;

function keyProblems(f: CertFacts): Problem[] {
  const out: Problem[] = [];
  if (f.keyType === 'RSA' && f.bits !== null && f.bits < 2048) {
    out.push({ result: 'fail', reason: 'weak-key', text: `RSA key of ${f.bits} bits (under 2048)` });
  }
  if (f.signature !== null && WEAK_SIGNATURE.test(f.signature)) {
    out.push({ result: 'fail', reason: 'weak-signature', text: `signed with ${f.signature}` });
  }
  return out;
}

function dateProblems(f: CertFacts, o: { warnDays: number; failDays: number; at: number }): Problem[] {
  const on = new Date(o.at).toISOString().slice(0, 10);
  const from = f.validFrom === null ? NaN : Date.parse(f.validFrom);
  if (from > o.at) return [{ result: 'fail', reason: 'validation-failure', text: `not valid until ${f.validFrom} (as of ${on})` }];
  const to = f.validTo === null ? NaN : Date.parse(f.validTo);
  if (Number.isNaN(to)) return [{ result: 'fail', reason: 'validation-failure', text: 'no readable end date' }];
  if (to <= o.at) return [{ result: 'fail', reason: 'certificate-expired', text: `expired ${f.validTo} (as of ${on})` }];
  const days = Math.floor((to - o.at) / DAY_MS);
  if (days < o.failDays) return [{ result: 'fail', reason: 'certificate-expired', text: `${days} days left (under ${o.failDays}) as of ${on}` }];
  if (days < o.warnDays) return [{ result: 'warn', reason: 'certificate-expired', text: `${days} days left (under ${o.warnDays}) as of ${on}` }];
  return [];
}

/** The facts of the leaf certificate, from the TLS socket's view of it. */
export function certFacts(peer: PeerCertificate, verifyError: string | null, servername: string): CertFacts {
  const code = verifyError === null ? null : verifyError.split(':')[0]!;
  // Dates are judged as of `at`, and Node reports a name mismatch as the socket's authorization error: neither is trust.
  const notTrust = code === 'CERT_HAS_EXPIRED' || code === 'CERT_NOT_YET_VALID' || code === 'ERR_TLS_CERT_ALTNAME_INVALID';
  const nameErr = checkServerIdentity(servername, peer);
  const p = peer as PeerCertificate & { modulus?: string; asn1Curve?: string; bits?: number };
  return {
    keyType: p.modulus ? 'RSA' : p.asn1Curve ? 'EC' : 'unknown key type',
    bits: typeof p.bits === 'number' ? p.bits : null,
    signature: peer.raw ? signatureAlgorithm(peer.raw) : null,
    trusted: verifyError === null || notTrust,
    verifyError,
    nameError: nameErr ? `does not match ${servername}: ${nameErr.message}` : null,
    servername,
    validFrom: isoOrNull(peer.valid_from),
    validTo: isoOrNull(peer.valid_to),
  };
}

function isoOrNull(text: string | undefined): string | null {
  const t = text ? Date.parse(text) : NaN;
  return Number.isNaN(t) ? null : new Date(t).toISOString();
}

const SIGNATURE_OIDS: Record<string, string> = {
  '1.2.840.113549.1.1.2': 'md2WithRSAEncryption',
  '1.2.840.113549.1.1.4': 'md5WithRSAEncryption',
  '1.2.840.113549.1.1.5': 'sha1WithRSAEncryption',
  '1.2.840.113549.1.1.10': 'RSASSA-PSS',
  '1.2.840.113549.1.1.11': 'sha256WithRSAEncryption',
  '1.2.840.113549.1.1.12': 'sha384WithRSAEncryption',
  '1.2.840.113549.1.1.13': 'sha512WithRSAEncryption',
  '1.2.840.10045.4.1': 'ecdsa-with-SHA1',
  '1.2.840.10045.4.3.2': 'ecdsa-with-SHA256',
  '1.2.840.10045.4.3.3': 'ecdsa-with-SHA384',
  '1.2.840.10045.4.3.4': 'ecdsa-with-SHA512',
  '1.2.840.10040.4.3': 'dsa-with-sha1',
  '1.3.101.112': 'Ed25519',
  '1.3.101.113': 'Ed448',
};

/**
 * The certificate's signatureAlgorithm (RFC 5280 4.1.1.2: the second element of the outer SEQUENCE), from the DER;
 * null when the DER does not parse. Node 20's X509Certificate does not expose it.
 */
export function signatureAlgorithm(der: Buffer): string | null {
  const cert = tlv(der, 0);
  if (!cert || cert.tag !== 0x30) return null;
  const tbs = tlv(der, cert.start);
  const alg = tbs && tlv(der, tbs.end);
  const oid = alg && alg.tag === 0x30 ? tlv(der, alg.start) : null;
  if (!oid || oid.tag !== 0x06) return null;
  const dotted = oidText(der.subarray(oid.start, oid.end));
  return SIGNATURE_OIDS[dotted] ?? dotted;
}

/** One DER tag-length-value at `at`: where its contents start and end. */
function tlv(der: Buffer, at: number): { tag: number; start: number; end: number } | null {
  if (at + 2 > der.length) return null;
  const tag = der[at]!;
  let len = der[at + 1]!;
  let start = at + 2;
  if (len & 0x80) {
    const n = len & 0x7f;
    if (n === 0 || n > 4 || start + n > der.length) return null;
    len = 0;
    for (let i = 0; i < n; i++) len = len * 256 + der[start + i]!;
    start += n;
  }
  return start + len > der.length ? null : { tag, start, end: start + len };
}

function oidText(b: Buffer): string {
  if (b.length === 0) return '';
  const parts = [Math.floor(b[0]! / 40), b[0]! % 40];
  let v = 0;
  for (const byte of b.subarray(1)) {
    v = v * 128 + (byte & 0x7f);
    if (!(byte & 0x80)) {
      parts.push(v);
      v = 0;
    }
  }
  return parts.join('.');
}

export async function gatherCertificate(t: SmtpTarget, deps: SmtpDeps): Promise<CertificateSeen> {
  const out = await tlsSession(t, deps, { minVersion: 'TLSv1', ciphers: 'DEFAULT:@SECLEVEL=0' });
  if (out.kind === 'unreachable') return out;
  if (out.kind === 'no-starttls') return { kind: 'no-tls', detail: out.detail, reason: 'starttls-not-supported' };
  if (out.kind === 'handshake-failed') return { kind: 'no-tls', detail: out.detail, reason: 'validation-failure' };
  await finish(out.session, deps);
  const { info, peer } = out.tls;
  if (!peer) return { kind: 'no-tls', detail: 'the server sent no certificate', reason: 'validation-failure' };
  const code = info.verified ? null : (info.verifyError ?? 'unverified');
  return { kind: 'cert', facts: certFacts(peer, code, tlsParamsFor(t).servername) };
}

export async function runCertificate(
  t: SmtpTarget,
  deps: SmtpDeps,
  o: CertificateOptions = DEFAULT_CERTIFICATE_OPTIONS,
): Promise<PostureFinding[]> {
  const seen = await gatherCertificate(t, deps);
  return judgeCertificate(t, seen, { warnDays: o.warnDays, failDays: o.failDays, at: o.at ?? deps.clock.wallNow() });
}
