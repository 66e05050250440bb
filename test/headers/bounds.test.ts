import { describe, expect, it } from 'vitest';
import { analyzeHeaders, parseHeaderBlock, parseReceived } from '../../src/headers/analyze.js';
import { hostileMessage, hugeReceived, manyReceived } from './fixture.js';

/** Generous for a CPU-loaded CI box; the real cost is a few milliseconds. */
const FRACTION_OF_A_SECOND_MS = 500;

function timed<T>(fn: () => T): { value: T; ms: number } {
  const start = performance.now();
  const value = fn();
  return { value, ms: performance.now() - start };
}

describe('bounds: hostile input costs little and stays small', () => {
  it('a 100,000-character Received on top of 10,000 Received headers', () => {
    const raw = hostileMessage();
    expect(raw.length).toBeGreaterThan(1_500_000);
    const { value: r, ms } = timed(() => analyzeHeaders(raw));
    expect(ms).toBeLessThan(FRACTION_OF_A_SECOND_MS);
    expect(r.hops).toHaveLength(50);
    // parseHeaderBlock reads 1000 fields: the huge one and 999 others; the 950 oldest of those are omitted.
    expect(r.omittedHops).toBe(950);
    expect(r.hops.map((h) => h.index)).toEqual(Array.from({ length: 50 }, (_, i) => i + 1));
    const top = r.hops[49];
    expect(top?.raw).toHaveLength(1000);
    expect(top?.from).toBe('a'.repeat(255));
    expect(top?.by).toBeNull(); // swallowed by the never-closed comment
    expect(top?.date).toBeNull(); // beyond the 16 KiB read of the field
    expect(r.hops[0]?.delayMs).toBeNull(); // its predecessor was omitted
    expect(r.transitMs).toBeNull();
    for (const hop of r.hops) {
      for (const v of [hop.from, hop.by, hop.with, hop.id, hop.for, hop.date]) expect((v ?? '').length).toBeLessThanOrEqual(255);
    }
  });

  it('10,000 Received headers alone: the 50 newest, in transit order, with their delays', () => {
    const { value: r, ms } = timed(() => analyzeHeaders(`Date: Thu, 26 Nov 2026 03:29:00 +0000\r\n${manyReceived(10_000)}`));
    expect(ms).toBeLessThan(FRACTION_OF_A_SECOND_MS);
    expect(r.hops).toHaveLength(50);
    expect(r.omittedHops).toBe(999 - 50);
    // kept: relay10000 (top) down to relay9951 → transit order relay9951 … relay10000
    expect(r.hops[0]?.from).toBe('relay9951.probe.test');
    expect(r.hops[49]?.from).toBe('relay10000.probe.test');
    // relay9951…9999 are stamped 03:31:39, relay10000 03:31:40
    expect(r.hops.map((h) => h.delayMs)).toEqual([null, ...Array<number>(48).fill(0), 1000]);
    expect(r.transitMs).toBe(160_000); // 03:31:40 − the Date, 03:29:00
  });

  it('maxHops is honoured and clamped', () => {
    const raw = manyReceived(300);
    expect(analyzeHeaders(raw, { maxHops: 5 }).hops).toHaveLength(5);
    expect(analyzeHeaders(raw, { maxHops: 0 }).hops).toHaveLength(0);
    expect(analyzeHeaders(raw, { maxHops: -3 }).hops).toHaveLength(0);
    expect(analyzeHeaders(raw, { maxHops: 1e9 }).hops).toHaveLength(300);
    expect(analyzeHeaders(raw, { maxHops: Number.NaN }).hops).toHaveLength(50);
  });

  it('parseReceived reads at most 16 KiB of a value however long or deeply nested', () => {
    const { value: r, ms } = timed(() => parseReceived(`from x.example ${'('.repeat(1_000_000)} by y; Thu, 26 Nov 2026 03:30:00 +0000`));
    expect(ms).toBeLessThan(FRACTION_OF_A_SECOND_MS);
    expect(r.from).toBe('x.example');
    const huge = timed(() => parseReceived(hugeReceived().slice('Received: '.length)));
    expect(huge.ms).toBeLessThan(FRACTION_OF_A_SECOND_MS);
    expect(huge.value.from).toHaveLength(255);
  });

  it('a header block of 5 MB in one line or one field with a million folds', () => {
    const oneLine = `X: ${'y'.repeat(5_000_000)}`;
    const folds = `X: a${'\n b'.repeat(1_000_000)}\nReceived: from a by b; Thu, 26 Nov 2026 03:30:00 +0000\n`;
    for (const raw of [oneLine, folds]) {
      const { value, ms } = timed(() => parseHeaderBlock(raw));
      expect(ms).toBeLessThan(FRACTION_OF_A_SECOND_MS);
      expect(value[0]?.value.length).toBeLessThanOrEqual(16_384);
    }
    expect(analyzeHeaders(folds).hops[0]?.date).toBe('2026-11-26T03:30:00.000Z');
  });
});
