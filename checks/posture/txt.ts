/**
 * What the DNS-record posture checks (mta_sts, tls_rpt, spf, dmarc) share: the injected TXT lookup, one lookup's
 * outcome as plain data (never an exception), picking the records of one version tag, and a finding builder.
 *
 * The lookup is injected so that tests pass fakes and the posture command passes the DNS client that reads the
 * AD bit (`src/dns/secure.ts`): its `DnsAnswer<'TXT'>` is a `TxtAnswer` as it is, so `txt: (name) =>
 * dns.query(name, 'TXT')` wires it (each record's strings already joined, RFC 7208 3.3, RFC 8461 3.1).
 */
import type { PostureCheckName, PostureFinding, PostureScope, PostureVerdict } from '../../src/core/posture.js';

/**
 * One TXT lookup's answer: the response code (`NOERROR`, `NXDOMAIN`, `SERVFAIL`...; null when no usable answer
 * came, `detail` saying why) and each record's joined text.
 */
export interface TxtAnswer {
  rcode: string | null;
  records: readonly string[];
  detail?: string;
}

export type TxtLookup = (name: string) => Promise<TxtAnswer>;

/**
 * A lookup as the judges see it. `none`: NXDOMAIN, or NOERROR without a TXT record; `error`: any other response
 * code, or the lookup failed (timeout, network): senders get a temporary error, so the domain's policy is unknown.
 */
export type TxtState =
  | { kind: 'records'; records: readonly string[] }
  | { kind: 'none' }
  | { kind: 'error'; detail: string };

/** Runs one lookup and turns every outcome, a rejection included, into a `TxtState`. */
export async function lookupTxt(txt: TxtLookup, name: string): Promise<TxtState> {
  let answer: TxtAnswer;
  try {
    answer = await txt(name);
  } catch (e) {
    return { kind: 'error', detail: `TXT ${name}: ${e instanceof Error ? e.message : String(e)}` };
  }
  if (answer.rcode === null) return { kind: 'error', detail: `TXT ${name}: ${answer.detail ?? 'no answer'}` };
  const rcode = answer.rcode.toUpperCase();
  if (rcode === 'NXDOMAIN') return { kind: 'none' };
  if (rcode !== 'NOERROR') return { kind: 'error', detail: `TXT ${name}: ${rcode}` };
  return answer.records.length === 0 ? { kind: 'none' } : { kind: 'records', records: answer.records };
}

/**
 * The records of one version: those that start with `prefix` (compared without case, as the ABNF of RFC 7208,
 * 7489, 8460 and 8461 wants its literals), the rest discarded as each RFC says. For SPF (`v=spf1`) the prefix must
 * end the record or be followed by a space, so that `v=spf10` is not an SPF record (RFC 7208 4.5).
 */
export function recordsOf(state: TxtState, prefix: string, spaceAfter = false): string[] {
  if (state.kind !== 'records') return [];
  const want = prefix.toLowerCase();
  return state.records.filter((r) => {
    const head = r.slice(0, want.length).toLowerCase();
    if (head !== want) return false;
    return !spaceAfter || r.length === want.length || r[want.length] === ' ';
  });
}

/**
 * `tag=value` pairs separated by `;` (RFC 7489 6.4, RFC 8460 3, RFC 8461 3.1), whitespace around each trimmed,
 * names lower-cased. Null when a non-empty part has no `=` or a tag comes twice (a malformed record).
 */
export function parseTags(record: string): Map<string, string> | null {
  const tags = new Map<string, string>();
  for (const part of record.split(';')) {
    const item = part.trim();
    if (item === '') continue;
    const eq = item.indexOf('=');
    if (eq <= 0) return null;
    const name = item.slice(0, eq).trim().toLowerCase();
    if (tags.has(name)) return null;
    tags.set(name, item.slice(eq + 1).trim());
  }
  return tags;
}

/** Quotes server-controlled text for a detail line: one line, at most `max` characters. */
export function quote(text: string, max = 120): string {
  // eslint-disable-next-line no-control-regex
  const flat = text.replace(/[\u0000-\u001f\u007f]/g, ' ');
  return JSON.stringify(flat.length > max ? `${flat.slice(0, max)}…` : flat);
}

/** A tag value as it is when it is one plain word (letters, digits, `.:_-`), else quoted as `quote` does. */
export function word(text: string, max = 40): string {
  return /^[A-Za-z0-9.:_-]+$/.test(text) && text.length <= max ? text : quote(text, max);
}

/** One finding, in the field order of `PostureFinding`. */
export function finding(
  check: PostureCheckName,
  where: { scope: PostureScope; mxHost?: string | null; address?: string | null },
  result: PostureVerdict,
  reason: string | null,
  detail: string,
): PostureFinding {
  return {
    check,
    scope: where.scope,
    mxHost: where.mxHost ?? null,
    address: where.address ?? null,
    result,
    reason,
    detail,
  };
}

/** The domain scope, for `finding`. */
export const DOMAIN = { scope: 'domain' } as const;
