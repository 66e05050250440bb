import { systemClock, type Clock } from './clock.js';

/**
 * Deadlines, bounded waits and sleeps: the one place a run's timers are set, all through a `Clock` (tests pass a
 * manual one). Built from a controller and a timer held here, not AbortSignal.timeout/any: Node 20 holds those
 * sources weakly, and a collected timeout signal never fires.
 */

/** An AbortSignal that aborts after `ms` (null: never) or when any parent aborts. `dispose()` clears both. */
export function deadline(
  ms: number | null,
  parents: readonly (AbortSignal | undefined)[],
  clock: Clock = systemClock,
): { signal: AbortSignal; dispose(): void } {
  const controller = new AbortController();
  const abort = (): void => controller.abort();
  const timer = ms === null ? null : clock.setTimer(ms, abort);
  const live = parents.filter((p): p is AbortSignal => p !== undefined);
  for (const p of live) {
    if (p.aborted) controller.abort();
    else p.addEventListener('abort', abort, { once: true });
  }
  return {
    signal: controller.signal,
    dispose() {
      timer?.cancel();
      for (const p of live) p.removeEventListener('abort', abort);
    },
  };
}

/** Why a bounded wait gave up. */
export type GiveUp = 'timeout' | 'aborted';

/**
 * Wait for a promise that cannot be cancelled (getaddrinfo, a DNS query) at most `ms` (null: no time limit), or until
 * `signal` aborts.
 * Then `giveUp` decides: what it returns resolves the wait, what it throws rejects it. The promise itself keeps
 * running and its outcome is dropped.
 */
export function bounded<T, F>(
  p: Promise<T>,
  ms: number | null,
  signal: AbortSignal | undefined,
  clock: Clock,
  giveUp: (why: GiveUp) => F,
): Promise<T | F> {
  return new Promise<T | F>((resolve, reject) => {
    let settled = false;
    const finish = (): boolean => {
      if (settled) return false;
      settled = true;
      timer?.cancel();
      signal?.removeEventListener('abort', onAbort);
      return true;
    };
    const stop = (why: GiveUp): void => {
      if (!finish()) return;
      try {
        resolve(giveUp(why));
      } catch (e) {
        reject(e);
      }
    };
    const onAbort = (): void => stop('aborted');
    const timer = ms === null ? null : clock.setTimer(ms, () => stop('timeout'));
    if (signal?.aborted) return stop('aborted');
    signal?.addEventListener('abort', onAbort, { once: true });
    p.then(
      (v) => finish() && resolve(v),
      (e: unknown) => finish() && reject(e),
    );
  });
}

/** Resolves after `ms`, or at once when `signal` aborts; never rejects. */
export function sleep(ms: number, signal: AbortSignal | undefined, clock: Clock): Promise<void> {
  return new Promise((resolve) => {
    const done = (): void => {
      timer.cancel();
      signal?.removeEventListener('abort', done);
      resolve();
    };
    const timer = clock.setTimer(ms, done);
    if (signal?.aborted) return done();
    signal?.addEventListener('abort', done, { once: true });
  });
}
