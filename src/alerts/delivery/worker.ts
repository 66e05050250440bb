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
  maxPerMinute: number;
  backoff: BackoffPolicy;
  maxRetryAfterMs: number;
  groupWaitMs: number;
  random: () => number;
}

export class Worker {
  readonly name: string;
  failures = 0;
  private readonly queue: BoundedQueue;
  private readonly rate: RateWindow;
  private readonly sleeper: Sleeper;
  private loopPromise: Promise<void> | null = null;
  private controller: AbortController | null = null;
  private stopped = false;

  constructor(
    private readonly target: Target,
    private readonly s: WorkerSettings,
  ) {
    this.name = target.name;
    this.queue = new BoundedQueue(target.name, s);
    this.rate = new RateWindow(s.maxPerMinute);
    this.sleeper = new Sleeper(s.clock);
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
      if (this.stopped && !outcome.ok) return; // aborted by stop(): everything stays pending for the state file
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

  /** Applies an outcome to what the request carried; returns how long to wait before the next attempt. */
  private settle(req: PreparedRequest, carried: Entry[], outcome: SendOutcome): number {
    const n = carried.length;
    if (outcome.ok) {
      this.failures = 0;
      this.queue.removeDelivered(carried);
      this.s.metrics?.count(this.name, 'sent', n);
      this.s.logger?.debug({ receiver: this.name, request: req.describe, status: outcome.status, notifications: n }, 'notifications delivered');
      return 0;
    }
    const detail = { receiver: this.name, request: req.describe, status: outcome.status, error: outcome.error, ids: carried.map((e) => e.n.id) };
    if (!isRetryable(outcome)) {
      this.failures = 0;
      this.queue.remove(carried);
      this.s.metrics?.count(this.name, 'failed', n);
      this.s.logger?.error(detail, 'receiver refused the notifications; not retried');
      return 0;
    }
    this.failures++;
    this.s.metrics?.count(this.name, 'retried', n);
    const backoff = backoffDelay(this.failures, this.s.backoff, this.s.random);
    const retryAfter = outcome.retryAfterMs === null ? 0 : Math.min(outcome.retryAfterMs, this.s.maxRetryAfterMs);
    const delay = Math.max(backoff, retryAfter, 1);
    this.s.logger?.warn({ ...detail, attempt: this.failures, retryInMs: delay }, 'notification delivery failed; will retry');
    return delay;
  }

  /** Waits on the Clock; stop() and flush() end the wait early. */
  private sleep(kind: WaitKind, ms: number): Promise<void> {
    return this.stopped ? Promise.resolve() : this.sleeper.sleep(kind, ms);
  }
}
