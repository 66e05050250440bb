import { performance } from 'node:perf_hooks';

/** A cancel handle for a timer set through a Clock. */
export interface TimerHandle {
  cancel(): void;
}

/**
 * Time as the scheduler and runners see it. Tests pass a manual clock and move time by hand; production uses
 * systemClock. `now()` is monotonic milliseconds (never jumps with the wall clock); `wallNow()` is for timestamps.
 */
export interface Clock {
  now(): number;
  wallNow(): number;
  setTimer(ms: number, fn: () => void): TimerHandle;
}

export const systemClock: Clock = {
  now: () => performance.now(),
  wallNow: () => Date.now(),
  setTimer(ms, fn) {
    const t = setTimeout(fn, Math.max(0, ms));
    return { cancel: () => clearTimeout(t) };
  },
};
