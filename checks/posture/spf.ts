/**
 * `spf` (RFC 7208): the domain's one `v=spf1` record, how it ends (`all` or `redirect=`), and how many DNS lookups
 * evaluating it costs, counted through every `include:` and `redirect=` (RFC 7208 4.6.4: more than 10 is a
 * permerror).
 *
 * Rules, worst first: a failed lookup at the domain is a fail (`dns-error`: receivers get a temperror); no record
 * is a fail (`record-missing`: receivers cannot tell forged mail from real, RFC 7208 2.6.1 "none"); several are a
 * fail (`multiple-records`, RFC 7208 4.5 permerror); a record that does not parse is a fail (`record-invalid`:
 * an unknown mechanism, a missing domain, two `redirect=`); an `include:`/`redirect=` to a domain without an SPF
 * record, with several, or with one that does not parse is a fail (`include-invalid`, permerror, RFC 7208
 * 5.2 / 6.1), one whose lookup failed a fail (`dns-error`); a loop of includes/redirects is a fail (`include-loop`);
 * more than 10 of include, a, mx, ptr, exists and redirect, counted recursively, is a fail (`too-many-lookups`);
 * `+all` (or a bare `all`) is a fail (`all-pass`: anyone may send); no `all` and no `redirect=` is a fail
 * (`no-all`: the default result is neutral); `?all` is a warn (`all-neutral`); `~all` and `-all` pass. A
 * `redirect=` counts only when the record has no `all` (RFC 7208 6.1), and then the redirected record's ending
 * is the domain's. Targets with macros (`%{...}`) count one lookup and are not followed.
 */
import type { PostureFinding, PostureVerdict } from '../../src/core/posture.js';
import { worstOf } from '../../src/core/posture.js';
import { DOMAIN, finding, lookupTxt, quote, recordsOf, type TxtLookup, type TxtState } from './txt.js';

export const name = 'spf' as const;

/** RFC 7208 4.6.4. */
export const MAX_SPF_LOOKUPS = 10;
/** Most names `gatherSpf` looks up beyond the domain: past 11 distinct targets the count is over 10 anyway. */
const MAX_FOLLOWED = MAX_SPF_LOOKUPS + 1;

export type SpfQualifier = '+' | '-' | '~' | '?';
export type SpfTerm =
  | { kind: 'mechanism'; qualifier: SpfQualifier; name: string; target: string | null }
  | { kind: 'modifier'; name: string; value: string };

const MECHANISMS = new Set(['all', 'include', 'a', 'mx', 'ptr', 'ip4', 'ip6', 'exists']);
const NEEDS_TARGET = new Set(['include', 'exists', 'ip4', 'ip6']);
const COUNTED = new Set(['include', 'a', 'mx', 'ptr', 'exists']);

/** One record's terms, or why it does not parse (RFC 7208 4.6.1, 12). */
export function parseSpf(record: string): { ok: true; terms: SpfTerm[] } | { ok: false; why: string } {
  const terms: SpfTerm[] = [];
  for (const raw of record.split(' ').slice(1)) {
    if (raw === '') continue;
    const mod = /^([A-Za-z][A-Za-z0-9_.-]*)=(.*)$/.exec(raw);
    if (mod) {
      const modName = (mod[1] as string).toLowerCase();
      if (modName === 'redirect' && terms.some((t) => t.kind === 'modifier' && t.name === 'redirect')) {
        return { ok: false, why: 'two redirect= modifiers' };
      }
      terms.push({ kind: 'modifier', name: modName, value: mod[2] as string });
      continue;
    }
    const m = /^([+\-~?]?)([A-Za-z0-9]+)(?::([^/]*))?(\/.*)?$/.exec(raw);
    const mechName = m?.[2]?.toLowerCase() ?? '';
    if (!m || !MECHANISMS.has(mechName)) return { ok: false, why: `unknown term ${quote(raw, 60)}` };
    const target = m[3] ?? null;
    if (NEEDS_TARGET.has(mechName) && !target) return { ok: false, why: `${mechName} without a value` };
    if (mechName === 'all' && (target !== null || m[4] !== undefined)) return { ok: false, why: `malformed ${quote(raw, 60)}` };
    terms.push({ kind: 'mechanism', qualifier: ((m[1] || '+') as SpfQualifier), name: mechName, target });
  }
  return { ok: true, terms };
}

/** What `gatherSpf` collected: the TXT lookup of the domain and of every include/redirect target it followed. */
export interface SpfGathered {
  domain: string;
  /** Keyed by lower-case name without a trailing dot; the domain itself included. */
  lookups: ReadonlyMap<string, TxtState>;
}

export interface SpfDeps {
  txt: TxtLookup;
}

/** The names a record sends evaluation to: its includes, and its redirect when it has no `all`. */
function followed(terms: readonly SpfTerm[]): string[] {
  const out: string[] = [];
  for (const t of terms) if (t.kind === 'mechanism' && t.name === 'include' && t.target) out.push(t.target);
  const redirect = redirectOf(terms);
  if (redirect !== null) out.push(redirect);
  return out.filter((n) => !n.includes('%')).map(key);
}

function redirectOf(terms: readonly SpfTerm[]): string | null {
  if (terms.some((t) => t.kind === 'mechanism' && t.name === 'all')) return null;
  const r = terms.find((t) => t.kind === 'modifier' && t.name === 'redirect');
  return r?.kind === 'modifier' ? r.value : null;
}

function key(n: string): string {
  const lower = n.toLowerCase();
  return lower.endsWith('.') ? lower.slice(0, -1) : lower;
}

/** The single SPF record of a lookup, parsed; or why there is none usable. */
function recordAt(state: TxtState | undefined): { ok: true; terms: SpfTerm[]; text: string } | { ok: false; kind: string; why: string } {
  if (!state) return { ok: false, kind: 'unknown', why: 'not looked up' };
  if (state.kind === 'error') return { ok: false, kind: 'error', why: state.detail };
  const found = recordsOf(state, 'v=spf1', true);
  if (found.length === 0) return { ok: false, kind: 'none', why: 'no v=spf1 record' };
  if (found.length > 1) return { ok: false, kind: 'multiple', why: `${found.length} v=spf1 records` };
  const parsed = parseSpf(found[0] as string);
  return parsed.ok ? { ok: true, terms: parsed.terms, text: found[0] as string } : { ok: false, kind: 'invalid', why: parsed.why };
}

/** Looks up the domain, then every include/redirect target breadth first (each name once, at most 11 of them). */
export async function gatherSpf(domain: string, deps: SpfDeps): Promise<SpfGathered> {
  const lookups = new Map<string, TxtState>();
  let level = [key(domain)];
  while (level.length > 0 && lookups.size <= MAX_FOLLOWED) {
    const names = [...new Set(level)].filter((n) => !lookups.has(n)).slice(0, MAX_FOLLOWED + 1 - lookups.size);
    const states = await Promise.all(names.map((n) => lookupTxt(deps.txt, n)));
    names.forEach((n, i) => lookups.set(n, states[i] as TxtState));
    level = names.flatMap((n) => {
      const r = recordAt(lookups.get(n));
      return r.ok ? followed(r.terms) : [];
    });
  }
  return { domain, lookups };
}

interface Issue {
  result: PostureVerdict;
  reason: string;
  detail: string;
}

/** Counts the lookups of the record at `name` and below; problems on the way go into `issues`. */
function count(g: SpfGathered, name: string, path: readonly string[], issues: Issue[], budget: { left: number }): number {
  const r = recordAt(g.lookups.get(name));
  if (!r.ok) {
    if (r.kind === 'error') issues.push({ result: 'fail', reason: 'dns-error', detail: r.why });
    else if (r.kind !== 'unknown') issues.push({ result: 'fail', reason: 'include-invalid', detail: `${name}: ${r.why}` });
    return 0;
  }
  let n = 0;
  for (const t of r.terms) if (t.kind === 'mechanism' && COUNTED.has(t.name)) n += 1;
  if (redirectOf(r.terms) !== null) n += 1;
  for (const next of followed(r.terms)) {
    if (budget.left <= 0) break;
    if (path.includes(next) || next === name) {
      issues.push({ result: 'fail', reason: 'include-loop', detail: `${[...path, name, next].join(' -> ')}` });
      continue;
    }
    budget.left -= 1;
    n += count(g, next, [...path, name], issues, budget);
  }
  return n;
}

/** The qualifier of the `all` that ends evaluation: the record's own, else its redirect's (loop-safe); null: none. */
function ending(g: SpfGathered, name: string, seen: Set<string>): SpfQualifier | null {
  const r = recordAt(g.lookups.get(name));
  if (!r.ok || seen.has(name)) return null;
  seen.add(name);
  const all = r.terms.find((t) => t.kind === 'mechanism' && t.name === 'all');
  if (all?.kind === 'mechanism') return all.qualifier;
  const redirect = redirectOf(r.terms);
  return redirect === null || redirect.includes('%') ? null : ending(g, key(redirect), seen);
}

/** The pure judge: one finding for the domain, the worst of what is wrong (the others named in its detail). */
export function judgeSpf(g: SpfGathered): PostureFinding[] {
  const root = key(g.domain);
  const r = recordAt(g.lookups.get(root));
  if (!r.ok) {
    const reason = { error: 'dns-error', none: 'record-missing', multiple: 'multiple-records', invalid: 'record-invalid' }[r.kind] ?? 'dns-error';
    return [finding(name, DOMAIN, 'fail', reason, `${g.domain}: ${r.why}`)];
  }
  const issues: Issue[] = [];
  const lookups = count(g, root, [], issues, { left: 4 * MAX_SPF_LOOKUPS });
  if (lookups > MAX_SPF_LOOKUPS) {
    issues.push({ result: 'fail', reason: 'too-many-lookups', detail: `${lookups} DNS lookups, more than ${MAX_SPF_LOOKUPS}` });
  }
  const end = ending(g, root, new Set());
  if (end === '+') issues.push({ result: 'fail', reason: 'all-pass', detail: '+all: anyone may send as the domain' });
  else if (end === null) issues.push({ result: 'fail', reason: 'no-all', detail: 'no all and no redirect=: the default result is neutral' });
  else if (end === '?') issues.push({ result: 'warn', reason: 'all-neutral', detail: '?all: forged mail gets a neutral result' });
  const summary = `${quote(r.text, 160)}, ${lookups} lookup${lookups === 1 ? '' : 's'}`;
  if (issues.length === 0) return [finding(name, DOMAIN, 'pass', null, summary)];
  const worst = worstOf(issues)!;
  const others = issues.filter((i) => i !== worst).map((i) => i.reason);
  const also = others.length > 0 ? ` (also: ${[...new Set(others)].join(', ')})` : '';
  return [finding(name, DOMAIN, worst.result, worst.reason, `${worst.detail}${also}; ${summary}`)];
}

/** Gather and judge: what the posture command calls. */
export async function runSpf(domain: string, deps: SpfDeps): Promise<PostureFinding[]> {
  return judgeSpf(await gatherSpf(domain, deps));
}
