import { existsSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { fileURLToPath } from 'node:url';
import { Worker } from 'node:worker_threads';
import type { Clock, TimerHandle } from '../core/clock.js';
import { bounded } from '../core/deadline.js';
import { ProbeError } from '../core/errors.js';
import type { CheckPlan } from '../core/plan.js';
import { failedBeforeSession, type CheckResult } from '../core/result.js';
import type { Logger } from '../log.js';
import { DEFAULTS } from '../plan/defaults.js';
import { sha256 } from '../scheduler/hash.js';
import type { FromWorker, ToWorker, TrackerTotals, WorkerSetup } from './protocol.js';

/**
 * The worker pool (`global.workers` > 1): runs execute in worker threads (worker.ts), so TLS handshakes and SMTP
 * parsing use every core; this thread keeps the scheduler, HTTP, metrics and alerts and receives result records.
 * A scheduled target always runs on the same worker (sha256 of its name), which keeps its round-trip tracker;
 * /probe takes the least busy worker. A run always ends with a result: its own, or an `internal` failure when its
 * worker dies (the worker is replaced) or does not answer in time (a watchdog per run).
 */

/** The worker's entry beside this file: dist/src/pool/worker.js, or dist/bundle/worker.js beside the bundled CLI. */
export const WORKER_URL = new URL('./worker.js', import.meta.url);

/** Past a run's own limits (timeout, round-trip timeout, one phase timeout), how long before its watchdog ends it. */
const WATCHDOG_MARGIN_MS = 5000;
/** After a watchdog fired: a worker that does not answer a ping within this is stuck, and is replaced. */
const PING_TIMEOUT_MS = 2000;

/**
 * `global.workers` → threads: `auto` is the machine's cores (os.availableParallelism()) less one for the main thread
 * (scheduler, HTTP, metrics), at least 1, at most DEFAULTS.maxAutoWorkers. So on 2 cores `auto` runs in-thread: there,
 * two workers measured slower than one thread (bench/README.md, section 2: the mail server shares the cores).
 */
export function poolSize(setting: 'auto' | number, cores: number = availableParallelism()): number {
  return setting === 'auto' ? Math.max(1, Math.min(cores - 1, DEFAULTS.maxAutoWorkers)) : setting;
}

export interface PoolOptions {
  /** Worker threads (>= 1). */
  size: number;
  /** For the watchdogs (the workers themselves run on the system clock). */
  clock: Clock;
  logger: Logger;
  /** The worker entry (tests: the built dist/src/pool/worker.js); default WORKER_URL. */
  workerUrl?: URL;
  /** Default WATCHDOG_MARGIN_MS. */
  watchdogMarginMs?: number;
  /** Default PING_TIMEOUT_MS. */
  pingTimeoutMs?: number;
  /** Workers honour `test` messages (tests only: see `testHook`). */
  testHooks?: boolean;
}

/** One scheduled run's results and, for a round-trip target, its late/never counts (for RunMetrics.recordRun). */
export interface TargetRun {
  results: CheckResult[];
  totals: TrackerTotals | undefined;
}

type Outcome = { results: CheckResult[]; totals: TrackerTotals | null } | { lost: string };

/** One place in the pool: its worker (replaced when it dies) and the runs it holds. */
interface Slot {
  index: number;
  worker: Worker | null;
  threadId: number;
  /** It said `ready`: when it dies it is replaced at once; one that dies before that, at its next run (no loop). */
  ready: boolean;
  /** Why it is ending (an `error` event comes before `exit`). */
  lastError: string | null;
  /** Runs in flight, by id: settling one ends it. */
  pending: Map<number, (o: Outcome) => void>;
  /** The plan id of each target this worker holds a plan (and tracker) of. */
  known: Map<string, number>;
  pings: Map<number, TimerHandle>;
}

export class WorkerPool {
  private readonly slots: Slot[];
  private readonly url: URL;
  private readonly marginMs: number;
  private readonly pingMs: number;
  private nextId = 1;
  private nextPlanId = 1;
  private readonly planIds = new WeakMap<CheckPlan, number>();
  private roundRobin = 0;
  private stopping = false;
  private idleWaiters: (() => void)[] = [];

  constructor(private readonly opts: PoolOptions) {
    this.url = opts.workerUrl ?? WORKER_URL;
    this.marginMs = opts.watchdogMarginMs ?? WATCHDOG_MARGIN_MS;
    this.pingMs = opts.pingTimeoutMs ?? PING_TIMEOUT_MS;
    const file = fileURLToPath(this.url);
    if (!existsSync(file)) throw new Error(`the worker pool's thread entry ${file} is missing (npm run build makes it)`);
    this.slots = Array.from({ length: Math.max(1, opts.size) }, (_, index) => ({
      index, worker: null, threadId: -1, ready: false, lastError: null, pending: new Map(), known: new Map(), pings: new Map(),
    }));
    for (const s of this.slots) this.spawn(s);
  }

  get size(): number {
    return this.slots.length;
  }

  /** Worker threads alive (0 once stopped). */
  threads(): number {
    return this.slots.filter((s) => s.worker !== null).length;
  }

  /** The thread id of each worker (-1: none running): a replaced worker has a new one. */
  threadIds(): number[] {
    return this.slots.map((s) => (s.worker ? s.threadId : -1));
  }

  /** Runs in flight on each worker. */
  busy(): number[] {
    return this.slots.map((s) => s.pending.size);
  }

  /** The worker a scheduled target runs on: fixed by its name while the pool's size stays. */
  slotOf(target: string): number {
    return sha256(`worker:${target}`).readUInt32BE(0) % this.slots.length;
  }

  /** One scheduled run of a configured target (`runTarget`), on its own worker. */
  async runTarget(name: string, plan: CheckPlan, signal: AbortSignal): Promise<TargetRun> {
    const slot = this.slots[this.slotOf(name)]!;
    const planId = this.planIdOf(plan);
    const started = this.startTimes();
    const outcome = await this.dispatch(slot, plan, signal, (id) => {
      const held = slot.known.get(name);
      slot.known.set(name, planId);
      return { type: 'target', id, target: name, planId, plan: held === planId ? null : plan };
    });
    // A lost run says nothing of the round trip: its counts stay as the last run left them.
    if ('lost' in outcome) return { results: [lostResult(plan, outcome.lost, started, this.opts.clock)], totals: undefined };
    return { results: outcome.results, totals: outcome.totals ?? undefined };
  }

  /** One /probe run (`runCheck` with the plan's DNS), on the least busy worker. */
  async runCheck(plan: CheckPlan, signal: AbortSignal): Promise<CheckResult> {
    const started = this.startTimes();
    const outcome = await this.dispatch(this.leastBusy(), plan, signal, (id) => ({ type: 'check', id, plan }));
    const result = 'lost' in outcome ? undefined : outcome.results[0];
    return result ?? lostResult(plan, 'lost' in outcome ? outcome.lost : 'the worker sent no result', started, this.opts.clock);
  }

  /** Targets no longer configured: every worker drops their plans and trackers. */
  forget(targets: readonly string[]): void {
    if (targets.length === 0) return;
    for (const t of targets) for (const s of this.slots) s.known.delete(t);
    for (const s of this.slots) s.worker?.postMessage({ type: 'forget', targets: [...targets] } satisfies ToWorker);
  }

  /**
   * Take no more runs, let those in flight finish within `settleMs`, then end the threads: a run still held ends as
   * an `internal` failure. Resolves once every thread has exited.
   */
  async stop(settleMs: number): Promise<void> {
    this.stopping = true;
    if (this.inFlight() > 0) {
      const idle = new Promise<void>((resolve) => this.idleWaiters.push(resolve));
      await bounded(idle, settleMs, undefined, this.opts.clock, () => undefined);
    }
    await Promise.all(
      this.slots.map(async (s) => {
        const w = s.worker;
        if (!w) return;
        s.lastError = 'the worker pool stopped';
        await w.terminate();
        this.onExit(s, w, 0);
      }),
    );
  }

  /** Tests: make worker `index` exit, throw an uncaught exception, or hold its event loop for `ms`. */
  testHook(index: number, action: 'throw' | 'exit' | 'hang', ms = 0): void {
    this.slots[index]?.worker?.postMessage({ type: 'test', action, ms } satisfies ToWorker);
  }

  /** Tests: end worker `index` from outside, as `worker.terminate()` does. */
  async terminate(index: number): Promise<void> {
    await this.slots[index]?.worker?.terminate();
  }

  private inFlight(): number {
    return this.slots.reduce((n, s) => n + s.pending.size, 0);
  }

  private startTimes(): { wall: number; at: number } {
    return { wall: this.opts.clock.wallNow(), at: this.opts.clock.now() };
  }

  /** Plans are sent to a worker once per target and kept there; a reload makes new plan objects, so new ids. */
  private planIdOf(plan: CheckPlan): number {
    let id = this.planIds.get(plan);
    if (id === undefined) this.planIds.set(plan, (id = this.nextPlanId++));
    return id;
  }

  private leastBusy(): Slot {
    const n = this.slots.length;
    let best = this.slots[this.roundRobin % n]!;
    for (let i = 1; i < n; i += 1) {
      const s = this.slots[(this.roundRobin + i) % n]!;
      if (s.pending.size < best.pending.size) best = s;
    }
    this.roundRobin = (this.roundRobin + 1) % n;
    return best;
  }

  /**
   * Post a run to a slot's worker (started now if the slot has none) and wait for its outcome: the worker's answer,
   * or `lost` when the worker dies, the watchdog fires or the pool is stopping. `signal` aborting is passed on.
   */
  private dispatch(slot: Slot, plan: CheckPlan, signal: AbortSignal, message: (id: number) => ToWorker): Promise<Outcome> {
    if (this.stopping) return Promise.resolve({ lost: 'the worker pool is stopping' });
    const id = this.nextId++;
    const limitMs = plan.timeoutMs + (plan.roundtrip?.timeoutMs ?? 0) + plan.phaseTimeoutMs + this.marginMs;
    return new Promise<Outcome>((resolve) => {
      const onAbort = (): void => slot.worker?.postMessage({ type: 'abort', id } satisfies ToWorker);
      const watchdog = this.opts.clock.setTimer(limitMs, () => this.watchdogFired(slot, id, limitMs));
      slot.pending.set(id, (o) => {
        watchdog.cancel();
        signal.removeEventListener('abort', onAbort);
        slot.pending.delete(id);
        resolve(o);
        if (this.inFlight() === 0) for (const w of this.idleWaiters.splice(0)) w();
      });
      try {
        (slot.worker ?? this.spawn(slot)).postMessage(message(id));
      } catch (e) {
        slot.known.clear(); // what it was said to hold may not have reached it
        slot.pending.get(id)?.({ lost: `worker ${slot.index}: the run could not be handed over: ${String((e as Error).message ?? e)}` });
        return;
      }
      if (signal.aborted) onAbort();
      else signal.addEventListener('abort', onAbort, { once: true });
    });
  }

  private spawn(slot: Slot): Worker {
    const setup: WorkerSetup = { index: slot.index, testHooks: this.opts.testHooks ?? false };
    const w = new Worker(this.url, { workerData: setup });
    Object.assign(slot, { worker: w, threadId: w.threadId, ready: false, lastError: null });
    slot.known.clear();
    w.on('message', (m: FromWorker) => this.onMessage(slot, w, m));
    w.on('error', (e: Error) => {
      if (slot.worker === w) slot.lastError = String(e?.message ?? e);
    });
    w.on('exit', (code) => this.onExit(slot, w, code));
    return w;
  }

  private onMessage(slot: Slot, w: Worker, m: FromWorker): void {
    if (slot.worker !== w) return;
    if (m.type === 'ready') slot.ready = true;
    else if (m.type === 'done') slot.pending.get(m.id)?.({ results: m.results, totals: m.totals });
    else if (m.type === 'failed') slot.pending.get(m.id)?.({ lost: `worker ${slot.index}: ${m.message}` });
    else if (m.type === 'pong') {
      slot.pings.get(m.id)?.cancel();
      slot.pings.delete(m.id);
    }
  }

  /** A worker ended (crash, exit, terminate): its runs end as `internal` failures; it is replaced unless stopping. */
  private onExit(slot: Slot, w: Worker, code: number): void {
    if (slot.worker !== w) return;
    const why = slot.lastError ?? `the thread exited with code ${code}`;
    slot.worker = null;
    slot.known.clear();
    for (const t of slot.pings.values()) t.cancel();
    slot.pings.clear();
    const held = [...slot.pending.values()];
    for (const settle of held) settle({ lost: `worker ${slot.index} (thread ${slot.threadId}) ended during the run: ${why}` });
    if (this.stopping) return;
    this.opts.logger.error(
      { worker: slot.index, thread: slot.threadId, reason: why, runs: held.length },
      'worker thread ended: its runs end as internal failures and a new thread takes its place',
    );
    if (slot.ready) this.spawn(slot);
  }

  /** A run past its limits: it ends now as `internal`; the worker is asked to abort it and pinged (stuck: replaced). */
  private watchdogFired(slot: Slot, id: number, limitMs: number): void {
    const settle = slot.pending.get(id);
    const w = slot.worker;
    if (!settle) return;
    settle({ lost: `worker ${slot.index} (thread ${slot.threadId}) did not answer within ${limitMs} ms` });
    if (!w) return;
    this.opts.logger.warn({ worker: slot.index, thread: slot.threadId, limitMs }, 'a run on a worker thread did not end in time: it ends as an internal failure');
    w.postMessage({ type: 'abort', id } satisfies ToWorker);
    const ping = this.nextId++;
    slot.pings.set(ping, this.opts.clock.setTimer(this.pingMs, () => {
      slot.pings.delete(ping);
      if (slot.worker !== w) return;
      slot.lastError = `no answer to a ping within ${this.pingMs} ms: the thread is stuck`;
      void w.terminate();
    }));
    w.postMessage({ type: 'ping', id: ping } satisfies ToWorker);
  }
}

/** The record of a run its worker never answered for: failed at `connect` (nothing is known past the start), reason `internal`. */
function lostResult(plan: CheckPlan, message: string, started: { wall: number; at: number }, clock: Clock): CheckResult {
  const durationMs = Math.round((clock.now() - started.at) * 1000) / 1000;
  return failedBeforeSession(plan, new Date(started.wall).toISOString(), durationMs, new ProbeError('internal', 'connect', message).toFailure());
}
