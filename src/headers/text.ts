/** Cleaning and bounding of text taken from message headers (untrusted input). */

/** Every string field of a parsed header is at most this long. */
export const MAX_FIELD_CHARS = 255;

/**
 * C0/C1 controls (incl. CR, LF, NUL, DEL), the Unicode line/paragraph separators and the bidi embedding/override/isolate
 * marks: none of them belongs in a value we log, label or show. TAB is handled separately (it is whitespace).
 */
const CONTROLS = /[\u0000-\u0008\u000a-\u001f\u007f-\u009f\u2028\u2029\u202a-\u202e\u2066-\u2069]/g;

/** Removes control characters; TAB, CR and LF become a space so words they separated stay apart. */
export function stripControls(s: string): string {
  return s.replace(/[\t\r\n]/g, ' ').replace(CONTROLS, '');
}

/** At most `max` UTF-16 units, never ending in half of a surrogate pair. */
export function truncate(s: string, max: number): string {
  if (s.length <= max) return s;
  let cut = Math.max(0, max);
  const last = s.charCodeAt(cut - 1);
  if (last >= 0xd800 && last <= 0xdbff) cut -= 1;
  return s.slice(0, cut);
}

/** Control characters removed, runs of whitespace collapsed, trimmed, bounded; null when nothing is left. */
export function cleanField(s: string | null | undefined, max = MAX_FIELD_CHARS): string | null {
  if (s == null) return null;
  // Bound before the regexes run: a field is never longer than a small multiple of `max` worth reading.
  const bounded = truncate(s, max * 4);
  const out = truncate(stripControls(bounded).replace(/ {2,}/g, ' ').trim(), max).trimEnd();
  return out === '' ? null : out;
}

/** An integer option (floored), else the default when missing or not finite; clamped to [min, max]. */
export function intOption(v: number | undefined, fallback: number, min: number, max: number): number {
  if (v === undefined || !Number.isFinite(v)) return fallback;
  return Math.min(max, Math.max(min, Math.floor(v)));
}
