/**
 * The vocabulary of `smtp-probe posture`: the checks, their verdicts and reasons, and one finding (what a check
 * says of the domain, of one MX host or of one address of an MX host). Plain data; the checks live in
 * `checks/posture/`, each with a pure judge function over what it gathered.
 */

/** Every posture check, in the order a report lists them. */
export const POSTURE_CHECKS = [
  'mta_sts', 'tls_rpt', 'spf', 'dmarc', 'dane', 'dnsbl',
  'starttls', 'tls_versions', 'tls_ciphers', 'certificate', 'starttls_injection', 'auth_before_tls',
  'vrfy', 'expn', 'open_relay', 'banner_hostname', 'fcrdns',
] as const;
export type PostureCheckName = (typeof POSTURE_CHECKS)[number];

/** n/a: the check does not apply (no MTA-STS record, an insecure DNS zone for DANE, no STARTTLS to test TLS on). */
export const POSTURE_VERDICTS = ['pass', 'warn', 'fail', 'n/a'] as const;
export type PostureVerdict = (typeof POSTURE_VERDICTS)[number];

/** What a check is about: the domain as a whole, one MX host, or one address of one MX host. */
export type PostureScope = 'domain' | 'mx' | 'address';

export interface PostureFinding {
  check: PostureCheckName;
  scope: PostureScope;
  /** The MX host (scope mx and address); null for the domain. */
  mxHost: string | null;
  /** The address probed (scope address); null otherwise. */
  address: string | null;
  result: PostureVerdict;
  /** Null on pass and often on n/a. */
  reason: string | null;
  /** One line, for people: what was seen (server text quoted and cut, never a secret). */
  detail: string;
}

/** Where a finding is, for one line of text: `HOST ADDRESS`, the MX host, or the domain. */
export function findingPlace(f: Pick<PostureFinding, 'mxHost' | 'address'>, domain: string): string {
  return f.address ? `${f.mxHost} ${f.address}` : (f.mxHost ?? domain);
}

/** Worst first: fail > warn > pass > n/a. */
export const VERDICT_RANK: Record<PostureVerdict, number> = { fail: 3, warn: 2, pass: 1, 'n/a': 0 };

/** The first of the worst (fail > warn > pass > n/a) of some verdicts with their reasons; null when there is none. */
export function worstOf<T extends { result: PostureVerdict }>(items: readonly T[]): T | null {
  let worst: T | null = null;
  for (const x of items) if (worst === null || VERDICT_RANK[x.result] > VERDICT_RANK[worst.result]) worst = x;
  return worst;
}

/** The worst verdict of some findings; n/a when there is none. */
export function worstVerdict(findings: readonly PostureFinding[]): PostureVerdict {
  return worstOf(findings)?.result ?? 'n/a';
}

/** Curl's `--connect-to`: `host` '' matches any host, `port` null any port; `toHost` '' and `toPort` null keep them. */
export interface ConnectTo {
  host: string;
  port: number | null;
  toHost: string;
  toPort: number | null;
}

/** A module's `posture:`: the daemon's posture runs of its targets (docs/posture.md "In the daemon"). */
export interface PostureModuleSettings {
  checks: readonly PostureCheckName[];
  /** At most one posture run per target this often. */
  everyMs: number;
  /** The validating resolver asked (IP[:PORT]); null: the system's first nameserver. */
  dnsServer: string | null;
  connectTo: readonly ConnectTo[];
  /** Each check's own config keys as the config gave them (a check's `options(kit)` shape), converted by the run. */
  options: Readonly<Partial<Record<PostureCheckName, Readonly<Record<string, unknown>>>>>;
}

/** A finding whose verdict moved between two posture runs of a target, or that came (from null) or went (to null). */
export interface PostureChange {
  check: PostureCheckName;
  mxHost: string | null;
  address: string | null;
  from: PostureVerdict | null;
  to: PostureVerdict | null;
  /** The reason now (or, for a finding that went, before). */
  reason: string | null;
  detail: string;
}

/** What moved from one run's findings to the next, in the order of the newer run (then the findings that went). */
export function postureChanges(before: readonly PostureFinding[], after: readonly PostureFinding[]): PostureChange[] {
  const key = (f: PostureFinding): string => `${f.check}\u0000${f.mxHost ?? ''}\u0000${f.address ?? ''}`;
  const old = new Map(before.map((f) => [key(f), f]));
  const out: PostureChange[] = [];
  for (const f of after) {
    const was = old.get(key(f));
    old.delete(key(f));
    if (was && was.result === f.result && was.reason === f.reason) continue;
    out.push({ check: f.check, mxHost: f.mxHost, address: f.address, from: was?.result ?? null, to: f.result, reason: f.reason, detail: f.detail });
  }
  for (const was of old.values()) {
    out.push({ check: was.check, mxHost: was.mxHost, address: was.address, from: was.result, to: null, reason: was.reason, detail: 'no longer reported' });
  }
  return out;
}

/** The last posture run of a target, as the daemon keeps it (`GET /api/v1/targets/{name}`, the target page). */
export interface PostureSnapshot {
  /** When it finished (ISO). */
  at: string;
  domain: string;
  /** The MX hosts it found, by preference, with their addresses. */
  mx: { host: string; preference: number | null; addresses: string[] }[];
  findings: PostureFinding[];
  /** What kept part of the run from happening (an MX or address lookup that failed). */
  problems: string[];
  /** When the run before finished (ISO); null when this is the first since the daemon started. */
  previousAt: string | null;
  /**
   * The last run whose findings differed from the run before it (this one or an earlier one): when, and what moved.
   * Null until a run has differed from its predecessor since the daemon started.
   */
  lastChange: { at: string; previousAt: string; changes: PostureChange[] } | null;
}
