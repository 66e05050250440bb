/**
 * Where the time went, from the headers of the delivered test message: the Received chain in transit order with the
 * delay of each hop, the end-to-end transit time and what the receiving system's Authentication-Results says.
 */

import { headerValues, parseHeaderBlock } from './block.js';
import { parseMailDate } from './date.js';
import { parseAuthenticationResults } from './auth-results.js';
import { parseReceived } from './received.js';
import { intOption, truncate } from './text.js';
import type { HeaderAnalysis, Hop } from '../core/headers.js';

export { headerValues, parseHeaderBlock } from './block.js';
export { mailDateToIso, parseMailDate } from './date.js';
export { parseAuthenticationResults, selectMethod } from './auth-results.js';
export { parseReceived } from './received.js';

export const DEFAULT_MAX_HOPS = 50;
const MAX_MAX_HOPS = 1000;
/** Hop.raw keeps at most this much of its header. */
export const MAX_RAW_CHARS = 1000;

export interface AnalyzeOptions {
  /** Received headers analysed, the topmost (most recent) ones; default 50. */
  maxHops?: number;
}

/**
 * Analyses `raw` (a whole message or its header block). Hops are in transit order: hop 1 is the bottom-most Received
 * header analysed. When there are more than `maxHops`, the topmost ones are kept (they were added by the receiving
 * side; the bottom ones are the easiest to forge), `omittedHops` says how many went, and hop 1 gets no delay (its real
 * predecessor is unknown). Never throws; output size is bounded whatever the input.
 */
export function analyzeHeaders(raw: string, opts: AnalyzeOptions = {}): HeaderAnalysis {
  const maxHops = intOption(opts.maxHops, DEFAULT_MAX_HOPS, 0, MAX_MAX_HOPS);
  const fields = parseHeaderBlock(typeof raw === 'string' ? raw : '');
  const received = headerValues(fields, 'received');
  const kept = received.slice(0, maxHops).reverse(); // topmost first in the header → last in transit
  const omittedHops = received.length - kept.length;
  const messageDate = parseMailDate(headerValues(fields, 'date')[0]);
  const hops = buildHops(kept, omittedHops > 0 ? null : messageDate);
  const authHeader = headerValues(fields, 'authentication-results')[0];
  return {
    hops,
    transitMs: transitTime(hops, messageDate),
    authResults: authHeader === undefined ? null : parseAuthenticationResults(authHeader),
    omittedHops,
  };
}

/** `values` in transit order; `origin` is what hop 1's delay is measured from (the Date header), if anything. */
function buildHops(values: readonly string[], origin: number | null): Hop[] {
  let previous = origin;
  return values.map((value, i) => {
    const r = parseReceived(value);
    const at = r.date === null ? null : Date.parse(r.date);
    const hop: Hop = {
      index: i + 1,
      from: r.from,
      by: r.by,
      with: r.with,
      id: r.id,
      for: r.for,
      date: r.date,
      delayMs: at === null || previous === null ? null : at - previous,
      raw: truncate(value, MAX_RAW_CHARS),
    };
    previous = at;
    return hop;
  });
}

/** Last hop's date minus the message's Date (else the first hop's date); null when either end is unknown. */
function transitTime(hops: readonly Hop[], messageDate: number | null): number | null {
  const last = hops[hops.length - 1];
  const first = hops[0];
  if (!last?.date || !first) return null;
  const start = messageDate ?? (first.date === null ? null : Date.parse(first.date));
  return start === null ? null : Date.parse(last.date) - start;
}
