import { describe, expect, it } from 'vitest';
import {
  DEFAULT_EXPECT,
  EXPECTABLE_PHASES,
  defaultExpectation,
  matches,
  parseExpectation,
  type Expectation,
} from '../../src/core/expect.js';
import { PHASES } from '../../src/core/result.js';

function parsed(source: string): Expectation {
  const e = parseExpectation(source);
  if (typeof e === 'string') throw new Error(`"${source}" did not parse: ${e}`);
  return e;
}

describe('parseExpectation: valid', () => {
  it.each([
    { source: '250', patterns: ['250'], negative: false },
    { source: '2xx', patterns: ['2xx'], negative: false },
    { source: '2XX', patterns: ['2xx'], negative: false },
    { source: '3xx', patterns: ['3xx'], negative: false },
    { source: '354', patterns: ['354'], negative: false },
    { source: '55x', patterns: ['55x'], negative: true },
    { source: '5xx', patterns: ['5xx'], negative: true },
    { source: '535', patterns: ['535'], negative: true },
    { source: '4xx,5xx', patterns: ['4xx', '5xx'], negative: true },
    { source: '250,251', patterns: ['250', '251'], negative: false },
    { source: '250 251', patterns: ['250', '251'], negative: false },
    { source: ' 250 ,  251 ', patterns: ['250', '251'], negative: false },
    { source: '250,', patterns: ['250'], negative: false },
    { source: '5xx,250', patterns: ['5xx', '250'], negative: false }, // any 2xx/3xx → not negative
    { source: '5.7.1', patterns: ['5.7.1'], negative: true },
    { source: '5.7.x', patterns: ['5.7.x'], negative: true },
    { source: '5.X.X', patterns: ['5.x.x'], negative: true },
    { source: '4.7.0', patterns: ['4.7.0'], negative: true },
    { source: '2.1.0', patterns: ['2.1.0'], negative: false },
    { source: '2.x.x', patterns: ['2.x.x'], negative: false },
    { source: '5.123.456', patterns: ['5.123.456'], negative: true },
    { source: '535,5.7.8', patterns: ['535', '5.7.8'], negative: true },
  ])('"$source" → $patterns, negative=$negative', ({ source, patterns, negative }) => {
    const e = parsed(source);
    expect(e.patterns).toEqual(patterns);
    expect(e.negative).toBe(negative);
    expect(e.source).toBe(source);
  });
});

describe('parseExpectation: invalid', () => {
  it.each([
    '',
    '   ',
    ',,,',
    '600',
    '1xx',
    '199',
    '25',
    '2500',
    'x50',
    'xxx',
    'abc',
    'ok',
    '2.5',
    '250;251',
    '5.7',
    '5.7.1.1',
    '6.1.1',
    '3.1.0', // RFC 3463: class 2, 4 or 5
    'x.7.1',
    '5.1234.1',
    '5.1.1234',
    '5..1',
    '5.7.*',
    '-250',
  ])('%j is rejected with a message', (source) => {
    const e = parseExpectation(source);
    expect(typeof e).toBe('string');
    expect((e as string).length).toBeGreaterThan(0);
  });

  it('names the bad pattern', () => {
    expect(parseExpectation('250,abc')).toContain('abc');
    expect(parseExpectation('5xx 6xx')).toContain('6xx');
  });
});

describe('matches', () => {
  it.each<{ source: string; code: number; enhanced: string | null; want: boolean }>([
    { source: '250', code: 250, enhanced: null, want: true },
    { source: '250', code: 251, enhanced: null, want: false },
    { source: '2xx', code: 250, enhanced: null, want: true },
    { source: '2xx', code: 221, enhanced: '2.0.0', want: true },
    { source: '2xx', code: 550, enhanced: null, want: false },
    { source: '2xx', code: 354, enhanced: null, want: false },
    { source: '55x', code: 554, enhanced: null, want: true },
    { source: '55x', code: 504, enhanced: null, want: false },
    { source: '5x4', code: 554, enhanced: null, want: true },
    { source: '5x4', code: 553, enhanced: null, want: false },
    { source: '250,251', code: 251, enhanced: null, want: true },
    { source: '250,251', code: 252, enhanced: null, want: false },
    { source: '4xx,5xx', code: 421, enhanced: null, want: true },
    { source: '4xx,5xx', code: 250, enhanced: null, want: false },
    { source: '535', code: 535, enhanced: '5.7.8', want: true },
    // Enhanced patterns look at the enhanced code only.
    { source: '5.7.x', code: 535, enhanced: '5.7.8', want: true },
    { source: '5.7.x', code: 554, enhanced: '5.7.1', want: true },
    { source: '5.7.x', code: 550, enhanced: '5.1.1', want: false },
    { source: '5.7.x', code: 535, enhanced: null, want: false }, // no enhanced code: no match
    { source: '5.7.1', code: 554, enhanced: '5.7.1', want: true },
    { source: '5.7.1', code: 554, enhanced: '5.7.10', want: false },
    { source: '5.7.1', code: 554, enhanced: '5.7.12', want: false },
    { source: '5.x.x', code: 550, enhanced: '5.1.1', want: true },
    { source: '5.x.x', code: 450, enhanced: '4.1.1', want: false },
    { source: '5.x.1', code: 550, enhanced: '5.1.1', want: true },
    { source: '5.x.1', code: 550, enhanced: '5.1.2', want: false },
    { source: '2.1.0', code: 250, enhanced: '2.1.0', want: true },
    { source: '2.1.0', code: 250, enhanced: '2.1.5', want: false },
    { source: '5.7.x', code: 535, enhanced: '5.7', want: false }, // malformed input never matches
    { source: '5.x.x', code: 535, enhanced: '5.7.8.1', want: false },
    { source: '5.123.456', code: 554, enhanced: '5.123.456', want: true },
    // A mix matches if any pattern does.
    { source: '5xx,5.7.1', code: 421, enhanced: '4.7.1', want: false },
    { source: '4xx,5.7.1', code: 421, enhanced: '4.7.1', want: true },
    { source: '250,5.7.x', code: 554, enhanced: '5.7.1', want: true },
    { source: '250,5.7.x', code: 554, enhanced: '5.1.1', want: false },
  ])('"$source" vs $code $enhanced → $want', ({ source, code, enhanced, want }) => {
    expect(matches(parsed(source), code, enhanced)).toBe(want);
  });
});

describe('defaults', () => {
  it('every default parses and is positive', () => {
    for (const [phase, source] of Object.entries(DEFAULT_EXPECT)) {
      const e = parseExpectation(source!);
      expect(typeof e, phase).not.toBe('string');
      expect((e as Expectation).negative, phase).toBe(false);
    }
  });

  it('expectable phases are contract phases', () => {
    for (const p of EXPECTABLE_PHASES) expect(PHASES).toContain(p);
  });

  it.each<{ phase: (typeof EXPECTABLE_PHASES)[number]; code: number; want: boolean }>([
    { phase: 'banner', code: 220, want: true },
    { phase: 'banner', code: 554, want: false },
    { phase: 'ehlo', code: 250, want: true },
    { phase: 'starttls', code: 220, want: true },
    { phase: 'starttls', code: 454, want: false },
    { phase: 'auth', code: 235, want: true },
    { phase: 'auth', code: 535, want: false },
    { phase: 'mail', code: 250, want: true },
    { phase: 'rcpt', code: 250, want: true },
    { phase: 'rcpt', code: 251, want: true }, // RFC 5321 3.4: 251 user not local, will forward
    { phase: 'rcpt', code: 550, want: false },
    { phase: 'data', code: 354, want: true },
    { phase: 'data', code: 250, want: false },
    { phase: 'message', code: 250, want: true },
    { phase: 'quit', code: 221, want: true },
  ])('default for $phase accepts $code: $want', ({ phase, code, want }) => {
    expect(matches(defaultExpectation(phase), code, null)).toBe(want);
  });

  it('a phase without a listed default falls back to 2xx', () => {
    const e = defaultExpectation('roundtrip');
    expect(matches(e, 250, null)).toBe(true);
    expect(matches(e, 550, null)).toBe(false);
  });
});
