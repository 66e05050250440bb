import { describe, expect, it } from 'vitest';
import type { Clock } from '../../src/core/clock.js';
import { Scheduler, slotOffset, type Job, type SchedulerOptions } from '../../src/scheduler/scheduler.js';
import { ManualClock } from '../helpers/manual-clock.js';

interface Held {
  promise: Promise<void>;
  release(): void;
}

function held(): Held {
  let release!: () => void;
  const promise = new Promise<void>((resolve) => (release = resolve));
  return { promise, release };
}

/** A scheduler on a manual clock with slot zero at clock time 0, recording every hook call. */
function setup(options: Partial<SchedulerOptions> = {}) {
  const clock = new ManualClock();
  const skipped: string[] = [];
  const lags: Array<{ key: string; seconds: number; at: number }> = [];
  const errors: Array<{ key: string; error: unknown }> = [];
  const scheduler = new Scheduler({
    clock,
    concurrency: 64,
    epoch: 0,
    onSkipped: (key) => skipped.push(key),
    onLag: (key, seconds) => lags.push({ key, seconds, at: clock.now() }),
    onError: (key, error) => errors.push({ key, error }),
    ...options,
  });
  return { clock, scheduler, skipped, lags, errors };
}

/** A job that records the clock time of each start and then runs `body`. */
function recorder(clock: ManualClock, key: string, intervalMs: number, body: (signal: AbortSignal) => Promise<void> = async () => {}) {
  const starts: number[] = [];
  const job: Job = {
    key,
    intervalMs,
    run: (signal) => {
      starts.push(clock.now());
      return body(signal);
    },
  };
  return { job, starts };
}

const count = (list: string[], key: string): number => list.filter((k) => k === key).length;

describe('Scheduler: fixed-rate slots', () => {
  it('runs at epoch + offset + k * interval, however long each run takes (no drift)', async () => {
    const { clock, scheduler, skipped, lags } = setup();
    const o = slotOffset('a', 10_000);
    const a = recorder(clock, 'a', 10_000, () => clock.sleep(7_000));
    scheduler.replace([a.job]);
    expect(scheduler.nextRunAt('a')).toBe(o);
    await clock.advanceTo(o + 40_000);
    expect(a.starts).toEqual([o, o + 10_000, o + 20_000, o + 30_000, o + 40_000]);
    expect(skipped).toEqual([]);
    expect(lags.map((l) => l.seconds)).toEqual([0, 0, 0, 0, 0]);
  });

  it('by default aligns slots to the wall clock: the same instants after a restart', async () => {
    const key = 'mx1-submission';
    const interval = 60_000;
    const offset = slotOffset(key, interval);
    // two processes: different monotonic origins, wall clocks 20 min 34.567 s apart
    for (const [start, wallStart] of [
      [0, Date.UTC(2026, 0, 1)],
      [987_654, Date.UTC(2026, 0, 1, 0, 20, 34, 567)],
    ] as const) {
      const clock = new ManualClock({ start, wallStart: wallStart - start });
      const scheduler = new Scheduler({ clock, concurrency: 1 });
      const r = recorder(clock, key, interval);
      scheduler.replace([r.job]);
      await clock.advance(2 * interval);
      expect(r.starts).toHaveLength(2);
      for (const t of r.starts) expect((clock.wallNow() - clock.now() + t) % interval).toBe(offset);
      await scheduler.stop(0);
    }
  });

  it('counts slots missed while the process stalled as skipped, and runs the latest one', async () => {
    // a clock whose timers fire late, as after a long event-loop stall
    const clock = new ManualClock();
    const skipped: string[] = [];
    const lateClock: Clock = {
      now: () => clock.now(),
      wallNow: () => clock.wallNow(),
      setTimer: (ms, fn) => clock.setTimer(ms + 25_000, fn),
    };
    const scheduler = new Scheduler({ clock: lateClock, concurrency: 4, epoch: 0, onSkipped: (k) => skipped.push(k) });
    const o = slotOffset('s', 10_000);
    const r = recorder(clock, 's', 10_000);
    scheduler.replace([r.job]);
    await clock.advanceTo(o + 25_000);
    expect(r.starts).toEqual([o + 25_000]); // slots o, o+10s skipped; o+20s run 5 s late
    expect(skipped).toEqual(['s', 's']);
    await scheduler.stop(0);
  });
});

describe('Scheduler: no self-overlap', () => {
  it('skips a slot while the previous run is still going, and reports each skip', async () => {
    const { clock, scheduler, skipped } = setup();
    const o = slotOffset('slow', 10_000);
    const slow = recorder(clock, 'slow', 10_000, () => clock.sleep(25_000));
    const fast = recorder(clock, 'fast', 10_000);
    scheduler.replace([slow.job, fast.job]);
    await clock.advanceTo(o + 59_999);
    // runs at o (until o+25s) and o+30s (until o+55s); o+10s, o+20s, o+40s, o+50s skipped
    expect(slow.starts).toEqual([o, o + 30_000]);
    expect(count(skipped, 'slow')).toBe(4);
    expect(count(skipped, 'fast')).toBe(0);
    expect(fast.starts).toHaveLength(6);
  });
});

describe('Scheduler: concurrency cap', () => {
  it('makes a due run wait for a free slot and reports its lag; a wait past the next slot is a skip', async () => {
    const { clock, scheduler, skipped, lags } = setup({ concurrency: 1 });
    const [first, second] = ['alpha', 'bravo'].sort((x, y) => slotOffset(x, 60_000) - slotOffset(y, 60_000));
    const o1 = slotOffset(first!, 60_000);
    const o2 = slotOffset(second!, 60_000);
    expect(o1).toBeLessThan(o2);
    const gate = held();
    const a = recorder(clock, first!, 60_000, () => gate.promise);
    const b = recorder(clock, second!, 60_000);
    scheduler.replace([a.job, b.job]);

    await clock.advanceTo(o2);
    expect(a.starts).toEqual([o1]);
    expect(b.starts).toEqual([]);
    expect(scheduler.stats()).toMatchObject({ running: 1, waiting: 1 });

    // still waiting when its next slot comes: that counts as a skip, and it waits on for the new slot only
    await clock.advanceTo(o2 + 60_000 + 1_234);
    expect(count(skipped, second!)).toBe(1);
    expect(count(skipped, first!)).toBe(1); // its own slot at o1 + 60 s came while it ran
    expect(scheduler.stats()).toMatchObject({ running: 1, waiting: 1 });

    gate.release();
    await clock.flush();
    expect(b.starts).toEqual([o2 + 61_234]);
    expect(lags.filter((l) => l.key === second).map((l) => l.seconds)).toEqual([1.234]);
    expect(scheduler.stats()).toMatchObject({ running: 0, waiting: 0 });
  });

  it('never runs more than N at once; every slot is a start, a skip, or still waiting', async () => {
    const cap = 3;
    const interval = 1_000;
    const { clock, scheduler, skipped, lags } = setup({ concurrency: cap });
    let active = 0;
    let maxActive = 0;
    const jobs: Job[] = [];
    for (let i = 0; i < 30; i++) {
      jobs.push({
        key: `busy-${i}`,
        intervalMs: interval,
        run: async () => {
          active++;
          maxActive = Math.max(maxActive, active);
          await clock.sleep(100 + ((i * 53) % 300));
          active--;
        },
      });
    }
    scheduler.replace(jobs);
    const end = 20_000;
    await clock.advanceTo(end);

    expect(maxActive).toBe(cap);
    expect(lags.some((l) => l.seconds > 0)).toBe(true);
    for (const l of lags) {
      const lagMs = Math.round(l.seconds * 1000);
      // a run still waiting at its next slot was re-pointed at it (a start at the very instant of the next slot
      // can still carry the old one: the finishing run freed a place before that slot's timer fired)
      expect(lagMs).toBeLessThanOrEqual(interval);
      expect((l.at - lagMs) % interval).toBe(slotOffset(l.key, interval)); // start − lag is one of its slots
    }
    const slots = jobs.reduce((n, j) => n + Math.floor((end - slotOffset(j.key, interval)) / interval) + 1, 0);
    expect(lags.length + skipped.length + scheduler.stats().waiting).toBe(slots);
    expect(scheduler.stats().waiting).toBeLessThanOrEqual(jobs.length);
  });
});

describe('Scheduler: failures', () => {
  it('reports a rejecting or throwing job through onError and keeps scheduling everything', async () => {
    const { clock, scheduler, errors } = setup();
    const boom = new Error('boom');
    const rejecting = recorder(clock, 'rejects', 10_000, () => Promise.reject(boom));
    const throwing: Job = {
      key: 'throws',
      intervalMs: 10_000,
      run: () => {
        throw new Error('sync');
      },
    };
    const fine = recorder(clock, 'fine', 10_000);
    scheduler.replace([rejecting.job, throwing, fine.job]);
    await clock.advance(30_000);
    expect(rejecting.starts).toHaveLength(3);
    expect(fine.starts).toHaveLength(3);
    expect(errors.filter((e) => e.key === 'rejects').map((e) => e.error)).toEqual([boom, boom, boom]);
    expect(errors.filter((e) => e.key === 'throws')).toHaveLength(3);
    expect(scheduler.stats()).toMatchObject({ running: 0, jobs: 3 });
  });

  it('survives hooks that throw', async () => {
    const errors: unknown[] = [];
    const { clock, scheduler } = setup({
      onLag: () => {
        throw new Error('lag hook');
      },
      onSkipped: () => {
        throw new Error('skip hook');
      },
      onError: (_key, e) => {
        errors.push(e);
        throw new Error('error hook');
      },
    });
    const r = recorder(clock, 'h', 1_000, () => clock.sleep(1_500));
    scheduler.replace([r.job]);
    await clock.advance(10_000);
    expect(r.starts.length).toBe(5); // every other slot: each run overlaps the next slot
    expect(errors.map((e) => (e as Error).message)).toContain('skip hook');
    expect(errors.map((e) => (e as Error).message)).toContain('lag hook');
  });

  it('rejects bad options and bad job sets', () => {
    const clock = new ManualClock();
    expect(() => new Scheduler({ clock, concurrency: 0 })).toThrow(/concurrency/);
    expect(() => new Scheduler({ clock, concurrency: 1.5 })).toThrow(/concurrency/);
    const s = new Scheduler({ clock, concurrency: Infinity });
    const run = async (): Promise<void> => {};
    expect(() => s.replace([{ key: 'x', intervalMs: 0, run }])).toThrow(/interval/);
    expect(() => s.replace([{ key: 'x', intervalMs: Number.NaN, run }])).toThrow(/interval/);
    expect(() => s.replace([{ key: 'x', intervalMs: 1000, run }, { key: 'x', intervalMs: 1000, run }])).toThrow(/duplicate/);
  });
});

describe('Scheduler: replace()', () => {
  it('keeps unchanged jobs, reschedules a changed interval, adds new ones, and lets removed runs finish', async () => {
    const { clock, scheduler } = setup();
    const gateA = held();
    const gateC = held();
    const signals: Record<string, AbortSignal> = {};
    const a1 = recorder(clock, 'a', 60_000, (signal) => ((signals.a = signal), gateA.promise));
    const b1 = recorder(clock, 'b', 60_000);
    const c1 = recorder(clock, 'c', 60_000, (signal) => ((signals.c = signal), gateC.promise));
    scheduler.replace([a1.job, b1.job, c1.job]);
    const oA = slotOffset('a', 60_000);
    const oC = slotOffset('c', 60_000);
    const t0 = Math.max(oA, oC) + 1;
    await clock.advanceTo(t0);
    expect(a1.starts).toEqual([oA]);
    expect(c1.starts).toEqual([oC]);
    expect(scheduler.stats()).toMatchObject({ jobs: 3, running: 2 });

    const a2 = recorder(clock, 'a', 60_000);
    const b2 = recorder(clock, 'b', 30_000);
    const d = recorder(clock, 'd', 60_000);
    scheduler.replace([a2.job, b2.job, d.job]);

    const firstFrom = (key: string, interval: number): number =>
      slotOffset(key, interval) + Math.ceil((t0 - slotOffset(key, interval)) / interval) * interval;
    expect(scheduler.nextRunAt('a')).toBe(oA + 60_000); // unchanged schedule
    expect(scheduler.nextRunAt('b')).toBe(firstFrom('b', 30_000));
    expect(scheduler.nextRunAt('c')).toBeUndefined();
    expect(scheduler.nextRunAt('d')).toBe(firstFrom('d', 60_000));
    expect(scheduler.stats()).toMatchObject({ jobs: 3, running: 2 }); // a and c still running
    expect(signals.c?.aborted).toBe(false);

    gateA.release();
    gateC.release();
    await clock.advanceTo(t0 + 120_000);
    expect(a1.starts).toEqual([oA]); // the old run function is not used again...
    expect(a2.starts).toEqual([oA + 60_000, oA + 120_000]); // ...the new one keeps the old slots
    expect(c1.starts).toEqual([oC]); // removed: no new runs
    expect(signals.c?.aborted).toBe(false);
    expect(b2.starts).toHaveLength(4);
    for (const t of b2.starts) expect(t % 30_000).toBe(slotOffset('b', 30_000));
    expect(d.starts).toEqual([firstFrom('d', 60_000), firstFrom('d', 60_000) + 60_000]);
    expect(scheduler.stats()).toMatchObject({ jobs: 3, running: 0, waiting: 0 });
  });

  it('never overlaps a run still going from before the reload, even across remove and re-add', async () => {
    const { clock, scheduler, skipped } = setup();
    const gate = held();
    const x1 = recorder(clock, 'x', 60_000, () => gate.promise);
    scheduler.replace([x1.job]);
    const o = slotOffset('x', 60_000);
    await clock.advanceTo(o);
    scheduler.replace([]);
    expect(scheduler.stats()).toMatchObject({ jobs: 0, running: 1 });
    const x2 = recorder(clock, 'x', 10_000);
    scheduler.replace([x2.job]);
    await clock.advanceTo(o + 30_000);
    expect(x2.starts).toEqual([]);
    const o10 = slotOffset('x', 10_000);
    // slots in [o, o + 30 s] on the new grid (10 s divides 60 s, so o10 = o mod 10 s: the first one is at o itself)
    expect(o10).toBe(o % 10_000);
    expect(count(skipped, 'x')).toBe(4);
    gate.release();
    await clock.advanceTo(o + 40_000);
    expect(x2.starts).toHaveLength(1);
    expect(x2.starts[0]! % 10_000).toBe(slotOffset('x', 10_000));
  });

  it('drops a removed job that was waiting for a concurrency slot', async () => {
    const { clock, scheduler } = setup({ concurrency: 1 });
    const [first, second] = ['alpha', 'bravo'].sort((x, y) => slotOffset(x, 60_000) - slotOffset(y, 60_000));
    const gate = held();
    const a = recorder(clock, first!, 60_000, () => gate.promise);
    const b = recorder(clock, second!, 60_000);
    scheduler.replace([a.job, b.job]);
    await clock.advanceTo(slotOffset(second!, 60_000));
    expect(scheduler.stats().waiting).toBe(1);
    scheduler.replace([a.job]);
    expect(scheduler.stats().waiting).toBe(0);
    gate.release();
    await clock.advance(1_000);
    expect(b.starts).toEqual([]);
  });

  it('is all-or-nothing: an invalid job set changes nothing', async () => {
    const { clock, scheduler } = setup();
    const a = recorder(clock, 'a', 60_000);
    scheduler.replace([a.job]);
    const before = scheduler.nextRunAt('a');
    const b = recorder(clock, 'b', 60_000);
    expect(() => scheduler.replace([b.job, b.job])).toThrow(/duplicate job key "b"/);
    expect(scheduler.nextRunAt('a')).toBe(before);
    expect(scheduler.nextRunAt('b')).toBeUndefined();
    await clock.advance(60_000);
    expect([a.starts.length, b.starts.length]).toEqual([1, 0]);
  });
});

describe('Scheduler: stop()', () => {
  it('starts nothing new and waits for running runs within the grace period, without aborting them', async () => {
    const { clock, scheduler } = setup({ concurrency: 1 });
    let signal: AbortSignal | undefined;
    const r = recorder(clock, 'r', 10_000, async (s) => {
      signal = s;
      await clock.sleep(5_000, s);
    });
    const other = recorder(clock, 'other', 10_000);
    scheduler.replace([r.job, other.job]);
    const o = slotOffset('r', 10_000);
    await clock.advanceTo(o + 1_000);
    let done = false;
    const stopped = scheduler.stop(30_000).then(() => (done = true));
    expect(scheduler.stop(1)).toBe(scheduler.stop(30_000)); // idempotent: same promise
    await clock.advance(3_999);
    expect(done).toBe(false);
    await clock.advance(1);
    await stopped;
    expect(clock.now()).toBe(o + 5_000);
    expect(signal?.aborted).toBe(false);
    const starts = [r.starts.length, other.starts.length];
    await clock.advance(60_000);
    expect([r.starts.length, other.starts.length]).toEqual(starts);
    expect(scheduler.stats()).toMatchObject({ stopped: true, running: 0, waiting: 0 });
    expect(clock.pending).toBe(0);
    scheduler.replace([recorder(clock, 'late', 1_000).job]); // ignored after stop
    await clock.advance(5_000);
    expect(scheduler.nextRunAt('late')).toBeUndefined();
  });

  it('aborts runs still going after the grace period and resolves once they settle', async () => {
    const { clock, scheduler } = setup();
    let signal: AbortSignal | undefined;
    const r = recorder(clock, 'r', 60_000, async (s) => {
      signal = s;
      await clock.sleep(50_000, s).catch(() => clock.sleep(200)); // cleans up for 200 ms after the abort
    });
    scheduler.replace([r.job]);
    await clock.advanceTo(slotOffset('r', 60_000));
    let doneAt = -1;
    const stopped = scheduler.stop(3_000).then(() => (doneAt = clock.now()));
    await clock.advance(2_999);
    expect(signal?.aborted).toBe(false);
    await clock.advance(1);
    expect(signal?.aborted).toBe(true);
    await clock.advance(1_000);
    await stopped;
    expect(doneAt).toBe(slotOffset('r', 60_000) + 3_200);
  });

  it('gives up on runs that ignore the abort after abortWaitMs', async () => {
    const { clock, scheduler } = setup({ abortWaitMs: 500 });
    const r = recorder(clock, 'stuck', 60_000, () => new Promise<void>(() => {}));
    scheduler.replace([r.job]);
    await clock.advanceTo(slotOffset('stuck', 60_000));
    let doneAt = -1;
    const t = clock.now();
    const stopped = scheduler.stop(1_000).then(() => (doneAt = clock.now()));
    await clock.advance(10_000);
    await stopped;
    expect(doneAt).toBe(t + 1_500);
    expect(scheduler.stats().running).toBe(1);
  });

  it('resolves at once when nothing runs, and drops runs waiting for a slot', async () => {
    const { clock, scheduler } = setup({ concurrency: 1 });
    await scheduler.stop(10_000);
    const s2 = setup({ concurrency: 1 });
    const [first, second] = ['alpha', 'bravo'].sort((x, y) => slotOffset(x, 60_000) - slotOffset(y, 60_000));
    const a = recorder(s2.clock, first!, 60_000, () => s2.clock.sleep(100_000));
    const b = recorder(s2.clock, second!, 60_000);
    s2.scheduler.replace([a.job, b.job]);
    await s2.clock.advanceTo(slotOffset(second!, 60_000));
    expect(s2.scheduler.stats().waiting).toBe(1);
    const stopped = s2.scheduler.stop(0);
    expect(s2.scheduler.stats().waiting).toBe(0);
    await s2.clock.advance(2_000);
    await stopped;
    expect(b.starts).toEqual([]);
    expect(clock.pending).toBe(0);
  });
});

describe('Scheduler on the system clock', () => {
  it('runs on real timers too (wall-aligned fractional epoch, ms-granular setTimeout)', async () => {
    const { systemClock } = await import('../../src/core/clock.js');
    const runs = new Map<string, number>();
    const errors: unknown[] = [];
    const scheduler = new Scheduler({ clock: systemClock, concurrency: 2, onError: (_k, e) => errors.push(e) });
    scheduler.replace(
      ['one', 'two', 'three'].map((key) => ({
        key,
        intervalMs: 20,
        run: async () => void runs.set(key, (runs.get(key) ?? 0) + 1),
      })),
    );
    await new Promise((resolve) => setTimeout(resolve, 200));
    await scheduler.stop(1_000);
    expect(errors).toEqual([]);
    for (const key of ['one', 'two', 'three']) expect(runs.get(key) ?? 0).toBeGreaterThanOrEqual(2);
  });
});
