/**
 * `mta_sts` (RFC 8461): the `_mta-sts.DOMAIN` TXT record, the policy served at
 * `https://mta-sts.DOMAIN/.well-known/mta-sts.txt` (fetched by `mta-sts-fetch.ts`), and whether it covers every MX
 * host. One finding for the domain (record, fetch, policy), one per MX host (coverage).
 *
 * The domain, in order: a failed TXT lookup is a fail (`dns-error`); no `v=STSv1;` record is n/a (the domain has no
 * MTA-STS); several are a fail (`sts-policy-invalid`): RFC 8461 3.1 has senders treat the domain as having no
 * policy, so the operator's protection is silently off (records not starting `v=STSv1;` are discarded first); a
 * record without a valid `id=` (1-32 letters/digits) is a fail too (`sts-policy-invalid`). Then the fetch: a
 * certificate problem is a fail (`sts-webpki-invalid`); no answer, a timeout, any status but 200 (a redirect
 * included: never followed) or a body over 64 KiB is a fail (`sts-policy-fetch-error`); a Content-Type other
 * than text/plain or a policy that does not parse (RFC 8461 3.2: `version: STSv1`, `mode` enforce|testing|none,
 * `max_age` 0..31557600, `mx` required unless mode none; unknown keys ignored) is a fail (`sts-policy-invalid`).
 * A valid policy: `enforce` passes, `testing` warns (`sts-mode-testing`), `none` warns (`sts-mode-none`); the
 * detail names `max_age`, how long senders cache the policy (and its MX list) after it changes.
 *
 * Each MX host (when the policy is valid): covered by an `mx` pattern passes; not covered is a fail under
 * `enforce` (senders refuse to deliver to it) and a warn under `testing` (`validation-failure`); mode none: n/a.
 */
import type { Clock } from '../../src/core/clock.js';
import type { PostureFinding } from '../../src/core/posture.js';
import type { SchemaKit } from '../step.js';
import { fetchStsPolicy, type ConnectTo, type StsFetch, type StsFetchOptions } from './mta-sts-fetch.js';
import { DOMAIN, finding, lookupTxt, parseTags, quote, recordsOf, word, type TxtLookup, type TxtState } from './txt.js';

export { parseConnectTo, type ConnectTo, type StsFetch } from './mta-sts-fetch.js';

export const name = 'mta_sts' as const;

/** RFC 8461 3.2. */
export const MAX_STS_MAX_AGE = 31_557_600;
/** RFC 8461 3.3: senders read at most 64 KiB. */
export const MAX_STS_POLICY_BYTES = 64 * 1024;

export interface MtaStsOptions {
  /** The whole policy fetch (RFC 8461 3.3 suggests 60 s at most). */
  timeoutMs: number;
  /** Extra trust anchors (PEM) for the fetch, beside Node's roots (`--ca`). */
  ca: readonly string[];
  /** `--connect-to` rules. */
  connectTo: readonly ConnectTo[];
}

export const DEFAULT_MTA_STS_OPTIONS: MtaStsOptions = { timeoutMs: 60_000, ca: [], connectTo: [] };

/** Config keys of `mta_sts` (the trust anchors and `--connect-to` are the posture run's, not the check's). */
export function options({ z }: SchemaKit) {
  return {
    timeout_ms: z.number().int().min(100).max(60_000).optional()
      .meta({ description: 'Longest the MTA-STS policy fetch may take (connect, TLS, answer and body), in ms; RFC 8461 3.3 suggests at most 60000. Example: 60000' }),
  };
}

/** The check's options from its parsed config keys and the run's trust anchors and `--connect-to` rules. */
export function mtaStsOptions(
  c: { timeout_ms?: number } = {},
  run: { ca?: readonly string[]; connectTo?: readonly ConnectTo[] } = {},
): MtaStsOptions {
  return {
    timeoutMs: c.timeout_ms ?? DEFAULT_MTA_STS_OPTIONS.timeoutMs,
    ca: run.ca ?? DEFAULT_MTA_STS_OPTIONS.ca,
    connectTo: run.connectTo ?? DEFAULT_MTA_STS_OPTIONS.connectTo,
  };
}

export type StsMode = 'enforce' | 'testing' | 'none';
export interface StsPolicy {
  mode: StsMode;
  maxAge: number;
  mx: string[];
}

/** The `id` of a `v=STSv1;` record (RFC 8461 3.1), or why it is invalid. */
export function parseStsRecord(record: string): { ok: true; id: string } | { ok: false; why: string } {
  const tags = parseTags(record);
  if (!tags || [...tags.keys()][0] !== 'v' || tags.get('v') !== 'STSv1') return { ok: false, why: 'malformed record' };
  const id = tags.get('id');
  if (id === undefined) return { ok: false, why: 'no id= field' };
  if (!/^[A-Za-z0-9]{1,32}$/.test(id)) return { ok: false, why: `id ${quote(id, 40)} is not 1-32 letters and digits` };
  return { ok: true, id };
}

const MX_PATTERN = /^(\*\.)?([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?)(\.[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?)*$/;

/** A policy body (RFC 8461 3.2): CRLF or LF lines of `key: value` (blank lines skipped), or why it is invalid. */
export function parseStsPolicy(body: string): { ok: true; policy: StsPolicy } | { ok: false; why: string } {
  const once = new Map<string, string>();
  const mx: string[] = [];
  for (const [i, line] of body.split(/\r?\n/).entries()) {
    if (line.trim() === '') continue;
    const m = /^([A-Za-z0-9][A-Za-z0-9_.-]{0,31}):[ \t]*(.*?)[ \t]*$/.exec(line);
    if (!m) return { ok: false, why: `line ${i + 1} is not key: value` };
    const key = m[1] as string;
    const value = m[2] as string;
    if (key === 'mx') mx.push(value.toLowerCase().replace(/\.$/, ''));
    else if (['version', 'mode', 'max_age'].includes(key)) {
      if (once.has(key)) return { ok: false, why: `${key} given twice` };
      once.set(key, value);
    }
  }
  if (once.get('version') !== 'STSv1') return { ok: false, why: `version is ${quote(once.get('version') ?? '(missing)', 40)}, not STSv1` };
  const mode = once.get('mode');
  if (mode !== 'enforce' && mode !== 'testing' && mode !== 'none') return { ok: false, why: `mode ${quote(mode ?? '(missing)', 40)} is not enforce, testing or none` };
  const maxAgeText = once.get('max_age') ?? '';
  const maxAge = /^\d{1,10}$/.test(maxAgeText) ? Number(maxAgeText) : NaN;
  if (!(maxAge <= MAX_STS_MAX_AGE)) return { ok: false, why: `max_age ${quote(maxAgeText || '(missing)', 40)} is not 0..${MAX_STS_MAX_AGE}` };
  if (mode !== 'none' && mx.length === 0) return { ok: false, why: `mode ${mode} without an mx line` };
  const bad = mx.find((p) => !MX_PATTERN.test(p));
  if (bad !== undefined) return { ok: false, why: `mx ${quote(bad, 80)} is not a host name or *.name pattern` };
  return { ok: true, policy: { mode, maxAge, mx } };
}

/**
 * Whether an MX host matches one `mx` pattern (RFC 8461 4.1): the same name, or `*.` then a name that the host
 * extends by exactly one left-most label (`*.example.net` matches `a.example.net`, not `a.b.example.net`, not
 * `example.net`). Without case; a trailing dot on either is ignored.
 */
export function mxMatches(pattern: string, host: string): boolean {
  const norm = (n: string): string => n.toLowerCase().replace(/\.$/, '');
  const p = norm(pattern);
  const h = norm(host);
  if (!p.startsWith('*.')) return p === h;
  const dot = h.indexOf('.');
  return dot > 0 && h.slice(dot + 1) === p.slice(2);
}

/** What `gatherMtaSts` collected. `fetch` is null when the TXT record did not lead to a fetch. */
export interface MtaStsGathered {
  domain: string;
  /** The MX hosts, by preference. */
  mx: readonly string[];
  txt: TxtState;
  fetch: StsFetch | null;
}

export interface MtaStsDeps {
  txt: TxtLookup;
  clock: Clock;
  signal?: AbortSignal;
  /** Tests may replace the HTTPS fetch; the default is `fetchStsPolicy`. */
  fetch?: (domain: string, opts: StsFetchOptions, clock: Clock, signal?: AbortSignal) => Promise<StsFetch>;
}

/** The one valid `v=STSv1;` record, or null (none, several, or invalid: the judge says which). */
function soleRecord(txt: TxtState): string | null {
  const found = recordsOf(txt, 'v=STSv1;');
  return found.length === 1 && parseStsRecord(found[0] as string).ok ? (found[0] as string) : null;
}

export async function gatherMtaSts(
  domain: string,
  mx: readonly string[],
  options: MtaStsOptions,
  deps: MtaStsDeps,
): Promise<MtaStsGathered> {
  const txt = await lookupTxt(deps.txt, `_mta-sts.${domain}`);
  if (soleRecord(txt) === null) return { domain, mx, txt, fetch: null };
  const opts: StsFetchOptions = { ...options, maxBytes: MAX_STS_POLICY_BYTES };
  const fetch = await (deps.fetch ?? fetchStsPolicy)(domain, opts, deps.clock, deps.signal);
  return { domain, mx, txt, fetch };
}

type Verdict = Pick<PostureFinding, 'result' | 'reason' | 'detail'>;
const fail = (reason: string, detail: string): Verdict => ({ result: 'fail', reason, detail });

/** The domain's verdict on the TXT record and the fetch, and the policy when there is a valid one. */
function judgePolicy(g: MtaStsGathered): { verdict: Verdict; policy: StsPolicy | null } {
  const at = `_mta-sts.${g.domain}`;
  const none = (verdict: Verdict): { verdict: Verdict; policy: null } => ({ verdict, policy: null });
  if (g.txt.kind === 'error') return none(fail('dns-error', g.txt.detail));
  const found = recordsOf(g.txt, 'v=STSv1;');
  if (found.length === 0) return none({ result: 'n/a', reason: null, detail: `no v=STSv1 record at ${at}` });
  if (found.length > 1) return none(fail('sts-policy-invalid', `${found.length} v=STSv1 records at ${at}: senders treat the domain as having no policy`));
  const record = parseStsRecord(found[0] as string);
  if (!record.ok) return none(fail('sts-policy-invalid', `${at}: ${record.why}`));
  const f = g.fetch;
  if (f === null) return none(fail('sts-policy-fetch-error', 'the policy was not fetched'));
  if (f.kind === 'webpki') return none(fail('sts-webpki-invalid', `${f.url}: ${f.detail}`));
  if (f.kind === 'error') return none(fail('sts-policy-fetch-error', `${f.url}: ${f.detail}`));
  if (f.kind === 'too-large') return none(fail('sts-policy-fetch-error', `${f.url}: body larger than ${f.maxBytes} bytes`));
  if (f.status >= 300 && f.status < 400) {
    return none(fail('sts-policy-fetch-error', `${f.url}: HTTP ${f.status} redirect${f.location ? ` to ${quote(f.location, 100)}` : ''} (not followed)`));
  }
  if (f.status !== 200) return none(fail('sts-policy-fetch-error', `${f.url}: HTTP ${f.status}`));
  const type = (f.contentType ?? '').split(';')[0]?.trim().toLowerCase();
  if (type !== 'text/plain') return none(fail('sts-policy-invalid', `${f.url}: Content-Type ${quote(f.contentType ?? '(none)', 60)}, not text/plain`));
  const parsed = parseStsPolicy(f.body ?? '');
  if (!parsed.ok) return none(fail('sts-policy-invalid', `${f.url}: ${parsed.why}`));
  const p = parsed.policy;
  const detail = `mode ${p.mode}, max_age ${p.maxAge} s (${days(p.maxAge)}: senders keep a policy and its MX list that long), id ${word(record.id)}`
    + (p.mx.length > 0 ? `, mx ${p.mx.join(' ')}` : '');
  if (p.mode === 'enforce') return { verdict: { result: 'pass', reason: null, detail }, policy: p };
  return { verdict: { result: 'warn', reason: `sts-mode-${p.mode}`, detail }, policy: p };
}

function days(seconds: number): string {
  const d = seconds / 86_400;
  return d >= 1 ? `${Math.round(d * 10) / 10} d` : `${Math.round(seconds / 360) / 10} h`;
}

/** The pure judge: one finding for the domain, then (with a valid policy) one per MX host. */
export function judgeMtaSts(g: MtaStsGathered): PostureFinding[] {
  const { verdict, policy } = judgePolicy(g);
  const out = [finding(name, DOMAIN, verdict.result, verdict.reason, verdict.detail)];
  if (policy === null) return out;
  for (const host of g.mx) {
    const where = { scope: 'mx' as const, mxHost: host };
    const match = policy.mx.find((p) => mxMatches(p, host));
    if (policy.mode === 'none') out.push(finding(name, where, 'n/a', null, 'mode none: the policy lists no MX hosts to enforce'));
    else if (match !== undefined) out.push(finding(name, where, 'pass', null, `matches mx ${match}`));
    else {
      const result = policy.mode === 'enforce' ? 'fail' : 'warn';
      const what = policy.mode === 'enforce' ? 'senders will not deliver to it' : 'senders report it (mode testing)';
      out.push(finding(name, where, result, 'validation-failure', `matches no mx pattern of the policy (${policy.mx.join(' ')}): ${what}`));
    }
  }
  return out;
}

/** Gather and judge: what the posture command calls (MX hosts by preference). */
export async function runMtaSts(
  domain: string,
  mx: readonly string[],
  options: MtaStsOptions,
  deps: MtaStsDeps,
): Promise<PostureFinding[]> {
  return judgeMtaSts(await gatherMtaSts(domain, mx, options, deps));
}
