import { describe, expect, it } from 'vitest';
import { Scheduler, slotOffset } from '../../src/scheduler/scheduler.js';
import { ManualClock } from '../helpers/manual-clock.js';

const KEYS = Array.from({ length: 1_000 }, (_, i) => `target-${i}`);

function buckets(values: number[], width: number, count: number): number[] {
  const out = new Array<number>(count).fill(0);
  for (const v of values) out[Math.floor(v / width)]!++;
  return out;
}

describe('slotOffset', () => {
  it('is the first 8 bytes of sha256(key) mod the interval (vectors computed with Python hashlib)', () => {
    expect(slotOffset('mx1-submission', 60_000)).toBe(29_609);
    expect(slotOffset('target-0', 60_000)).toBe(47_732);
    expect(slotOffset('', 60_000)).toBe(21_652);
    expect(slotOffset('mx1-submission', 60_000)).toBe(slotOffset('mx1-submission', 60_000));
  });

  it('spreads 1,000 keys roughly evenly over the interval', () => {
    const offsets = KEYS.map((k) => slotOffset(k, 60_000));
    for (const o of offsets) expect(o >= 0 && o < 60_000 && Number.isInteger(o)).toBe(true);
    const perTenth = buckets(offsets, 6_000, 10); // 100 expected in each
    for (const n of perTenth) expect(n).toBeGreaterThan(70);
    for (const n of perTenth) expect(n).toBeLessThan(130);
    expect(new Set(offsets).size).toBeGreaterThan(980);
  });
});

describe('Scheduler: spread at start-up', () => {
  it('starts 1,000 jobs across the first interval, not all at once, on the same instants in every instance', async () => {
    const firstStarts = async (start: number): Promise<number[]> => {
      const clock = new ManualClock({ start, wallStart: Date.UTC(2026, 0, 1) - start });
      const scheduler = new Scheduler({ clock, concurrency: 64 });
      const seen = new Map<string, number>();
      scheduler.replace(KEYS.map((key) => ({ key, intervalMs: 60_000, run: async () => void seen.set(key, clock.now() - start) })));
      await clock.advance(59_999);
      expect(seen.size).toBe(KEYS.length);
      await scheduler.stop(0);
      return KEYS.map((k) => seen.get(k)!);
    };
    const starts = await firstStarts(0);
    expect(starts).toEqual(KEYS.map((k) => slotOffset(k, 60_000)));
    expect(starts.filter((t) => t === 0).length).toBeLessThan(3);
    const perSecond = buckets(starts, 1_000, 60); // about 17 expected in each
    expect(Math.max(...perSecond)).toBeLessThan(40);
    expect(Math.min(...perSecond)).toBeGreaterThan(3);
    expect(await firstStarts(123_456)).toEqual(starts); // another process, another monotonic origin
  });
});
