/**
 * The history file's content (`<state_file>.history`): JSON lines, so that 5,000 targets' histories are written
 * a target at a time instead of as one string of many megabytes. The first line is the header (format, version,
 * when, the alert events); each further line one target: its runs in columns (start times as differences, whole
 * microseconds, verdicts as a string of 0 and 1, failure texts by position, a repeat written `[i]`), its uptime
 * buckets (index difference, runs, passing runs, flat), its last records, its last failure (the position of that
 * record in the last records when the last run failed, else the record) and its certificate's end.
 *
 * Reading checks every line's shape: a file that does not parse, or one line that is not what this writes, makes
 * the whole file unusable (the caller moves it aside and starts empty), so nothing half-read is ever served.
 */
import { FAILURE_REASONS, PHASES, type CheckResult } from '../core/result.js';
import type { BucketCounts } from './buckets.js';
import { isAlertEvent } from './events.js';
import type { KeptRun } from './ring.js';
import { TargetHistory } from './target.js';
import type { AlertEvent } from './view.js';

export const HISTORY_FORMAT = 'smtp-probe history';
export const HISTORY_VERSION = 1;

interface TargetLine {
  name: string;
  runs: { at: number[]; us: number[]; ok: string; fail: ([number, string] | [number])[] };
  buckets: number[];
  lastResults: CheckResult[];
  /** A number: the last failure is that record of lastResults (the last run failed), not written twice. */
  lastFailure: CheckResult | number | null;
  /** The same for the last passing record (absent in files written before it was kept). */
  lastSuccess?: CheckResult | number | null;
  certValidTo: number | null;
}

/** The header line (with its newline). */
export function encodeHeader(savedAtMs: number, events: readonly AlertEvent[]): string {
  return `${JSON.stringify({ format: HISTORY_FORMAT, version: HISTORY_VERSION, savedAt: new Date(savedAtMs).toISOString(), events })}\n`;
}

/** One target's line (with its newline). */
export function encodeTarget(name: string, h: TargetHistory): string {
  const runs = h.ring.runs();
  const at: number[] = [];
  const fail: ([number, string] | [number])[] = [];
  let previous: string | null = null;
  runs.forEach((r, i) => {
    at.push(i === 0 ? r.startedAtMs : r.startedAtMs - runs[i - 1]!.startedAtMs);
    if (r.failure === null) return;
    fail.push(r.failure === previous ? [i] : [i, r.failure]);
    previous = r.failure;
  });
  const buckets: number[] = [];
  let index = 0;
  for (const [i, n, ok] of h.buckets.saved()) {
    buckets.push(i - index, n, ok);
    index = i;
  }
  const line: TargetLine = {
    name,
    runs: { at, us: runs.map((r) => Math.round(r.durationMs * 1000)), ok: runs.map((r) => (r.ok ? '1' : '0')).join(''), fail },
    buckets,
    lastResults: h.lastResults,
    lastFailure: refOf(h, h.lastFailure),
    lastSuccess: refOf(h, h.lastSuccess),
    certValidTo: h.certValidTo,
  };
  return `${JSON.stringify(line)}\n`;
}

/** A kept record as written: its position in the last records when it is one of them, else the record. */
function refOf(h: TargetHistory, r: CheckResult | null): CheckResult | number | null {
  if (r === null) return null;
  const i = h.lastResults.indexOf(r);
  return i >= 0 ? i : r;
}

export interface DecodedHistory {
  savedAt: string;
  events: AlertEvent[];
  targets: Map<string, TargetHistory>;
}

/** The file's content, or why it cannot be used. `capacity`: runs kept per target now. */
export function decodeHistory(text: string, capacity: number): DecodedHistory | string {
  const lines = text.split('\n');
  if (lines.at(-1) === '') lines.pop();
  const header = parseLine(lines[0] ?? '', 1);
  if (typeof header === 'string') return header;
  if (header.format !== HISTORY_FORMAT) return 'line 1: not a smtp-probe history file';
  if (header.version !== HISTORY_VERSION) return `unknown version ${JSON.stringify(header.version)} (this build reads ${HISTORY_VERSION})`;
  if (typeof header.savedAt !== 'string' || !Array.isArray(header.events) || !header.events.every(isAlertEvent)) {
    return 'line 1: "savedAt" or "events" is not what a history file holds';
  }
  const targets = new Map<string, TargetHistory>();
  for (let k = 1; k < lines.length; k += 1) {
    const doc = parseLine(lines[k]!, k + 1);
    if (typeof doc === 'string') return doc;
    const h = decodeTarget(doc, capacity);
    if (typeof h === 'string' || typeof doc.name !== 'string') return `line ${k + 1}: ${typeof h === 'string' ? h : '"name" is not a string'}`;
    targets.set(doc.name, h);
  }
  return { savedAt: header.savedAt, events: header.events, targets };
}

function parseLine(line: string, n: number): Record<string, unknown> | string {
  let doc: unknown;
  try {
    doc = JSON.parse(line);
  } catch (e) {
    return `line ${n}: not JSON: ${e instanceof Error ? e.message : String(e)}`;
  }
  return isObject(doc) ? doc : `line ${n}: not a JSON object`;
}

function decodeTarget(doc: Record<string, unknown>, capacity: number): TargetHistory | string {
  const runs = decodeRuns(doc.runs);
  if (typeof runs === 'string') return runs;
  const buckets = decodeBuckets(doc.buckets);
  if (typeof buckets === 'string') return buckets;
  const { lastResults, certValidTo } = doc;
  if (!Array.isArray(lastResults) || !lastResults.every(isRecord)) return '"lastResults" is not a list of result records';
  const lastFailure = typeof doc.lastFailure === 'number' ? lastResults[doc.lastFailure] : doc.lastFailure;
  if (lastFailure !== null && !isRecord(lastFailure)) return '"lastFailure" is neither a result record nor one of "lastResults"';
  const lastSuccess = typeof doc.lastSuccess === 'number' ? lastResults[doc.lastSuccess] : (doc.lastSuccess ?? null);
  if (lastSuccess !== null && !isRecord(lastSuccess)) return '"lastSuccess" is neither a result record nor one of "lastResults"';
  if (certValidTo !== null && !isNumber(certValidTo)) return '"certValidTo" is not a time';
  const h = new TargetHistory(capacity);
  for (const r of runs.slice(-capacity)) h.ring.push(r);
  h.buckets.restore(buckets);
  h.lastResults = lastResults;
  h.lastFailure = lastFailure;
  h.lastSuccess = lastSuccess;
  h.certValidTo = certValidTo;
  return h;
}

function decodeRuns(v: unknown): KeptRun[] | string {
  if (!isObject(v)) return '"runs" is not an object';
  const { at, us, ok, fail } = v;
  if (!Array.isArray(at) || !at.every(isNumber)) return '"runs.at" is not a list of times';
  if (!Array.isArray(us) || us.length !== at.length || !us.every((d) => isNumber(d) && d >= 0)) return '"runs.us" is not a list of durations, one a run';
  if (typeof ok !== 'string' || ok.length !== at.length || !/^[01]*$/.test(ok)) return '"runs.ok" is not a string of 0 and 1, one a run';
  if (!Array.isArray(fail)) return '"runs.fail" is not a list';
  const failures = new Array<string | null>(at.length).fill(null);
  let previous: string | null = null;
  for (const f of fail) {
    const i: unknown = Array.isArray(f) ? f[0] : undefined;
    const text: unknown = Array.isArray(f) && f.length === 2 ? f[1] : previous;
    if (!Number.isInteger(i) || (i as number) < 0 || (i as number) >= at.length || typeof text !== 'string' || ok[i as number] !== '0') {
      return '"runs.fail" holds something other than the failure of a failed run';
    }
    failures[i as number] = previous = text;
  }
  let t = 0;
  return at.map((d, i) => {
    t = i === 0 ? d : t + d;
    return { startedAtMs: t, ok: ok[i] === '1', durationMs: us[i]! / 1000, failure: failures[i]! };
  });
}

function decodeBuckets(v: unknown): BucketCounts[] | string {
  if (!Array.isArray(v) || v.length % 3 !== 0 || !v.every((n) => Number.isInteger(n) && n >= 0)) return '"buckets" is not a list of counts';
  const out: BucketCounts[] = [];
  let index = 0;
  for (let k = 0; k < v.length; k += 3) {
    index += v[k] as number;
    out.push([index, v[k + 1] as number, v[k + 2] as number]);
  }
  return out;
}

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);
const isNumber = (v: unknown): v is number => typeof v === 'number' && Number.isFinite(v);
const isString = (v: unknown): v is string => typeof v === 'string';

/**
 * A result record as the daemon wrote it, checked in what the pages and the API read of it: names, verdict,
 * times, the failure, the phases, the transcript, warnings. Other fields are served as they were saved.
 */
export function isRecord(v: unknown): v is CheckResult {
  if (!isObject(v)) return false;
  const f = v.failure;
  const failureOk =
    f === null ||
    (isObject(f) && (PHASES as readonly unknown[]).includes(f.phase) && (FAILURE_REASONS as readonly unknown[]).includes(f.reason) &&
      (f.code === null || isNumber(f.code)) && isString(f.message));
  return (
    isString(v.target) && isString(v.url) && typeof v.ok === 'boolean' && isString(v.startedAt) && !Number.isNaN(Date.parse(v.startedAt)) &&
    isNumber(v.durationMs) && Array.isArray(v.warnings) && v.warnings.every(isString) && failureOk &&
    Array.isArray(v.phases) && v.phases.every(isPhase) && (v.tls === null || isObject(v.tls)) &&
    (v.transcript === undefined || (Array.isArray(v.transcript) && v.transcript.every(isTranscriptLine)))
  );
}

function isPhase(p: unknown): boolean {
  return isObject(p) && (PHASES as readonly unknown[]).includes(p.phase) && typeof p.ok === 'boolean' && isNumber(p.durationMs);
}

function isTranscriptLine(l: unknown): boolean {
  return isObject(l) && isNumber(l.t) && (l.dir === 'C' || l.dir === 'S' || l.dir === '*') && isString(l.line);
}
