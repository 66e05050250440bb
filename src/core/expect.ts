import type { Phase } from './result.js';

/**
 * The reply codes a phase must get: `250`, `2xx`, `55x`, or an enhanced code `5.7.1` / `5.7.x`. Parsed once, at
 * load time. A negative expectation (no 2xx/3xx pattern) is a check that passes when the server refuses.
 */
export interface Expectation {
  source: string;
  patterns: readonly string[];
  negative: boolean;
}

const BASIC = /^[2-5][0-5x][0-9x]$/;
const ENHANCED = /^[245]\.(?:x|\d{1,3})\.(?:x|\d{1,3})$/;

/** Default codes per phase when the check says nothing. */
export const DEFAULT_EXPECT: Partial<Record<Phase, string>> = {
  banner: '220',
  ehlo: '250',
  helo: '250',
  starttls: '220',
  ehlo_tls: '250',
  auth: '235',
  mail: '250',
  rcpt: '250,251',
  data: '354',
  message: '250',
  noop: '250',
  rset: '250',
  quit: '221',
};

/** Phases a user may put expectations on. */
export const EXPECTABLE_PHASES = Object.keys(DEFAULT_EXPECT) as Phase[];

export function parseExpectation(source: string): Expectation | string {
  const patterns = source
    .split(/[,\s]+/)
    .map((p) => p.trim().toLowerCase())
    .filter(Boolean);
  if (patterns.length === 0) return 'no codes given';
  const bad = patterns.find((p) => !BASIC.test(p) && !ENHANCED.test(p));
  if (bad) return `"${bad}" is not a reply code (like 250, 2xx, 55x) or an enhanced code (like 5.7.1, 5.7.x)`;
  const negative = !patterns.some((p) => p.startsWith('2') || p.startsWith('3'));
  return { source, patterns, negative };
}

/** The defaults, parsed once. */
const DEFAULTS = new Map<Phase, Expectation>();

export function defaultExpectation(phase: Phase): Expectation {
  let e = DEFAULTS.get(phase);
  if (!e) {
    const parsed = parseExpectation(DEFAULT_EXPECT[phase] ?? '2xx');
    if (typeof parsed === 'string') throw new Error(`bad default expectation for ${phase}: ${parsed}`);
    DEFAULTS.set(phase, (e = parsed));
  }
  return e;
}

export function matches(e: Expectation, code: number, enhanced: string | null): boolean {
  const basic = String(code);
  return e.patterns.some((p) => (p.includes('.') ? enhanced !== null && wildcard(p, enhanced) : wildcard(p, basic)));
}

function wildcard(pattern: string, value: string): boolean {
  if (pattern.includes('.')) {
    const a = pattern.split('.');
    const b = value.split('.');
    return a.length === b.length && a.every((p, i) => p === 'x' || p === b[i]);
  }
  return pattern.length === value.length && [...pattern].every((p, i) => p === 'x' || p === value[i]);
}
