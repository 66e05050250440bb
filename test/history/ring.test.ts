import { describe, expect, it } from 'vitest';
import { BUCKET_MS, UptimeBuckets } from '../../src/history/buckets.js';
import { RunRing } from '../../src/history/ring.js';
import { T0 } from './records.js';

const run = (i: number, ok = true, failure: string | null = ok ? null : `failed ${i}`) => ({
  startedAtMs: T0 + i * 60_000, ok, durationMs: 10 + i + 0.125, failure,
});

describe('RunRing', () => {
  it('keeps the last N runs, oldest first, and wraps', () => {
    const ring = new RunRing(10);
    for (let i = 0; i < 7; i += 1) ring.push(run(i));
    expect(ring.size).toBe(7);
    expect(ring.runs().map((r) => r.startedAtMs)).toEqual([0, 1, 2, 3, 4, 5, 6].map((i) => T0 + i * 60_000));
    for (let i = 7; i < 25; i += 1) ring.push(run(i, i % 3 !== 0));
    expect(ring.size).toBe(10);
    const runs = ring.runs();
    expect(runs.map((r) => r.startedAtMs)).toEqual([15, 16, 17, 18, 19, 20, 21, 22, 23, 24].map((i) => T0 + i * 60_000));
    expect(runs.map((r) => r.ok)).toEqual([false, true, true, false, true, true, false, true, true, false]);
    expect(runs[0]).toEqual({ startedAtMs: T0 + 15 * 60_000, ok: false, durationMs: 25.125, failure: 'failed 15' });
    expect(runs[1]!.failure).toBeNull();
    expect(ring.latest()).toEqual(runs.at(-1));
  });

  it('summaries are what the API shows: ISO start, verdict, duration (to the microsecond), failure text', () => {
    const ring = new RunRing(10);
    ring.push({ startedAtMs: T0, ok: true, durationMs: 41.2345, failure: null });
    ring.push({ startedAtMs: T0 + 60_000, ok: false, durationMs: 3.0004, failure: 'rcpt (reply): 550 no such user' });
    expect(ring.summaries()).toEqual([
      { startedAt: '2026-12-01T00:00:00.000Z', ok: true, durationMs: 41.235, failure: null },
      { startedAt: '2026-12-01T00:01:00.000Z', ok: false, durationMs: 3, failure: 'rcpt (reply): 550 no such user' },
    ]);
  });

  it('passing durations are those of the kept passing runs only', () => {
    const ring = new RunRing(4);
    [5, 7, 9, 11, 13, 15].forEach((d, i) => ring.push({ startedAtMs: T0 + i, ok: d !== 13, durationMs: d, failure: d === 13 ? 'x' : null }));
    expect(ring.passingDurations().sort((a, b) => a - b)).toEqual([9, 11, 15]);
  });

  it('resized keeps the newest runs', () => {
    const ring = new RunRing(10);
    for (let i = 0; i < 10; i += 1) ring.push(run(i, i !== 8));
    const small = ring.resized(3);
    expect(small.runs().map((r) => r.startedAtMs - T0)).toEqual([7, 8, 9].map((i) => i * 60_000));
    expect(small.runs()[1]!.failure).toBe('failed 8');
    const big = small.resized(20);
    expect(big.capacity).toBe(20);
    expect(big.size).toBe(3);
  });
});

describe('UptimeBuckets', () => {
  it('uptime over 1 h and 24 h from runs a minute apart, beyond what a 100-run ring covers', () => {
    const b = new UptimeBuckets();
    // 24 hours of runs a minute apart: the first 20 hours all pass, then every other run fails for 4 hours.
    for (let m = 0; m < 24 * 60; m += 1) b.add(T0 + m * 60_000, m < 20 * 60 || m % 2 === 0);
    const now = T0 + 24 * 60 * 60_000 - 1;
    expect(b.uptime(now, 3_600_000)).toBeCloseTo(0.5, 5);
    const day = (20 * 60 + 4 * 30) / (24 * 60);
    expect(b.uptime(now, 24 * 3_600_000)).toBeCloseTo(day, 5);
  });

  it('windows roll off: an hour later the failures of 70 minutes ago are out of 1 h but still in 24 h', () => {
    const b = new UptimeBuckets();
    for (let m = 0; m < 10; m += 1) b.add(T0 + m * 60_000, false);
    expect(b.uptime(T0 + 10 * 60_000, 3_600_000)).toBe(0);
    for (let m = 10; m < 80; m += 1) b.add(T0 + m * 60_000, true);
    const now = T0 + 80 * 60_000;
    expect(b.uptime(now, 3_600_000)).toBe(1);
    expect(b.uptime(now, 24 * 3_600_000)).toBeCloseTo(70 / 80, 5);
    // A day and a bit later without runs: nothing in either window.
    expect(b.uptime(now + 25 * 3_600_000, 3_600_000)).toBeNull();
    expect(b.uptime(now + 25 * 3_600_000, 24 * 3_600_000)).toBeNull();
  });

  it('null before any run; runs older than a day before the newest are not counted', () => {
    const b = new UptimeBuckets();
    expect(b.uptime(T0, 3_600_000)).toBeNull();
    b.add(T0 + 30 * 3_600_000, true);
    b.add(T0, false); // 30 hours before the newest run
    expect(b.uptime(T0 + 30 * 3_600_000, 24 * 3_600_000)).toBe(1);
    expect(b.saved()).toEqual([[Math.floor((T0 + 30 * 3_600_000) / BUCKET_MS), 1, 1]]);
  });

  it('a gap longer than a day clears every old bucket; saved() and restore() carry the counts', () => {
    const b = new UptimeBuckets();
    for (let m = 0; m < 60; m += 1) b.add(T0 + m * 60_000, m % 4 !== 0);
    const copy = new UptimeBuckets();
    copy.restore(b.saved());
    const end = T0 + 60 * 60_000 - 1; // the window's 12 buckets are the hour of runs
    expect(copy.uptime(end, 3_600_000)).toBe(b.uptime(end, 3_600_000));
    expect(copy.uptime(end, 3_600_000)).toBe(0.75);
    // A minute later the window is the buckets from 5 to 60 minutes: 55 runs, 13 of them failed (m = 8, 12, ... 56).
    expect(copy.uptime(end + 60_001, 3_600_000)).toBeCloseTo(42 / 55, 10);
    b.add(T0 + 50 * 3_600_000, true);
    expect(b.saved()).toHaveLength(1);
    expect(b.uptime(T0 + 50 * 3_600_000, 24 * 3_600_000)).toBe(1);
  });
});
