/**
 * Our probe messages as both mailbox clients find them: by the header fields the sender wrote
 * (src/smtp/message.ts). This run's message has an X-Smtp-Probe-Id equal to the run's id; an earlier run's
 * leftover has this target's X-Smtp-Probe-Target and an old Date. The clients fetch only these fields
 * (POP3 TOP n 0, IMAP HEADER.FIELDS) and decide here.
 */

import { PROBE_ID_FIELD, PROBE_TARGET_FIELD } from '../core/probe-headers.js';

export { PROBE_ID_FIELD, PROBE_TARGET_FIELD };

/** The fields `hasProbeId` reads (lower case): enough to fetch for `take`. */
export const ID_FIELDS: readonly string[] = [PROBE_ID_FIELD.toLowerCase()];
/** The fields `isStaleProbe` reads (lower case): enough to fetch for `cleanup`. */
export const STALE_FIELDS: readonly string[] = [PROBE_TARGET_FIELD.toLowerCase(), 'date'];

/**
 * The header fields of a message (or of a header block such as TOP n 0 or IMAP's HEADER.FIELDS), up to the first
 * empty line, unfolded (RFC 5322 2.2.3): lower-cased name and trimmed value, in order. Lines that are not fields
 * (an mbox "From " line) are skipped.
 */
export function readHeaderFields(text: string): Array<[string, string]> {
  const out: Array<[string, string]> = [];
  for (const line of text.split(/\r?\n/)) {
    if (line === '') break;
    const last = out[out.length - 1];
    if (line[0] === ' ' || line[0] === '\t') {
      if (last) last[1] += line;
      continue;
    }
    const colon = line.indexOf(':');
    if (colon <= 0) continue;
    out.push([line.slice(0, colon).trim().toLowerCase(), line.slice(colon + 1)]);
  }
  return out.map(([k, v]) => [k, v.trim()]);
}

/** What identifies a probe message: every X-Smtp-Probe-Id, X-Smtp-Probe-Target and Date value. */
export interface ProbeFields {
  ids: string[];
  targets: string[];
  dates: string[];
}

const ID = PROBE_ID_FIELD.toLowerCase();
const TARGET = PROBE_TARGET_FIELD.toLowerCase();

export function probeFieldsOf(headerText: string): ProbeFields {
  const f: ProbeFields = { ids: [], targets: [], dates: [] };
  for (const [name, value] of readHeaderFields(headerText)) {
    if (name === ID) f.ids.push(value);
    else if (name === TARGET) f.targets.push(value);
    else if (name === 'date') f.dates.push(value);
  }
  return f;
}

/** The message of the run `probeId`: an X-Smtp-Probe-Id equal to it (server-side searches match substrings). */
export function hasProbeId(f: ProbeFields, probeId: string): boolean {
  return f.ids.includes(probeId);
}

/**
 * An earlier probe message of this target: every X-Smtp-Probe-Target equals `target` (at least one), and it has
 * exactly one Date, readable, before `cutoffMs`. Anything less certain is left alone.
 */
export function isStaleProbe(f: ProbeFields, target: string, cutoffMs: number): boolean {
  if (f.targets.length === 0 || f.targets.some((t) => t !== target) || f.dates.length !== 1) return false;
  const when = parseMessageDate(f.dates[0]!);
  return when !== null && when < cutoffMs;
}

const MONTHS = ['jan', 'feb', 'mar', 'apr', 'may', 'jun', 'jul', 'aug', 'sep', 'oct', 'nov', 'dec'];
/** RFC 5322 4.3 obsolete zones; military and unknown ones count as -0000. */
const ZONES: Record<string, number> = { UT: 0, GMT: 0, Z: 0, EST: -5, EDT: -4, CST: -6, CDT: -5, MST: -7, MDT: -6, PST: -8, PDT: -7 };
const DATE_TIME =
  /^(?:[a-z]{3}\s*,\s*)?(\d{1,2})\s+([a-z]{3})[a-z]*\s+(\d{2,4})\s+(\d{1,2})\s*:\s*(\d{2})(?:\s*:\s*(\d{2}))?(?:\s+(?:([+-])(\d{2})(\d{2})|([a-z]{1,5})))?\s*$/i;

/** An RFC 5322 date-time (obsolete forms and comments included) as ms since the epoch, or null. */
export function parseMessageDate(text: string): number | null {
  const m = DATE_TIME.exec(text.replace(/\([^()]*\)/g, ' ').replace(/\s+/g, ' ').trim());
  if (!m) return null;
  const month = MONTHS.indexOf(m[2]!.toLowerCase());
  let year = Number(m[3]);
  if (m[3]!.length === 2) year += year < 50 ? 2000 : 1900;
  else if (m[3]!.length === 3) year += 1900;
  const [day, hour, minute, second] = [Number(m[1]), Number(m[4]), Number(m[5]), Number(m[6] ?? 0)];
  if (month < 0 || day < 1 || day > 31 || hour > 23 || minute > 59 || second > 60) return null;
  let offsetMin = 0;
  if (m[7]) offsetMin = (m[7] === '-' ? -1 : 1) * (Number(m[8]) * 60 + Number(m[9]));
  else if (m[10]) offsetMin = (ZONES[m[10].toUpperCase()] ?? 0) * 60;
  return Date.UTC(year, month, day, hour, minute, second) - offsetMin * 60_000;
}
