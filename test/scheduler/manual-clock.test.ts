import { describe, expect, it } from 'vitest';
import { ManualClock } from '../helpers/manual-clock.js';

describe('ManualClock', () => {
  it('moves only when advanced, and wallNow follows now', async () => {
    const clock = new ManualClock({ start: 5, wallStart: 1_000_000 });
    expect(clock.now()).toBe(5);
    expect(clock.wallNow()).toBe(1_000_005);
    await clock.advance(10);
    expect(clock.now()).toBe(15);
    await clock.advanceTo(20);
    expect(clock.wallNow()).toBe(1_000_020);
    await expect(clock.advanceTo(19)).rejects.toThrow(/forward/);
  });

  it('fires due timers in time order, ties in the order set, with now() at each timer', async () => {
    const clock = new ManualClock();
    const seen: string[] = [];
    clock.setTimer(30, () => seen.push(`c@${clock.now()}`));
    clock.setTimer(10, () => seen.push(`a@${clock.now()}`));
    clock.setTimer(10, () => seen.push(`b@${clock.now()}`));
    clock.setTimer(31, () => seen.push('late'));
    await clock.advance(30);
    expect(seen).toEqual(['a@10', 'b@10', 'c@30']);
    expect(clock.pending).toBe(1);
    expect(clock.nextTimerAt()).toBe(31);
  });

  it('fires timers set by callbacks and by promise chains during the same advance', async () => {
    const clock = new ManualClock();
    const seen: number[] = [];
    const chain = async (): Promise<void> => {
      for (let i = 0; i < 5; i++) {
        await clock.sleep(100);
        await Promise.resolve();
        await Promise.resolve();
        seen.push(clock.now());
      }
    };
    void chain();
    clock.setTimer(50, () => clock.setTimer(0, () => seen.push(-clock.now())));
    await clock.advance(1000);
    expect(seen).toEqual([-50, 100, 200, 300, 400, 500]);
    expect(clock.pending).toBe(0);
  });

  it('cancels timers, and sleep rejects on abort', async () => {
    const clock = new ManualClock();
    let fired = false;
    clock.setTimer(10, () => (fired = true)).cancel();
    expect(clock.pending).toBe(0);
    const ac = new AbortController();
    const slept = clock.sleep(1000, ac.signal);
    clock.setTimer(20, () => ac.abort(new Error('stop')));
    const outcome = slept.then(() => 'resolved', (e: Error) => e.message);
    await clock.advance(2000);
    expect(fired).toBe(false);
    expect(await outcome).toBe('stop');
  });

  it('runAll empties the queue and refuses to spin forever', async () => {
    const clock = new ManualClock();
    let n = 0;
    clock.setTimer(5, () => n++);
    clock.setTimer(500, () => n++);
    await clock.runAll();
    expect([n, clock.now()]).toEqual([2, 500]);
    const again = (): void => void clock.setTimer(1, again);
    again();
    await expect(clock.runAll(50)).rejects.toThrow(/still 1 timers/);
  });
});
