import type { Clock, TimerHandle } from '../core/clock.js';
import { slotOffset } from './hash.js';
import { IndexedHeap } from './heap.js';

export { slotOffset } from './hash.js';
export { inShard, ownOf, parseShard, shardOf, type Shard } from './shard.js';

/** One thing to run on an interval: in smtp-probe, one target. `key` is the target name. */
export interface Job {
  readonly key: string;
  readonly intervalMs: number;
  /** Must not reject (a rejection is caught and reported through onError). Should settle soon after `signal` aborts. */
  run(signal: AbortSignal): Promise<void>;
}

export interface SchedulerOptions {
  clock: Clock;
  /** Most runs in progress at once (`global.concurrency`); an integer >= 1, or Infinity. */
  concurrency: number;
  /**
   * The clock.now() value of slot zero. Default: the Unix epoch as seen through the clock (now() - wallNow() at
   * construction), so slots fall on the same wall-clock instants on every restart and every instance.
   */
  epoch?: number;
  /** After stop() aborts the runs still going, how long it waits for them to settle. Default 1000 ms. */
  abortWaitMs?: number;
  /** A due slot got no run: the previous run was still going, or the run was still waiting for a free slot. */
  onSkipped?: (key: string) => void;
  /** A run started `seconds` after its slot (0 when on time). Called for every start. */
  onLag?: (key: string, seconds: number) => void;
  /** A run rejected or threw, or a hook threw. The scheduler goes on. */
  onError?: (key: string, error: unknown) => void;
}

export interface SchedulerStats {
  /** Jobs in the current set. */
  jobs: number;
  /** Runs in progress (including those of jobs removed since they started). */
  running: number;
  /** Due runs waiting for a free concurrency slot. */
  waiting: number;
  stopped: boolean;
}

/** Node clamps longer setTimeout delays to 1 ms; a longer wait is split (the early wake-up finds nothing due). */
const MAX_TIMER_MS = 2_147_483_647;
const DEFAULT_ABORT_WAIT_MS = 1000;

interface Entry {
  readonly key: string;
  job: Job;
  intervalMs: number;
  offset: number;
  /** The next slot not yet handled; the heap's key. */
  nextSlot: number;
  heapIndex: number;
  /** Tie-break for equal slots: deterministic order. */
  seq: number;
  /** Out of the job set; kept only while its last run finishes, so a re-added key still cannot overlap. */
  removed: boolean;
  /** Set while a run is in progress. */
  controller: AbortController | null;
  /** Non-zero while waiting for a concurrency slot; matches the ticket of its place in the wait queue. */
  ticket: number;
  /** The slot the waiting run is for (the latest one: an older one still waiting was counted as skipped). */
  waitingSlot: number;
}

interface Waiter {
  entry: Entry;
  ticket: number;
}

const earlier = (a: Entry, b: Entry): boolean => a.nextSlot < b.nextSlot || (a.nextSlot === b.nextSlot && a.seq < b.seq);

/**
 * Runs each job on fixed-rate slots `epoch + offset + k * intervalMs`, with `offset` a hash of the key (spread,
 * stable across restarts), never two runs of one job at once, at most `concurrency` runs in all.
 * One timer for the whole set, armed for the earliest slot in a min-heap: a tick costs O(log n) per due job.
 */
export class Scheduler {
  private readonly clock: Clock;
  private readonly concurrency: number;
  private readonly epoch: number;
  private readonly abortWaitMs: number;
  private readonly hooks: Pick<SchedulerOptions, 'onSkipped' | 'onLag' | 'onError'>;

  /** Current jobs, plus removed ones whose last run is still going. */
  private readonly entries = new Map<string, Entry>();
  private readonly heap = new IndexedHeap<Entry>(earlier);
  private jobCount = 0;
  private seq = 0;

  /** FIFO of runs waiting for a concurrency slot; stale places (ticket mismatch) are dropped lazily. */
  private queue: Waiter[] = [];
  private queueHead = 0;
  private waiting = 0;
  private tickets = 0;

  private active = 0;
  private readonly idleWaiters = new Set<() => void>();

  private timer: TimerHandle | null = null;
  private timerAt = Infinity;
  private timerToken = 0;

  private stopping: Promise<void> | null = null;

  constructor(options: SchedulerOptions) {
    const { clock, concurrency } = options;
    if (!(Number.isInteger(concurrency) || concurrency === Infinity) || concurrency < 1) {
      throw new RangeError(`concurrency must be an integer >= 1, got ${concurrency}`);
    }
    this.clock = clock;
    this.concurrency = concurrency;
    this.epoch = options.epoch ?? clock.now() - clock.wallNow();
    this.abortWaitMs = options.abortWaitMs ?? DEFAULT_ABORT_WAIT_MS;
    this.hooks = { onSkipped: options.onSkipped, onLag: options.onLag, onError: options.onError };
  }

  /**
   * Makes `jobs` the job set, all at once (config reload). Same key and interval: schedule, running run and any
   * waiting run are kept; the new `run` is used from the next start. Changed interval: rescheduled from now on
   * the new interval's slots. New key: first run on its first slot from now. Removed key: no new runs; a run in
   * progress finishes undisturbed. Throws, changing nothing, on a duplicate key or a bad interval.
   * Ignored after stop().
   */
  replace(jobs: Iterable<Job>): void {
    const wanted = checkJobs(jobs);
    if (this.stopping) return;
    const now = this.clock.now();
    for (const e of this.entries.values()) {
      if (!e.removed && !wanted.has(e.key)) this.retire(e);
    }
    for (const job of wanted.values()) {
      const e = this.entries.get(job.key);
      if (e === undefined) {
        this.add(job, now);
      } else if (!e.removed && e.intervalMs === job.intervalMs) {
        e.job = job;
      } else {
        if (e.removed) {
          e.removed = false;
          this.jobCount++;
        }
        if (e.intervalMs !== job.intervalMs) {
          e.intervalMs = job.intervalMs;
          e.offset = slotOffset(job.key, job.intervalMs);
        }
        e.job = job;
        e.nextSlot = this.firstSlot(e, now);
        if (e.heapIndex < 0) this.heap.push(e);
        else this.heap.update(e);
      }
    }
    this.arm();
  }

  /**
   * Starts no more runs (waiting ones are dropped), waits up to `graceMs` for the runs in progress, then aborts
   * their signals and waits up to `abortWaitMs` more for them to settle. Every call returns the first call's promise.
   */
  stop(graceMs: number): Promise<void> {
    if (!this.stopping) {
      this.cancelTimer();
      this.heap.clear();
      for (let i = this.queueHead; i < this.queue.length; i++) this.queue[i]!.entry.ticket = 0;
      this.queue = [];
      this.queueHead = 0;
      this.waiting = 0;
      this.stopping = this.drain(graceMs);
    }
    return this.stopping;
  }

  /** The clock.now() time of the job's next slot, or undefined if it has none (unknown key, removed, stopped). */
  nextRunAt(key: string): number | undefined {
    const e = this.entries.get(key);
    return e && e.heapIndex >= 0 ? e.nextSlot : undefined;
  }

  stats(): SchedulerStats {
    return { jobs: this.jobCount, running: this.active, waiting: this.waiting, stopped: this.stopping !== null };
  }

  private add(job: Job, now: number): void {
    const e: Entry = {
      key: job.key,
      job,
      intervalMs: job.intervalMs,
      offset: slotOffset(job.key, job.intervalMs),
      nextSlot: 0,
      heapIndex: -1,
      seq: this.seq++,
      removed: false,
      controller: null,
      ticket: 0,
      waitingSlot: 0,
    };
    e.nextSlot = this.firstSlot(e, now);
    this.entries.set(job.key, e);
    this.heap.push(e);
    this.jobCount++;
  }

  private retire(e: Entry): void {
    this.heap.remove(e);
    this.unqueue(e);
    e.removed = true;
    this.jobCount--;
    if (!e.controller) this.entries.delete(e.key);
  }

  /** The job's first slot at or after `now`. */
  private firstSlot(e: Entry, now: number): number {
    const base = this.epoch + e.offset;
    let slot = base + Math.ceil((now - base) / e.intervalMs) * e.intervalMs;
    if (slot < now) slot += e.intervalMs; // rounding
    return slot;
  }

  /** Keeps one timer armed no later than the earliest slot. */
  private arm(): void {
    if (this.stopping) return;
    const top = this.heap.peek();
    if (!top) {
      this.cancelTimer();
      return;
    }
    if (this.timer && this.timerAt <= top.nextSlot) return; // fires early enough; finds nothing due, re-arms
    this.cancelTimer();
    const now = this.clock.now();
    // ceil: a timer never fires before the slot because of rounding (or fires 1 ms later and re-arms)
    const delay = Math.min(MAX_TIMER_MS, Math.max(0, Math.ceil(top.nextSlot - now)));
    const token = ++this.timerToken;
    this.timerAt = now + delay;
    this.timer = this.clock.setTimer(delay, () => {
      if (token === this.timerToken) this.tick();
    });
  }

  private cancelTimer(): void {
    this.timer?.cancel();
    this.timer = null;
    this.timerAt = Infinity;
    this.timerToken++;
  }

  private tick(): void {
    this.timer = null;
    this.timerAt = Infinity;
    const now = this.clock.now();
    for (let e = this.heap.peek(); e && e.nextSlot <= now && !this.stopping; e = this.heap.peek()) {
      // More than one slot due: the process stalled. The latest gets the run; the older ones count as skipped.
      const missed = Math.floor((now - e.nextSlot) / e.intervalMs);
      const slot = e.nextSlot + missed * e.intervalMs;
      e.nextSlot = slot + e.intervalMs;
      this.heap.update(e);
      for (let i = 0; i < missed; i++) this.emitSkipped(e.key);
      this.due(e, slot, now);
    }
    this.arm();
  }

  private due(e: Entry, slot: number, now: number): void {
    if (e.controller) {
      this.emitSkipped(e.key);
    } else if (e.ticket !== 0) {
      this.emitSkipped(e.key); // still waiting from the previous slot: that one is skipped, this one keeps its place
      e.waitingSlot = slot;
    } else if (this.active < this.concurrency && this.waiting === 0) {
      this.start(e, slot, now);
    } else {
      e.ticket = ++this.tickets;
      e.waitingSlot = slot;
      this.queue.push({ entry: e, ticket: e.ticket });
      this.waiting++;
    }
  }

  private unqueue(e: Entry): void {
    if (e.ticket === 0) return;
    e.ticket = 0;
    this.waiting--;
  }

  private start(e: Entry, slot: number, now: number): void {
    const controller = new AbortController();
    e.controller = controller;
    this.active++;
    this.emitLag(e.key, Math.max(0, now - slot) / 1000);
    let running: Promise<void>;
    try {
      running = Promise.resolve(e.job.run(controller.signal));
    } catch (err) {
      running = Promise.reject(err);
    }
    running.then(
      () => this.finish(e),
      (err: unknown) => {
        this.emitError(e.key, err);
        this.finish(e);
      },
    );
  }

  private finish(e: Entry): void {
    e.controller = null;
    this.active--;
    if (e.removed && this.entries.get(e.key) === e) this.entries.delete(e.key);
    this.startWaiting();
    if (this.active === 0) {
      for (const wake of [...this.idleWaiters]) wake();
    }
  }

  private startWaiting(): void {
    while (!this.stopping && this.waiting > 0 && this.active < this.concurrency) {
      const w = this.queue[this.queueHead++]!;
      if (w.entry.ticket !== w.ticket) continue; // removed or rescheduled since
      this.unqueue(w.entry);
      this.start(w.entry, w.entry.waitingSlot, this.clock.now());
    }
    if (this.queueHead > 1024 && this.queueHead * 2 > this.queue.length) {
      this.queue = this.queue.slice(this.queueHead);
      this.queueHead = 0;
    }
  }

  private async drain(graceMs: number): Promise<void> {
    if (await this.waitIdle(graceMs)) return;
    for (const e of this.entries.values()) e.controller?.abort();
    await this.waitIdle(this.abortWaitMs);
  }

  /** Resolves true once no run is in progress, or false after `ms`. */
  private waitIdle(ms: number): Promise<boolean> {
    if (this.active === 0) return Promise.resolve(true);
    if (!(ms > 0)) return Promise.resolve(false);
    return new Promise<boolean>((resolve) => {
      let timer: TimerHandle | null = null;
      const wake = (): void => {
        this.idleWaiters.delete(wake);
        timer?.cancel();
        resolve(true);
      };
      this.idleWaiters.add(wake);
      if (Number.isFinite(ms)) {
        timer = this.clock.setTimer(Math.min(ms, MAX_TIMER_MS), () => {
          this.idleWaiters.delete(wake);
          resolve(false);
        });
      }
    });
  }

  private emitSkipped(key: string): void {
    try {
      this.hooks.onSkipped?.(key);
    } catch (err) {
      this.emitError(key, err);
    }
  }

  private emitLag(key: string, seconds: number): void {
    try {
      this.hooks.onLag?.(key, seconds);
    } catch (err) {
      this.emitError(key, err);
    }
  }

  private emitError(key: string, error: unknown): void {
    try {
      this.hooks.onError?.(key, error);
    } catch {
      // an error hook that throws has nowhere left to report to; the scheduler must go on
    }
  }
}

/** Validates a job set up front, so replace() either applies all of it or none. */
function checkJobs(jobs: Iterable<Job>): Map<string, Job> {
  const byKey = new Map<string, Job>();
  for (const job of jobs) {
    if (typeof job.key !== 'string') throw new TypeError(`job key must be a string, got ${typeof job.key}`);
    if (byKey.has(job.key)) throw new Error(`duplicate job key "${job.key}"`);
    if (!(job.intervalMs >= 1) || !Number.isFinite(job.intervalMs)) {
      throw new RangeError(`job "${job.key}": interval must be a finite number of milliseconds >= 1, got ${job.intervalMs}`);
    }
    if (typeof job.run !== 'function') throw new TypeError(`job "${job.key}": run is not a function`);
    byKey.set(job.key, job);
  }
  return byKey;
}
