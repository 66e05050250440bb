/**
 * RFC 5322 3.3 date-time, with the obsolete forms of 4.3 and the deviations seen in Received headers: day of week
 * optional (and not checked), 2- and 3-digit years, seconds optional, fractional seconds, obsolete zone names (UT, GMT,
 * EST...) and military letters, comments ("(UTC)") and any text after the zone ignored, month-first order
 * ("Nov 26 2026", asctime). A date without a zone is unreadable: guessing a zone would invent hours of delay.
 */

import { lexStructured } from './lexer.js';

/** Only this much of a date is read. */
const MAX_DATE_CHARS = 256;
const MAX_TOKENS = 12;

const MONTHS: Readonly<Record<string, number>> = {
  jan: 0, feb: 1, mar: 2, apr: 3, may: 4, jun: 5, jul: 6, aug: 7, sep: 8, oct: 9, nov: 10, dec: 11,
};
const MONTH_NAMES = new Set([
  'january', 'february', 'march', 'april', 'june', 'july', 'august', 'september', 'sept', 'october', 'november',
  'december',
]);

/** Zone names → minutes east of UTC. RFC 5322 4.3 names, plus UTC; military letters other than Z mean "unknown" (-0000). */
const ZONES: Readonly<Record<string, number>> = {
  ut: 0, utc: 0, gmt: 0, z: 0,
  edt: -240, est: -300, cdt: -300, cst: -360, mdt: -360, mst: -420, pdt: -420, pst: -480,
};

const TIME = /^(\d{1,2}):(\d{2})(?::(\d{2})(?:[.,](\d{1,9}))?)?([+-]\d{2}:?\d{2})?$/;
const NUMERIC_ZONE = /^([+-])(\d{2}):?(\d{2})$/;

interface Time {
  h: number;
  m: number;
  s: number;
  ms: number;
}

/** Milliseconds since the epoch, or null when `text` is not a readable date-time. Never throws. */
export function parseMailDate(text: string | null | undefined): number | null {
  if (typeof text !== 'string') return null;
  const words = lexStructured(text.slice(0, MAX_DATE_CHARS))
    .filter((t) => t.kind === 'word')
    .flatMap((t) => t.text.split(','))
    .filter((w) => w !== '')
    .slice(0, MAX_TOKENS);
  let month: number | null = null;
  let time: Time | null = null;
  let zone: number | null = null;
  const numbers: string[] = [];
  for (const word of words) {
    if (time) {
      zone = parseZone(word);
      if (zone !== null) break; // whatever follows the zone is ignored
    }
    if (/^\d{1,4}$/.test(word)) numbers.push(word);
    else if (month === null && monthOf(word) !== null) month = monthOf(word);
    else if (time === null) {
      const m = TIME.exec(word);
      if (m) {
        time = toTime(m);
        if (m[5] !== undefined) {
          zone = parseZone(m[5]);
          break;
        }
      }
    }
  }
  if (month === null || time === null || zone === null || numbers.length < 2) return null;
  return compose(Number(numbers[0]), month, normalizeYear(numbers[1] ?? ''), time, zone);
}

/** ISO 8601 form of `parseMailDate`, or null. */
export function mailDateToIso(text: string | null | undefined): string | null {
  const ms = parseMailDate(text);
  return ms === null ? null : new Date(ms).toISOString();
}

function monthOf(word: string): number | null {
  const w = word.toLowerCase();
  const m = MONTHS[w.slice(0, 3)];
  if (m === undefined) return null;
  return w.length === 3 || MONTH_NAMES.has(w) ? m : null;
}

function toTime(m: RegExpExecArray): Time {
  const frac = m[4] ?? '';
  return {
    h: Number(m[1]),
    m: Number(m[2]),
    s: m[3] === undefined ? 0 : Number(m[3]),
    ms: frac === '' ? 0 : Math.floor(Number(`0.${frac}`) * 1000),
  };
}

/** Minutes east of UTC, or null when `word` is not a zone. */
function parseZone(word: string): number | null {
  const n = NUMERIC_ZONE.exec(word);
  if (n) {
    const hours = Number(n[2]);
    const minutes = Number(n[3]);
    if (hours > 23 || minutes > 59) return null;
    return (n[1] === '-' ? -1 : 1) * (hours * 60 + minutes);
  }
  const w = word.toLowerCase();
  const named = ZONES[w];
  if (named !== undefined && Object.hasOwn(ZONES, w)) return named;
  return /^[a-ik-z]$/.test(w) ? 0 : null; // military letters (J is unused): RFC 5322 4.3 says treat as -0000
}

/** RFC 5322 4.3: 2 digits → 2000-2049 or 1950-1999; 3 digits → +1900. */
function normalizeYear(y: string): number {
  const n = Number(y);
  if (y.length === 2) return n < 50 ? 2000 + n : 1900 + n;
  if (y.length === 3) return 1900 + n;
  return n;
}

function compose(day: number, month: number, year: number, t: Time, zoneMinutes: number): number | null {
  if (year < 1900 || year > 9999 || day < 1 || day > 31) return null;
  if (t.h > 23 || t.m > 59 || t.s > 60) return null; // 60: a leap second, read as the next second
  const date = new Date(0);
  date.setUTCFullYear(year, month, day);
  if (date.getUTCDate() !== day) return null; // 30 Feb
  date.setUTCHours(t.h, t.m, t.s, t.ms);
  const ms = date.getTime() - zoneMinutes * 60_000;
  return Number.isFinite(ms) ? ms : null;
}
