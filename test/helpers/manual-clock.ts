import type { Clock, TimerHandle } from '../../src/core/clock.js';

interface Timer {
  at: number;
  seq: number;
  fn: () => void;
  done: boolean;
}

export interface ManualClockOptions {
  /** Starting value of now(). Default 0. */
  start?: number;
  /** wallNow() when now() is 0. Default 2026-01-01T00:00:00Z (a whole number of days since the Unix epoch). */
  wallStart?: number;
}

/** Resolves once every microtask queued so far, and the ones those queue, has run. */
export function flushMicrotasks(): Promise<void> {
  return new Promise<void>((resolve) => setImmediate(resolve));
}

/**
 * A Clock whose time moves only when a test says so. `advance`/`advanceTo` fire due timers one by one in time
 * order (ties: the order they were set), including timers set by callbacks during the advance, and let promise
 * chains run to quiescence after each one (a macrotask turn), as the real event loop would between timers.
 * Timers live in a binary heap, so tens of thousands of them are cheap.
 */
export class ManualClock implements Clock {
  private t: number;
  private readonly wallStart: number;
  private readonly heap: Timer[] = [];
  private seq = 0;
  private live = 0;
  private advancing = false;
  /** Timers fired so far. */
  fired = 0;

  constructor(options: ManualClockOptions = {}) {
    this.t = options.start ?? 0;
    this.wallStart = options.wallStart ?? Date.UTC(2026, 0, 1);
  }

  now(): number {
    return this.t;
  }

  wallNow(): number {
    return this.wallStart + this.t;
  }

  setTimer(ms: number, fn: () => void): TimerHandle {
    const delay = ms > 0 ? ms : 0; // negative and NaN: as soon as possible, like setTimeout
    const timer: Timer = { at: this.t + delay, seq: ++this.seq, fn, done: false };
    this.push(timer);
    this.live++;
    return {
      cancel: () => {
        if (timer.done) return;
        timer.done = true;
        this.live--;
      },
    };
  }

  /** Timers set and neither fired nor cancelled. */
  get pending(): number {
    return this.live;
  }

  /** When the next timer is due, or undefined if none is pending. */
  nextTimerAt(): number | undefined {
    return this.peekLive()?.at;
  }

  /** Resolves after `ms` of manual time; rejects with the signal's reason if it aborts first. */
  sleep(ms: number, signal?: AbortSignal): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      if (signal?.aborted) {
        reject(signal.reason);
        return;
      }
      const onAbort = (): void => {
        handle.cancel();
        reject(signal!.reason);
      };
      const handle = this.setTimer(ms, () => {
        signal?.removeEventListener('abort', onAbort);
        resolve();
      });
      signal?.addEventListener('abort', onAbort, { once: true });
    });
  }

  async advance(ms: number): Promise<void> {
    await this.advanceTo(this.t + ms);
  }

  /** Moves time to `target`, firing every timer due by then (those set on the way included). */
  async advanceTo(target: number): Promise<void> {
    if (target < this.t) throw new RangeError(`time only moves forward: now ${this.t}, asked for ${target}`);
    await this.run(target, Infinity);
    this.t = target;
    await flushMicrotasks();
  }

  /** Fires timers until none is pending; throws after `maxTimers` (a job set on an interval never runs out). */
  async runAll(maxTimers = 100_000): Promise<void> {
    const fired = await this.run(Infinity, maxTimers);
    if (this.live > 0 && fired >= maxTimers) throw new Error(`runAll: still ${this.live} timers after firing ${fired}`);
  }

  /** Lets pending promise chains run without moving time. */
  flush(): Promise<void> {
    return flushMicrotasks();
  }

  private async run(until: number, maxTimers: number): Promise<number> {
    if (this.advancing) throw new Error('ManualClock: advance while another advance is in progress (missing await?)');
    this.advancing = true;
    let fired = 0;
    try {
      await flushMicrotasks();
      for (let next = this.peekLive(); next && next.at <= until && fired < maxTimers; next = this.peekLive()) {
        this.pop();
        next.done = true;
        this.live--;
        if (next.at > this.t) this.t = next.at;
        fired++;
        this.fired++;
        next.fn();
        await flushMicrotasks();
      }
    } finally {
      this.advancing = false;
    }
    return fired;
  }

  private peekLive(): Timer | undefined {
    let top = this.heap[0];
    while (top && top.done) {
      this.pop();
      top = this.heap[0];
    }
    return top;
  }

  private static earlier(a: Timer, b: Timer): boolean {
    return a.at < b.at || (a.at === b.at && a.seq < b.seq);
  }

  private push(timer: Timer): void {
    const h = this.heap;
    let i = h.length;
    h.push(timer);
    while (i > 0) {
      const p = (i - 1) >> 1;
      if (!ManualClock.earlier(timer, h[p]!)) break;
      h[i] = h[p]!;
      i = p;
    }
    h[i] = timer;
  }

  private pop(): void {
    const h = this.heap;
    const last = h.pop();
    if (h.length === 0 || last === undefined) return;
    let i = 0;
    for (;;) {
      const l = 2 * i + 1;
      if (l >= h.length) break;
      const r = l + 1;
      const c = r < h.length && ManualClock.earlier(h[r]!, h[l]!) ? r : l;
      if (!ManualClock.earlier(h[c]!, last)) break;
      h[i] = h[c]!;
      i = c;
    }
    h[i] = last;
  }
}
