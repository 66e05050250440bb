import { describeFailure, type CheckResult } from '../core/result.js';
import type { KeptRun } from './ring.js';

/** A failure text longer than this is cut (a server's reply is quoted whole in the record; the history needs a line). */
export const MAX_FAILURE_TEXT = 300;

const cut = (s: string): string => ([...s].length <= MAX_FAILURE_TEXT ? s : `${[...s].slice(0, MAX_FAILURE_TEXT - 1).join('')}…`);

/** The records of one run of an mx:// target: one per MX host, or one without `mx` when no host was tried. */
export function isMxRun(results: readonly CheckResult[]): boolean {
  return results.some((r) => r.mx !== undefined || r.url.startsWith('mx://'));
}

/**
 * One run as the history keeps it. One record: its own start, verdict, duration, and failure as the text
 * reporter says it (`rcpt (reply): 550 5.1.1 ...`; the record's text, already masked by the session). An mx://
 * run (a record per MX host): ok when every host passed (as smtp_probe_mx_up_ratio is 1), from the first start
 * to the last end, the failure of the first failing host named by it, with how many more failed.
 */
export function summarize(results: readonly CheckResult[]): KeptRun {
  if (results.length === 0) throw new RangeError('a run has at least one result');
  const starts = results.map((r) => Date.parse(r.startedAt));
  const startedAtMs = Math.min(...starts);
  const endMs = Math.max(...results.map((r, i) => starts[i]! + r.durationMs));
  const failed = results.filter((r) => !r.ok);
  const first = failed[0];
  let failure: string | null = null;
  if (first) {
    const text = first.failure ? describeFailure(first.failure) : 'failed';
    const more = failed.length > 1 ? ` (and ${failed.length - 1} more MX ${failed.length > 2 ? 'hosts' : 'host'})` : '';
    failure = cut(`${first.mx ? `${first.mx.host}: ` : ''}${text}${more}`);
  }
  const durationMs = results.length === 1 ? results[0]!.durationMs : Math.round((endMs - startedAtMs) * 1000) / 1000;
  return { startedAtMs, ok: failed.length === 0, durationMs, failure };
}

/**
 * The record that stands for a run: for an mx:// run the worst host's (the first failing one, else the slowest);
 * for another target its only record.
 */
export function worstOf(results: readonly CheckResult[]): CheckResult | null {
  const failed = results.find((r) => !r.ok);
  if (failed) return failed;
  return results.reduce<CheckResult | null>((w, r) => (w === null || r.durationMs > w.durationMs ? r : w), null);
}
