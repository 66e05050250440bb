import { describe, expect, it } from 'vitest';
import { mailDateToIso, parseMailDate } from '../../src/headers/analyze.js';

describe('parseMailDate', () => {
  it.each([
    ['Thu, 26 Nov 2026 03:30:00 +0000', '2026-11-26T03:30:00.000Z'],
    ['Thu, 26 Nov 2026 03:30:00 +0000 (UTC)', '2026-11-26T03:30:00.000Z'],
    ['26 Nov 2026 03:30:00 -0000', '2026-11-26T03:30:00.000Z'],
    ['Wed, 25 Nov 2026 19:30:00 -0800 (PST)', '2026-11-26T03:30:00.000Z'],
    ['Thu, 26 Nov 2026 09:00:00 +0530', '2026-11-26T03:30:00.000Z'],
    ['Thu,26 Nov 2026 03:30:00 +0000', '2026-11-26T03:30:00.000Z'],
    ['  Thu ,  26   Nov   2026   03:30:00   +0000  ', '2026-11-26T03:30:00.000Z'],
    ['Fri, 26 Nov 2026 03:30:00 +0000', '2026-11-26T03:30:00.000Z'], // wrong day of week: ignored
    // obsolete zone names (RFC 5322 4.3)
    ['Thu, 26 Nov 2026 03:30:00 GMT', '2026-11-26T03:30:00.000Z'],
    ['Thu, 26 Nov 2026 03:30:00 UT', '2026-11-26T03:30:00.000Z'],
    ['Thu, 26 Nov 2026 03:30:00 UTC', '2026-11-26T03:30:00.000Z'],
    ['Wed, 25 Nov 2026 22:30:00 EST', '2026-11-26T03:30:00.000Z'],
    ['Wed, 25 Nov 2026 23:30:00 EDT', '2026-11-26T03:30:00.000Z'],
    ['Wed, 25 Nov 2026 21:30:00 CST', '2026-11-26T03:30:00.000Z'],
    ['Wed, 25 Nov 2026 22:30:00 cdt', '2026-11-26T03:30:00.000Z'],
    ['Wed, 25 Nov 2026 20:30:00 MST', '2026-11-26T03:30:00.000Z'],
    ['Wed, 25 Nov 2026 21:30:00 MDT', '2026-11-26T03:30:00.000Z'],
    ['Wed, 25 Nov 2026 19:30:00 PST', '2026-11-26T03:30:00.000Z'],
    ['Wed, 25 Nov 2026 20:30:00 PDT', '2026-11-26T03:30:00.000Z'],
    ['Thu, 26 Nov 2026 03:30:00 Z', '2026-11-26T03:30:00.000Z'],
    ['Thu, 26 Nov 2026 03:30:00 A', '2026-11-26T03:30:00.000Z'], // military letters: "-0000" (unknown) per RFC 5322
    // 2- and 3-digit years, missing seconds, fractions, extra text after the zone
    ['Thu, 26 Nov 26 03:30:00 +0000', '2026-11-26T03:30:00.000Z'],
    ['Thu, 26 Nov 99 03:30:00 +0000', '1999-11-26T03:30:00.000Z'],
    ['Thu, 26 Nov 126 03:30:00 +0000', '2026-11-26T03:30:00.000Z'],
    ['26 Nov 26 03:29 GMT', '2026-11-26T03:29:00.000Z'],
    ['Thu, 26 Nov 2026 3:30 +0000', '2026-11-26T03:30:00.000Z'],
    ['Thu, 26 Nov 2026 03:30:00.250 +0000', '2026-11-26T03:30:00.250Z'],
    ['Thu, 26 Nov 2026 03:30:00 +0000 (Coordinated Universal Time) via relay 42', '2026-11-26T03:30:00.000Z'],
    ['Thu, 26 Nov 2026 03:30:00+0000', '2026-11-26T03:30:00.000Z'],
    ['Thu, 26 Nov 2026 03:30:00 +00:00', '2026-11-26T03:30:00.000Z'],
    ['Thu, 26 November 2026 03:30:00 +0000', '2026-11-26T03:30:00.000Z'],
    ['Thu Nov 26 03:30:00 2026 +0000', '2026-11-26T03:30:00.000Z'], // month first
    ['Thu, 31 Dec 2026 23:59:60 +0000', '2027-01-01T00:00:00.000Z'], // leap second
  ])('%s', (text, iso) => {
    expect(mailDateToIso(text)).toBe(iso);
  });

  it.each([
    '',
    'yesterday',
    'Thu, 26 Nov 2026 03:30:00', // no zone: guessing one would invent hours of delay
    'Thu Nov 26 03:30:00 2026', // asctime, no zone
    'Thu, 26 Nov 2026 03:30:00 CET', // a zone name RFC 5322 does not define
    'Thu, 30 Feb 2026 03:30:00 +0000',
    'Thu, 26 Nov 2026 24:00:00 +0000',
    'Thu, 26 Nov 2026 03:60:00 +0000',
    'Thu, 26 Nov 2026 03:30:00 +2400',
    'Thu, 26 Foo 2026 03:30:00 +0000',
    'Thu, 26 Nov 03:30:00 +0000',
    'Thu, 26 Nov 1899 03:30:00 +0000',
    '26 Nov 2026 03:30:00 +0000'.repeat(1000).replace(/\+0000/g, ''),
  ])('unreadable: %s', (text) => {
    expect(parseMailDate(text)).toBeNull();
  });

  it('never throws on non-strings', () => {
    expect(parseMailDate(undefined)).toBeNull();
    expect(parseMailDate(null)).toBeNull();
    expect(parseMailDate(12 as unknown as string)).toBeNull();
  });
});
