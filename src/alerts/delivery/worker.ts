/**
 * One receiver's worker: it holds the receiver's bounded queue (bound.ts) and sends what is in it, in order.
 *
 * It takes up to `maxBatch` notifications from the head, builds the receiver's requests (next-request.ts), sends
 * the first one with the receiver's timeout (send-once.ts), and loops. A retryable failure keeps everything queued
 * and waits max(backoff with jitter, Retry-After) before trying the head again, so a receiver that is down for a
 * while gets every notification once it is back, in order. A refusal (4xx other than 408/429) removes what the
 * request carried and is counted `failed`.
 *
 * Storms: notifications queued in the same tick (or within `groupWaitMs`) go out grouped, up to the module's
 * `maxBatch` per request, and each receiver gets at most `maxPerMinute` requests in any rolling minute
 * (rate-window.ts); the excess waits in the queue, it is not dropped. Every wait is a Sleeper's, on the injected Clock.
 *
 * A worker lives as long as its receiver's name is configured: a reload gives it the receiver's new settings
 * (`retarget`) and keeps its queue, its backoff and its rate window, so reloading cannot reset the pacing. A
 * receiver that a reload removes is `retire`d: it delivers what it holds (owed resolves among it), then is dropped.
 *
 * A delivery counts as done (`sent`) only after `persist` has saved the state without it, so a crash right after a
 * delivery does not send it again on restart (Alertmanager re-posts, which are idempotent, skip that save).
 */
import type { PreparedRequest, SendOutcome } from '../providers/provider.js';
import type { Notification } from '../types.js';
import { backoffDelay, isRetryable } from './backoff.js';
import { BoundedQueue, type BoundSettings, type Entry } from './bound.js';
import { errorText } from './error-text.js';
import { nextRequest, type RequestSettings } from './next-request.js';
import { RateWindow } from './rate-window.js';
import { sendOnce, type SendContext } from './send-once.js';
import { Sleeper, type WaitKind } from './sleeper.js';
import type { Target } from './target.js';
import type { BackoffPolicy } from './types.js';

/** What every worker shares: settings and the delivery queue's change callback. */
export interface WorkerSettings extends BoundSettings, RequestSettings, SendContext {
  /** Saves the state durably; awaited after a delivery before it counts as sent. Rejects if it could not. */
  persist: (() => Promise<void>) | undefined;
  /** A retired worker has delivered everything it held. */
  retired(name: string): void;
  maxPerMinute: number;
  backoff: BackoffPolicy;
  maxRetryAfterMs: number;
  groupWaitMs: number;
  random: () => number;
}

export class Worker {
  readonly name: string;
  failures = 0;
  /** Its receiver is gone from the config: it delivers what it holds, then is dropped. */
  retiring = false;
  private readonly queue: BoundedQueue;
  private readonly rate: RateWindow;
  private readonly sleeper: Sleeper;
  private loopPromise: Promise<void> | null = null;
  private controller: AbortController | null = null;
  private stopped = false;

  constructor(
    private target: Target,
    private readonly s: WorkerSettings,
  ) {
    this.name = target.name;
    this.queue = new BoundedQueue(target.name, s);
    this.rate = new RateWindow(s.maxPerMinute);
    this.sleeper = new Sleeper(s.clock);
  }

  /** The receiver's settings after a reload; the queue, the backoff and the rate window stay. */
  retarget(target: Target): void {
    this.target = target;
    this.retiring = false;
  }

  /** The receiver left the config: deliver what is queued, then report `retired`. */
  retire(): void {
    this.retiring = true;
  }

  /** Nothing queued and no send loop running. */
  get idle(): boolean {
    return this.loopPromise === null && this.queued === 0;
  }

  accepts(kind: Notification['kind']): boolean {
    return this.target.accepts(kind);
  }

  /** Queues `n` (dedupe, supersede, bound). False: a duplicate, or dropped at once by the bound. */
  add(n: Notification): boolean {
    const admission = this.queue.add(n);
    if (admission === 'duplicate') return false;
    this.kick();
    return admission === 'queued';
  }

  /** Everything not yet delivered, in flight included, oldest first. */
  pending(): Notification[] {
    return this.queue.entries.map((e) => e.n);
  }

  get queued(): number {
    return this.queue.entries.length;
  }

  get inFlightCount(): number {
    return this.queue.inFlightCount;
  }

  /** Skip a group or backoff wait and try now (the rate cap still holds). */
  hurry(): void {
    this.sleeper.wake('rate');
    this.kick();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    this.sleeper.wake();
    this.controller?.abort(new Error('delivery stopped'));
    await this.loopPromise;
  }

  private kick(): void {
    if (this.stopped || this.loopPromise || this.queued === 0) return;
    this.loopPromise = this.loop()
      .catch((e: unknown) => this.s.logger?.error({ receiver: this.name, err: errorText(e) }, 'delivery worker failed'))
      .finally(() => {
        this.loopPromise = null;
        this.kick();
        if (this.retiring && !this.stopped && this.idle) this.s.retired(this.name);
      });
  }

  private async loop(): Promise<void> {
    await this.sleep('group', this.s.groupWaitMs);
    while (!this.stopped && this.queued > 0) {
      const rateWait = this.rate.wait(this.s.clock.now());
      if (rateWait > 0) {
        await this.sleep('rate', rateWait);
        continue;
      }
      const req = nextRequest(this.queue, this.target, this.s);
      if (!req) continue;
      this.rate.record(this.s.clock.now());
      const carried = this.queue.lookup(req.ids);
      for (const e of carried) e.inFlight = true;
      let outcome: SendOutcome;
      try {
        outcome = await this.attempt(req);
      } finally {
        for (const e of carried) e.inFlight = false;
      }
      if (outcome.ok) {
        await this.acknowledge(req, carried, outcome.status);
        continue;
      }
      if (this.stopped) return; // aborted by stop(): everything stays pending for the state file
      const delay = this.settle(req, carried, outcome);
      if (delay > 0) await this.sleep('backoff', delay);
    }
  }

  /** Sends `req` with the receiver's timeout; stop() aborts it through the controller held meanwhile. Never rejects. */
  private async attempt(req: PreparedRequest): Promise<SendOutcome> {
    const controller = new AbortController();
    this.controller = controller;
    try {
      return await sendOnce(req, this.target.timeoutMs, controller, this.s);
    } finally {
      if (this.controller === controller) this.controller = null;
    }
  }

  /**
   * Delivered: out of the queue, the state saved without it (so a restart cannot send it again), then counted.
   * A failed save is logged and delivery goes on (at least once: a restart may then send it again).
   */
  private async acknowledge(req: PreparedRequest, carried: Entry[], status: number | null): Promise<void> {
    const n = carried.length;
    this.failures = 0;
    this.queue.removeDelivered(carried);
    if (this.s.persist && carried.some((e) => e.n.kind !== 'refresh')) {
      try {
        await this.s.persist();
      } catch (e) {
        const ids = carried.map((c) => c.n.id);
        this.s.logger?.error({ receiver: this.name, ids, err: errorText(e) }, 'cannot save the state file after a delivery; a restart may send these again');
      }
    }
    this.s.metrics?.count(this.name, 'sent', n);
    this.s.logger?.debug({ receiver: this.name, request: req.describe, status, notifications: n }, 'notifications delivered');
    for (const e of carried) this.s.onEvent?.({ event: 'delivered', notification: e.n, detail: `${e.n.kind} sent${status === null ? '' : ` (HTTP ${status})`}` });
  }

  /** Applies a failed attempt to what the request carried; returns how long to wait before the next attempt. */
  private settle(req: PreparedRequest, carried: Entry[], outcome: Extract<SendOutcome, { ok: false }>): number {
    const n = carried.length;
    const detail = { receiver: this.name, request: req.describe, status: outcome.status, error: outcome.error, ids: carried.map((e) => e.n.id) };
    const why = outcome.error; // the request's describe and what went wrong: no URL path, no secret (providers/*)
    if (!isRetryable(outcome)) {
      this.failures = 0;
      this.queue.remove(carried);
      this.s.metrics?.count(this.name, 'failed', n);
      this.s.logger?.error(detail, 'receiver refused the notifications; not retried');
      this.failed(carried, `refused (${why}); not retried`);
      return 0;
    }
    this.failures++;
    this.s.metrics?.count(this.name, 'retried', n);
    const backoff = backoffDelay(this.failures, this.s.backoff, this.s.random);
    const retryAfter = outcome.retryAfterMs === null ? 0 : Math.min(outcome.retryAfterMs, this.s.maxRetryAfterMs);
    const delay = Math.max(backoff, retryAfter, 1);
    this.s.logger?.warn({ ...detail, attempt: this.failures, retryInMs: delay }, 'notification delivery failed; will retry');
    this.failed(carried, `${why}; attempt ${this.failures}, next in ${(delay / 1000).toFixed(1)} s`);
    return delay;
  }

  private failed(carried: readonly Entry[], detail: string): void {
    for (const e of carried) this.s.onEvent?.({ event: 'delivery_failed', notification: e.n, detail: `${e.n.kind}: ${detail}` });
  }

  /** Waits on the Clock; stop() and flush() end the wait early. */
  private sleep(kind: WaitKind, ms: number): Promise<void> {
    return this.stopped ? Promise.resolve() : this.sleeper.sleep(kind, ms);
  }
}
