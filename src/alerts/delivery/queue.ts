/**
 * The delivery queue: what the alert state machine hands notifications to, and never waits on.
 *
 * One bounded queue and one worker per receiver (worker.ts, bound.ts); this facade routes notifications to them,
 * reports what is pending for the state file, and flushes or stops them all. A reload `replace`s the receivers in
 * place: a worker is kept per receiver name (its queue, backoff and rate window survive), and a receiver that is
 * gone keeps its worker until what it holds is delivered.
 *
 * Every timer goes through the injected Clock. Delivery is at least once: a request that timed out, or a crash
 * between the receiver's answer and the state save that follows it (`persist`), may deliver a notification twice;
 * nothing is lost while queued.
 */
import type { Clock } from '../../core/clock.js';
import type { Notification } from '../types.js';
import { DEFAULT_BACKOFF } from './backoff.js';
import { errorText } from './error-text.js';
import { createDeliveryMetrics } from './metrics.js';
import { toTarget } from './target.js';
import type { AlertsLogger, DeliveryMetrics, DeliveryQueueOptions, DeliveryReceiver, ReceiverStats } from './types.js';
import { Worker, type WorkerSettings } from './worker.js';

const DEFAULT_MAX_QUEUE = 1000;
const DEFAULT_MAX_PER_MINUTE = 60;
const DEFAULT_MAX_RETRY_AFTER_MS = 3_600_000;

/** Per-receiver durable delivery queues. See worker.ts and bound.ts for the rules. */
export class DeliveryQueue {
  private readonly workers = new Map<string, Worker>();
  private readonly clock: Clock;
  private readonly logger: AlertsLogger | undefined;
  private readonly metrics: DeliveryMetrics | undefined;
  private readonly onChange: (() => void) | undefined;
  private readonly idleListeners = new Set<() => void>();
  private readonly settings: WorkerSettings;

  constructor(options: DeliveryQueueOptions) {
    const maxQueue = options.maxQueue ?? DEFAULT_MAX_QUEUE;
    const maxPerMinute = options.maxPerMinute ?? DEFAULT_MAX_PER_MINUTE;
    if (!Number.isInteger(maxQueue) || maxQueue < 1) throw new RangeError(`maxQueue must be an integer >= 1, got ${maxQueue}`);
    if (!Number.isInteger(maxPerMinute) || maxPerMinute < 1) {
      throw new RangeError(`maxPerMinute must be an integer >= 1, got ${maxPerMinute}`);
    }
    this.clock = options.clock;
    this.logger = options.logger;
    this.metrics = options.metrics ?? (options.registry ? createDeliveryMetrics(options.registry) : undefined);
    this.onChange = options.onChange;
    this.settings = {
      clock: options.clock,
      send: options.send,
      dispatcher: options.dispatcher,
      externalUrl: options.externalUrl,
      maxQueue,
      maxPerMinute,
      backoff: { ...DEFAULT_BACKOFF, ...options.backoff },
      maxRetryAfterMs: options.maxRetryAfterMs ?? DEFAULT_MAX_RETRY_AFTER_MS,
      groupWaitMs: options.groupWaitMs ?? 0,
      random: options.random ?? Math.random,
      logger: options.logger,
      metrics: this.metrics,
      onEvent: options.onEvent,
      changed: (receiver, queued) => this.changed(receiver, queued),
      persist: options.persist,
      retired: (name) => this.drop(name),
    };
    this.replace(options.receivers);
  }

  /**
   * The receivers of a (re)loaded config. A receiver of the same name keeps its worker with the new settings: its
   * queue, backoff and rate window go on. A new one gets a worker. One no longer configured is retired: it still
   * takes notifications until `dropRetired()` (the owed resolves of a reload), delivers what it holds, then is gone.
   */
  replace(receivers: readonly DeliveryReceiver[]): void {
    const names = new Set<string>();
    for (const r of receivers) {
      if (names.has(r.name)) throw new RangeError(`receiver "${r.name}" given twice`);
      names.add(r.name);
      const w = this.workers.get(r.name);
      if (w) w.retarget(toTarget(r));
      else this.workers.set(r.name, new Worker(toTarget(r), this.settings));
    }
    for (const [name, w] of this.workers) if (!names.has(name)) w.retire();
    this.metrics?.receivers([...this.workers.keys()]);
  }

  /** Retired receivers with nothing left to deliver are dropped now (the others once they have delivered it). */
  dropRetired(): void {
    for (const w of [...this.workers.values()]) if (w.retiring && w.idle) this.drop(w.name);
  }

  /**
   * Queues a notification for its receiver and returns at once. False when it is not queued: an unknown
   * receiver, a kind the receiver does not take, an id already queued or lately delivered, or a full queue
   * with nothing older to drop in its place (counted `dropped`).
   */
  enqueue(n: Notification): boolean {
    const w = this.workers.get(n.receiver);
    if (!w) {
      this.logger?.warn({ receiver: n.receiver, id: n.id, alert: n.alert, target: n.target }, 'notification for an unknown receiver; not queued');
      return false;
    }
    if (!w.accepts(n.kind)) return false;
    return w.add(n);
  }

  /** Everything not yet delivered (in flight included), per receiver in order: for the state file. */
  pending(): Notification[] {
    return [...this.workers.values()].flatMap((w) => w.pending());
  }

  /** Queues what a previous process left pending (same rules as enqueue). Returns how many were queued. */
  restore(list: readonly Notification[]): number {
    let queued = 0;
    for (const n of list) if (this.enqueue(n)) queued++;
    return queued;
  }

  stats(): ReceiverStats[] {
    return [...this.workers.values()].map((w) => ({ receiver: w.name, queued: w.queued, inFlight: w.inFlightCount, failures: w.failures }));
  }

  /**
   * Tries to deliver what is pending now (backoff waits cut short; the rate cap holds), for at most `timeoutMs`.
   * Resolves with the number of notifications still pending.
   */
  async flush(timeoutMs: number): Promise<number> {
    if (this.size() === 0) return 0;
    for (const w of this.workers.values()) w.hurry();
    await new Promise<void>((resolve) => {
      const finish = (): void => {
        timer.cancel();
        this.idleListeners.delete(check);
        resolve();
      };
      const check = (): void => {
        if (this.size() === 0) finish();
      };
      const timer = this.clock.setTimer(timeoutMs, finish);
      this.idleListeners.add(check);
    });
    return this.size();
  }

  /** Stops every worker (in-flight requests are aborted); what is pending stays, for the state file. */
  async stop(): Promise<void> {
    await Promise.all([...this.workers.values()].map((w) => w.stop()));
  }

  private drop(name: string): void {
    if (!this.workers.get(name)?.retiring) return;
    this.workers.delete(name);
    this.metrics?.receivers([...this.workers.keys()]);
    this.logger?.info({ receiver: name }, 'receiver removed from the config: its notifications are delivered, it is gone');
  }

  private size(): number {
    let k = 0;
    for (const w of this.workers.values()) k += w.queued;
    return k;
  }

  private changed(receiver: string, queued: number): void {
    this.metrics?.queueLength(receiver, queued);
    try {
      this.onChange?.();
    } catch (e) {
      this.logger?.error({ err: errorText(e) }, 'delivery onChange hook failed');
    }
    for (const check of [...this.idleListeners]) check();
  }
}
