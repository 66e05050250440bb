/** RFC 5322 2.2 / 3.2.2: split a header block into fields and unfold them, within fixed bounds. */

import type { HeaderBlockLimits, HeaderField } from '../core/headers.js';
import { intOption, stripControls, truncate } from './text.js';

export const DEFAULT_MAX_HEADERS = 1000;
export const DEFAULT_MAX_FIELD_LENGTH = 16_384;
/** A field name longer than this is not a field name (RFC 5322 caps the whole line at 998). */
const MAX_NAME_LENGTH = 128;
/** ftext: printable US-ASCII except ":" (RFC 5322 3.6.8). */
const FIELD_NAME = /^[\x21-\x39\x3b-\x7e]+$/;

interface Pending {
  name: string;
  parts: string[];
  length: number;
  full: boolean;
}

/**
 * The fields of `raw` (a whole message or just its header block) in order, names lower-cased, values unfolded (each
 * CRLF or LF followed by WSP removed, the WSP kept), control characters removed, trimmed. Stops at the first empty
 * line, after `maxHeaders` fields, or at the end. A line that is not `name: value` (an mbox "From " line, garbage) is
 * skipped with its continuation lines. Time is linear in the header block; memory is at most about
 * maxHeaders × maxFieldLength. Never throws.
 */
export function parseHeaderBlock(raw: string, limits: HeaderBlockLimits = {}): HeaderField[] {
  const maxHeaders = intOption(limits.maxHeaders, DEFAULT_MAX_HEADERS, 0, 100_000);
  const maxLength = intOption(limits.maxFieldLength, DEFAULT_MAX_FIELD_LENGTH, 1, 1_000_000);
  const fields: HeaderField[] = [];
  if (typeof raw !== 'string' || maxHeaders === 0) return fields;
  let current: Pending | null = null;
  let pos = raw.charCodeAt(0) === 0xfeff ? 1 : 0; // a byte-order mark is not part of the first name
  while (pos < raw.length) {
    const nl = raw.indexOf('\n', pos);
    const start = pos;
    let end = nl === -1 ? raw.length : nl;
    pos = nl === -1 ? raw.length : nl + 1;
    if (end > start && raw.charCodeAt(end - 1) === 13) end -= 1;
    if (end === start) break; // the empty line that ends the header block
    const c = raw.charCodeAt(start);
    if (c === 0x20 || c === 0x09) {
      if (current) appendPart(current, raw, start, end, maxLength);
      continue;
    }
    if (current) fields.push(finish(current, maxLength));
    if (fields.length >= maxHeaders) return fields;
    current = startField(raw, start, end, maxLength);
  }
  if (current && fields.length < maxHeaders) fields.push(finish(current, maxLength));
  return fields;
}

/** The values of every field called `name` (any case), top to bottom. */
export function headerValues(fields: readonly HeaderField[], name: string): string[] {
  const key = name.toLowerCase();
  return fields.filter((f) => f.name === key).map((f) => f.value);
}

function startField(raw: string, start: number, end: number, maxLength: number): Pending | null {
  const head = raw.slice(start, Math.min(end, start + MAX_NAME_LENGTH + 1));
  const colon = head.indexOf(':');
  if (colon <= 0) return null;
  const name = head.slice(0, colon).replace(/[ \t]+$/, ''); // obs-optional: "Subject : x"
  if (!FIELD_NAME.test(name)) return null;
  const pending: Pending = { name: name.toLowerCase(), parts: [], length: 0, full: false };
  appendPart(pending, raw, start + colon + 1, end, maxLength);
  return pending;
}

function appendPart(p: Pending, raw: string, start: number, end: number, maxLength: number): void {
  if (p.full) return;
  let stop = Math.min(end, start + maxLength - p.length);
  if (stop < end) {
    p.full = true; // the rest of the field is skipped
    const last = raw.charCodeAt(stop - 1);
    if (stop > start && last >= 0xd800 && last <= 0xdbff) stop -= 1; // never keep half of a surrogate pair
  }
  const part = raw.slice(start, stop);
  p.parts.push(part);
  p.length += part.length;
}

function finish(p: Pending, maxLength: number): HeaderField {
  return { name: p.name, value: truncate(stripControls(p.parts.join('')).trim(), maxLength) };
}
