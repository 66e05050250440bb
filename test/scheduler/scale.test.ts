import { performance } from 'node:perf_hooks';
import { describe, expect, it } from 'vitest';
import { Scheduler, slotOffset, type Job } from '../../src/scheduler/scheduler.js';
import { ManualClock } from '../helpers/manual-clock.js';

describe('Scheduler at scale', () => {
  it('runs 10,000 jobs at a 60 s interval for 3 simulated minutes, each exactly on its slots', async () => {
    const JOBS = 10_000;
    const INTERVAL = 60_000;
    const clock = new ManualClock();
    let skipped = 0;
    let maxLag = 0;
    let errors = 0;
    let active = 0;
    let maxActive = 0;
    const scheduler = new Scheduler({
      clock,
      concurrency: 64,
      onSkipped: () => skipped++,
      onLag: (_key, s) => (maxLag = Math.max(maxLag, s)),
      onError: () => errors++,
    });
    const starts: number[][] = Array.from({ length: JOBS }, () => []);
    const jobs: Job[] = starts.map((mine, i) => ({
      key: `mx-${i}.example.test`,
      intervalMs: INTERVAL,
      run: async (signal) => {
        mine.push(clock.now());
        active++;
        maxActive = Math.max(maxActive, active);
        await clock.sleep(5 + ((i * 7919) % 200), signal); // 5..204 ms "SMTP session"
        active--;
      },
    }));

    const t0 = performance.now();
    scheduler.replace(jobs);
    await clock.advanceTo(3 * INTERVAL - 1);
    const stopped = scheduler.stop(10_000);
    await clock.advance(10_000);
    await stopped;
    const elapsed = performance.now() - t0;
    console.log(
      `scheduler: ${JOBS} jobs x 3 simulated minutes = ${JOBS * 3} runs, ${clock.fired} timers fired, ` +
        `peak ${maxActive} concurrent, in ${elapsed.toFixed(0)} ms of real time`,
    );

    expect([skipped, errors, maxLag]).toEqual([0, 0, 0]);
    expect(maxActive).toBeLessThanOrEqual(64);
    jobs.forEach((job, i) => {
      const o = slotOffset(job.key, INTERVAL); // the manual clock's wall start is a whole day: slots at o + k min
      expect(starts[i]).toEqual([o, o + INTERVAL, o + 2 * INTERVAL]);
    });
    expect(scheduler.stats()).toEqual({ jobs: JOBS, running: 0, waiting: 0, stopped: true });
  });

  it('stays consistent when 10,000 jobs overload the concurrency cap (queueing, lag, skips)', async () => {
    const JOBS = 10_000;
    const INTERVAL = 60_000;
    const END = 3 * INTERVAL - 1;
    const CAP = 8; // demand is about 17.4 runs in progress on average: the backlog grows until runs get skipped
    const clock = new ManualClock();
    let skipped = 0;
    let started = 0;
    let maxLag = 0;
    let active = 0;
    let maxActive = 0;
    const scheduler = new Scheduler({
      clock,
      concurrency: CAP,
      onSkipped: () => skipped++,
      onLag: (_key, s) => {
        started++;
        maxLag = Math.max(maxLag, s);
      },
    });
    const jobs: Job[] = Array.from({ length: JOBS }, (_, i) => ({
      key: `mx-${i}.example.test`,
      intervalMs: INTERVAL,
      run: async (signal) => {
        active++;
        maxActive = Math.max(maxActive, active);
        await clock.sleep(5 + ((i * 7919) % 200), signal);
        active--;
      },
    }));
    const t0 = performance.now();
    scheduler.replace(jobs);
    await clock.advanceTo(END);
    const { waiting } = scheduler.stats();
    const stopped = scheduler.stop(1_000);
    await clock.advance(1_000);
    await stopped;
    console.log(
      `scheduler overloaded: ${started} starts, ${skipped} skips, ${waiting} waiting at the end, ` +
        `max lag ${maxLag.toFixed(1)} s, in ${(performance.now() - t0).toFixed(0)} ms of real time`,
    );
    expect(maxActive).toBe(CAP);
    expect(skipped).toBeGreaterThan(0);
    expect(maxLag).toBeLessThanOrEqual(INTERVAL / 1000);
    const slots = jobs.reduce((n, j) => n + Math.floor((END - slotOffset(j.key, INTERVAL)) / INTERVAL) + 1, 0);
    expect(started + skipped + waiting).toBe(slots);
    expect(scheduler.stats()).toMatchObject({ running: 0, waiting: 0 });
  });
});
