/**
 * The delivery queue: what the alert state machine hands notifications to, and never waits on (STYLE.md rule 9).
 *
 * One queue and one worker per receiver. The worker sends in order: it takes up to `maxBatch` notifications from
 * the head, builds the receiver's requests (pure, providers/*), sends the first one with the receiver's timeout,
 * and loops. A retryable failure keeps everything queued and waits max(backoff with jitter, Retry-After) before
 * trying the head again, so a receiver that is down for a while gets every notification once it is back, in
 * order. A refusal (4xx other than 408/429) removes what the request carried and is counted `failed`.
 *
 * Bounded: at most `maxQueue` notifications per receiver. Overflow drops the oldest `refresh`, then the oldest
 * `reminder`, then the oldest `firing` already followed by a newer notification of the same alert, then the
 * oldest `firing`; never a `resolved` (resolves may take the queue past the bound).
 *
 * Stale notifications are superseded (removed, counted `superseded`) while still queued and not in flight:
 *   - a `resolved` supersedes the queued `reminder`s and `refresh`es of the same alert and target;
 *   - a `reminder` supersedes an older queued `reminder`, a `refresh` an older queued `refresh`, of the same alert.
 * A queued `firing` is never superseded by its `resolved`: a receiver sees the firing, then the resolve, in that
 * order (Slack and webhook readers would otherwise get a resolve for something they never saw, and PagerDuty
 * would have no incident to resolve). Both may travel in the same grouped request, in that order.
 *
 * Storms: notifications queued in the same tick (or within `groupWaitMs`) go out grouped, up to the module's
 * `maxBatch` per request, and each receiver gets at most `maxPerMinute` requests in any rolling minute; the
 * excess waits in the queue, it is not dropped.
 *
 * Every timer goes through the injected Clock. Delivery is at least once: a request that timed out, or a crash
 * between a send and the next state-file save, may deliver a notification twice; nothing is lost while queued.
 */
import type { Dispatcher } from 'undici';
import { Counter, Gauge, type Registry } from 'prom-client';
import type { Clock, TimerHandle } from '../core/clock.js';
import type { BuildContext, PreparedRequest, ReceiverModule, SendOptions, SendOutcome } from './providers/provider.js';
import type { Notification } from './types.js';

/** `sendRequest` from alerts/http.ts, or a fake in tests. Should not reject; a rejection counts as a retryable failure. */
export type SendFn = (req: PreparedRequest, opts: SendOptions) => Promise<SendOutcome>;

/** A receiver as a module plus its validated options. */
export interface ModuleReceiver {
  name: string;
  // The module is type-erased: one list holds receivers of every type, each with its own options.
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  module: ReceiverModule<any>;
  options: unknown;
  timeoutMs: number;
}

/** A receiver with its options already bound (providers/index.ts `BoundReceiver` has this shape). */
export interface BoundDeliveryReceiver {
  name: string;
  timeoutMs: number;
  maxBatch: number;
  accepts(kind: Notification['kind']): boolean;
  build(batch: readonly Notification[], ctx: BuildContext): PreparedRequest[];
}

export type DeliveryReceiver = ModuleReceiver | BoundDeliveryReceiver;

export interface BackoffPolicy {
  /** Delay after the first failure. Default 1000. */
  baseMs: number;
  /** Growth per further failure. Default 2. */
  factor: number;
  /** Never wait longer than this (after jitter). Default 300000 (5 min). */
  maxMs: number;
  /** `full`: uniform in [0, d]; `half`: uniform in [d/2, 3d/2) (±50%); `none`: d. Default `half`. */
  jitter: 'full' | 'half' | 'none';
}

export const DEFAULT_BACKOFF: Readonly<BackoffPolicy> = { baseMs: 1000, factor: 2, maxMs: 300_000, jitter: 'half' };

/**
 * Outcomes counted in `smtp_probe_notifications_total{receiver,result}`, per notification:
 * `sent` delivered; `retried` one per failed attempt that will be retried; `failed` refused (not retryable) or
 * could not be built, given up; `dropped` queue overflow; `superseded` made stale by a newer notification of the
 * same alert while still queued (see the file comment).
 */
export const DELIVERY_RESULTS = ['sent', 'retried', 'failed', 'dropped', 'superseded'] as const;
export type DeliveryResult = (typeof DELIVERY_RESULTS)[number];

/** A pino logger fits. */
export interface AlertsLogger {
  debug(obj: object, msg: string): void;
  info(obj: object, msg: string): void;
  warn(obj: object, msg: string): void;
  error(obj: object, msg: string): void;
}

/** Where the queue reports its counts; `createDeliveryMetrics(registry)` makes one backed by prom-client. */
export interface DeliveryMetrics {
  count(receiver: string, result: DeliveryResult, n: number): void;
  queueLength(receiver: string, length: number): void;
  /** The receivers now configured: their series start at 0; series of any other receiver are removed. */
  receivers(names: readonly string[]): void;
}

export interface DeliveryQueueOptions {
  clock: Clock;
  receivers: readonly DeliveryReceiver[];
  send: SendFn;
  dispatcher: Dispatcher;
  /** The daemon's own `/` page, for links in payloads. */
  externalUrl: string;
  /** Most notifications queued per receiver (resolves excepted). Default 1000. */
  maxQueue?: number;
  /** Most requests per receiver in any rolling minute. Default 60. */
  maxPerMinute?: number;
  backoff?: Partial<BackoffPolicy>;
  /** A Retry-After longer than this is cut to it, so a bad header cannot park a receiver for days. Default 1 h. */
  maxRetryAfterMs?: number;
  /** How long a worker lets notifications gather before it builds a batch. Default 0 (the same tick). */
  groupWaitMs?: number;
  /** Jitter source in [0, 1). Default Math.random. */
  random?: () => number;
  /** The pending set changed (added or removed): persist it (StateStore.scheduleSave). */
  onChange?: () => void;
  logger?: AlertsLogger;
  /**
   * Registers smtp_probe_notifications_total and smtp_probe_notification_queue_length here (reused if already
   * there). For a queue rebuilt on reload, prefer `metrics: createDeliveryMetrics(registry)` made once and passed
   * to every queue: it also removes the series of receivers that are gone.
   */
  registry?: Registry;
  /** Report counts through this (takes precedence over `registry`). */
  metrics?: DeliveryMetrics;
}

export interface ReceiverStats {
  receiver: string;
  queued: number;
  inFlight: number;
  /** Consecutive retryable failures of the head of the queue (0 when the last attempt worked). */
  failures: number;
}

const MINUTE_MS = 60_000;
const DEFAULT_MAX_QUEUE = 1000;
const DEFAULT_MAX_PER_MINUTE = 60;
const DEFAULT_MAX_RETRY_AFTER_MS = 3_600_000;

/** Delay before attempt `failures + 1`, after `failures` (>= 1) consecutive retryable failures. */
export function backoffDelay(failures: number, policy: BackoffPolicy, random: () => number = Math.random): number {
  const raw = Math.min(policy.maxMs, policy.baseMs * policy.factor ** Math.max(0, failures - 1));
  const r = Math.min(Math.max(random(), 0), 1);
  const jittered = policy.jitter === 'full' ? raw * r : policy.jitter === 'half' ? raw * (0.5 + r) : raw;
  return Math.round(Math.min(policy.maxMs, jittered));
}

/**
 * Whether to try again. The sender's verdict, except that a 4xx other than 408 and 429 is never retried (the
 * receiver said the request itself is wrong; sending it again cannot help).
 */
export function isRetryable(outcome: SendOutcome): boolean {
  if (outcome.ok) return false;
  const s = outcome.status;
  if (s !== null && s >= 400 && s < 500 && s !== 408 && s !== 429) return false;
  return outcome.retryable;
}

/** prom-client metrics in `registry` (reused if a previous queue registered them there, e.g. before a reload). */
export function createDeliveryMetrics(registry: Registry): DeliveryMetrics {
  const counter =
    (registry.getSingleMetric('smtp_probe_notifications_total') as Counter<'receiver' | 'result'> | undefined) ??
    new Counter({
      name: 'smtp_probe_notifications_total',
      help: 'Alert notifications by receiver and outcome: sent, retried (per failed attempt that will be retried), failed (refused, given up), dropped (queue overflow), superseded (made stale while queued).',
      labelNames: ['receiver', 'result'] as const,
      registers: [registry],
    });
  const gauge =
    (registry.getSingleMetric('smtp_probe_notification_queue_length') as Gauge<'receiver'> | undefined) ??
    new Gauge({
      name: 'smtp_probe_notification_queue_length',
      help: 'Alert notifications waiting for delivery, per receiver.',
      labelNames: ['receiver'] as const,
      registers: [registry],
    });
  let known = new Set<string>();
  return {
    count: (receiver, result, n) => counter.inc({ receiver, result }, n),
    queueLength: (receiver, length) => gauge.set({ receiver }, length),
    receivers(names) {
      const next = new Set(names);
      for (const old of known) {
        if (next.has(old)) continue;
        gauge.remove({ receiver: old });
        for (const result of DELIVERY_RESULTS) counter.remove({ receiver: old, result });
      }
      for (const receiver of next) {
        if (!known.has(receiver)) gauge.set({ receiver }, 0);
        for (const result of DELIVERY_RESULTS) counter.inc({ receiver, result }, 0);
      }
      known = next;
    },
  };
}

interface Entry {
  readonly n: Notification;
  inFlight: boolean;
}

type WaitKind = 'group' | 'backoff' | 'rate';

/** What every worker shares: settings and the queue's callbacks. */
interface Shared {
  clock: Clock;
  send: SendFn;
  dispatcher: Dispatcher;
  externalUrl: string;
  maxQueue: number;
  maxPerMinute: number;
  backoff: BackoffPolicy;
  maxRetryAfterMs: number;
  groupWaitMs: number;
  random: () => number;
  logger: AlertsLogger | undefined;
  metrics: DeliveryMetrics | undefined;
  changed(receiver: Worker): void;
}

/** A normalised receiver. */
interface Target {
  name: string;
  timeoutMs: number;
  maxBatch: number;
  accepts(kind: Notification['kind']): boolean;
  build(batch: readonly Notification[], ctx: BuildContext): PreparedRequest[];
}

function toTarget(r: DeliveryReceiver): Target {
  if ('module' in r) {
    const { module, options } = r;
    return {
      name: r.name,
      timeoutMs: r.timeoutMs,
      maxBatch: module.maxBatch,
      accepts: (kind) => module.accepts(kind),
      build: (batch, ctx) => module.build(batch, options, ctx),
    };
  }
  return r;
}

const sameAlert = (a: Notification, b: Notification): boolean => a.alert === b.alert && a.target === b.target;
const alertKey = (n: Notification): string => `${n.alert}\u0000${n.target}`;

function errorText(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}

/** Ids delivered lately, so a re-queued copy is not sent twice. Insertion-ordered, oldest evicted. */
class RecentIds {
  private readonly ids = new Set<string>();
  constructor(private readonly limit: number) {}
  has(id: string): boolean {
    return this.ids.has(id);
  }
  add(id: string): void {
    this.ids.add(id);
    if (this.ids.size > this.limit) this.ids.delete(this.ids.values().next().value!);
  }
}

/** One receiver's queue and its worker. */
class Worker {
  readonly name: string;
  entries: Entry[] = [];
  failures = 0;
  private readonly byId = new Map<string, Entry>();
  private readonly delivered: RecentIds;
  /** clock.now() of the requests sent in the last minute, oldest first. */
  private sends: number[] = [];
  private loopPromise: Promise<void> | null = null;
  private wait: { kind: WaitKind; wake: () => void } | null = null;
  private controller: AbortController | null = null;
  private stopped = false;

  constructor(
    private readonly target: Target,
    private readonly s: Shared,
  ) {
    this.name = target.name;
    this.delivered = new RecentIds(Math.max(s.maxQueue, 1000));
  }

  accepts(kind: Notification['kind']): boolean {
    return this.target.accepts(kind);
  }

  /** Queues `n` (dedupe, supersede, bound). False: a duplicate, or dropped at once by the bound. */
  add(n: Notification): boolean {
    if (this.byId.has(n.id) || this.delivered.has(n.id)) {
      this.s.logger?.debug({ receiver: this.name, id: n.id }, 'notification already queued or delivered; skipped');
      return false;
    }
    this.supersede(n);
    const entry: Entry = { n, inFlight: false };
    this.entries.push(entry);
    this.byId.set(n.id, entry);
    this.s.changed(this);
    this.enforceBound();
    this.kick();
    return this.byId.has(n.id); // false if the overflow rule dropped it at once
  }

  get inFlightCount(): number {
    return this.entries.reduce((k, e) => k + (e.inFlight ? 1 : 0), 0);
  }

  /** Skip a group or backoff wait and try now (the rate cap still holds). */
  hurry(): void {
    if (this.wait && this.wait.kind !== 'rate') this.wait.wake();
    this.kick();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    this.wait?.wake();
    this.controller?.abort(new Error('delivery stopped'));
    await this.loopPromise;
  }

  private supersede(n: Notification): void {
    const stale = (e: Entry): boolean => {
      if (e.inFlight || !sameAlert(e.n, n)) return false;
      if (n.kind === 'resolved') return e.n.kind === 'reminder' || e.n.kind === 'refresh';
      if (n.kind === 'reminder' || n.kind === 'refresh') return e.n.kind === n.kind;
      return false;
    };
    const gone = this.entries.filter(stale);
    if (gone.length === 0) return;
    this.remove(gone);
    this.s.metrics?.count(this.name, 'superseded', gone.length);
    this.s.logger?.debug({ receiver: this.name, ids: gone.map((e) => e.n.id), by: n.id }, 'queued notifications superseded');
  }

  private enforceBound(): void {
    while (this.entries.length > this.s.maxQueue) {
      const victim = this.pickVictim();
      if (!victim) {
        this.s.logger?.warn(
          { receiver: this.name, queued: this.entries.length, maxQueue: this.s.maxQueue },
          'notification queue over its bound: only resolves and in-flight notifications left, and resolves are never dropped',
        );
        return;
      }
      this.remove([victim]);
      this.s.metrics?.count(this.name, 'dropped', 1);
      const { id, kind, alert, target } = victim.n;
      this.s.logger?.warn({ receiver: this.name, id, kind, alert, target, maxQueue: this.s.maxQueue }, 'notification queue full; dropped the oldest droppable notification');
    }
  }

  private pickVictim(): Entry | undefined {
    const free = this.entries.filter((e) => !e.inFlight);
    const oldest = (kind: Notification['kind']): Entry | undefined => free.find((e) => e.n.kind === kind);
    const refresh = oldest('refresh') ?? oldest('reminder');
    if (refresh) return refresh;
    const lastIndex = new Map<string, number>();
    this.entries.forEach((e, i) => lastIndex.set(alertKey(e.n), i));
    const followed = this.entries.find((e, i) => !e.inFlight && e.n.kind === 'firing' && lastIndex.get(alertKey(e.n))! > i);
    return followed ?? oldest('firing');
  }

  private remove(gone: readonly Entry[]): void {
    const set = new Set(gone);
    this.entries = this.entries.filter((e) => !set.has(e));
    for (const e of gone) this.byId.delete(e.n.id);
    this.s.changed(this);
  }

  private kick(): void {
    if (this.stopped || this.loopPromise || this.entries.length === 0) return;
    this.loopPromise = this.loop()
      .catch((e: unknown) => this.s.logger?.error({ receiver: this.name, err: errorText(e) }, 'delivery worker failed'))
      .finally(() => {
        this.loopPromise = null;
        this.kick();
      });
  }

  private async loop(): Promise<void> {
    await this.sleep('group', this.s.groupWaitMs);
    while (!this.stopped && this.entries.length > 0) {
      const rateWait = this.rateWait();
      if (rateWait > 0) {
        await this.sleep('rate', rateWait);
        continue;
      }
      const req = this.nextRequest();
      if (!req) continue;
      this.sends.push(this.s.clock.now());
      const carried = req.ids.map((id) => this.byId.get(id)).filter((e): e is Entry => e !== undefined);
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

  /** Milliseconds until another request fits in the rolling minute (0: now). */
  private rateWait(): number {
    const now = this.s.clock.now();
    while (this.sends.length > 0 && this.sends[0]! <= now - MINUTE_MS) this.sends.shift();
    return this.sends.length < this.s.maxPerMinute ? 0 : this.sends[0]! + MINUTE_MS - now;
  }

  /**
   * The first request for the head of the queue. A build that throws is retried with the head alone; if that
   * throws too, the head is given up (`failed`). Notifications the module put in no request are removed.
   */
  private nextRequest(): PreparedRequest | null {
    let batch = this.entries.slice(0, Math.max(1, this.target.maxBatch));
    const ctx: BuildContext = { now: this.s.clock.wallNow(), externalUrl: this.s.externalUrl };
    let built = this.build(batch, ctx);
    if (!built.ok && batch.length > 1) {
      batch = batch.slice(0, 1);
      built = this.build(batch, ctx);
    }
    if (!built.ok) {
      const head = batch[0]!;
      this.remove([head]);
      this.s.metrics?.count(this.name, 'failed', 1);
      const { id, kind, alert, target } = head.n;
      this.s.logger?.error({ receiver: this.name, id, kind, alert, target, err: built.error }, 'could not build the notification request; given up');
      return null;
    }
    const requests = built.requests;
    const queued = (id: string): boolean => batch.some((e) => e.n.id === id);
    const first = requests.find((r) => r.ids.some(queued)) ?? null;
    const covered = new Set(requests.flatMap((r) => r.ids.filter(queued)));
    const left = batch.filter((e) => !covered.has(e.n.id));
    if (left.length > 0) {
      this.remove(left);
      this.s.logger?.debug({ receiver: this.name, ids: left.map((e) => e.n.id) }, 'receiver built no request for these notifications');
    }
    return first;
  }

  private build(batch: readonly Entry[], ctx: BuildContext): { ok: true; requests: PreparedRequest[] } | { ok: false; error: string } {
    try {
      return { ok: true, requests: this.target.build(batch.map((e) => e.n), ctx) };
    } catch (e) {
      return { ok: false, error: errorText(e) };
    }
  }

  /** Sends `req` with the receiver's timeout (on the Clock) and stop() as abort signals. Never rejects. */
  private async attempt(req: PreparedRequest): Promise<SendOutcome> {
    const { timeoutMs } = this.target;
    const controller = new AbortController();
    this.controller = controller;
    const aborted = new Promise<SendOutcome>((resolve) => {
      controller.signal.addEventListener(
        'abort',
        () => resolve({ ok: false, status: null, retryable: true, retryAfterMs: null, error: errorText(controller.signal.reason) }),
        { once: true },
      );
    });
    const timer: TimerHandle = this.s.clock.setTimer(timeoutMs, () =>
      controller.abort(new Error(`no answer within ${timeoutMs} ms`)),
    );
    const sent = Promise.resolve()
      .then(() => this.s.send(req, { dispatcher: this.s.dispatcher, signal: controller.signal, timeoutMs, now: this.s.clock.wallNow() }))
      .catch((e: unknown): SendOutcome => ({ ok: false, status: null, retryable: true, retryAfterMs: null, error: errorText(e) }));
    try {
      return await Promise.race([sent, aborted]);
    } finally {
      timer.cancel();
      if (this.controller === controller) this.controller = null;
    }
  }

  /** Applies an outcome to what the request carried; returns how long to wait before the next attempt. */
  private settle(req: PreparedRequest, carried: Entry[], outcome: SendOutcome): number {
    const n = carried.length;
    if (outcome.ok) {
      this.failures = 0;
      for (const e of carried) this.delivered.add(e.n.id);
      this.remove(carried);
      this.s.metrics?.count(this.name, 'sent', n);
      this.s.logger?.debug({ receiver: this.name, request: req.describe, status: outcome.status, notifications: n }, 'notifications delivered');
      return 0;
    }
    const detail = { receiver: this.name, request: req.describe, status: outcome.status, error: outcome.error, ids: carried.map((e) => e.n.id) };
    if (!isRetryable(outcome)) {
      this.failures = 0;
      this.remove(carried);
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

  /** Waits on the Clock; wake() (stop, flush) ends the wait early. */
  private sleep(kind: WaitKind, ms: number): Promise<void> {
    if (this.stopped) return Promise.resolve();
    return new Promise<void>((resolve) => {
      let handle: TimerHandle | null = null;
      const w = {
        kind,
        wake: (): void => {
          handle?.cancel();
          if (this.wait === w) this.wait = null;
          resolve();
        },
      };
      this.wait = w;
      handle = this.s.clock.setTimer(ms, w.wake);
    });
  }
}

/** Per-receiver durable delivery queues. See the file comment for the rules. */
export class DeliveryQueue {
  private readonly workers = new Map<string, Worker>();
  private readonly clock: Clock;
  private readonly logger: AlertsLogger | undefined;
  private readonly metrics: DeliveryMetrics | undefined;
  private readonly onChange: (() => void) | undefined;
  private readonly idleListeners = new Set<() => void>();

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
    const shared: Shared = {
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
      changed: (w) => this.changed(w),
    };
    for (const r of options.receivers) {
      if (this.workers.has(r.name)) throw new RangeError(`receiver "${r.name}" given twice`);
      this.workers.set(r.name, new Worker(toTarget(r), shared));
    }
    this.metrics?.receivers([...this.workers.keys()]);
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
    return [...this.workers.values()].flatMap((w) => w.entries.map((e) => e.n));
  }

  /** Queues what a previous process left pending (same rules as enqueue). Returns how many were queued. */
  restore(list: readonly Notification[]): number {
    let queued = 0;
    for (const n of list) if (this.enqueue(n)) queued++;
    return queued;
  }

  stats(): ReceiverStats[] {
    return [...this.workers.values()].map((w) => ({ receiver: w.name, queued: w.entries.length, inFlight: w.inFlightCount, failures: w.failures }));
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

  private size(): number {
    let k = 0;
    for (const w of this.workers.values()) k += w.entries.length;
    return k;
  }

  private changed(w: Worker): void {
    this.metrics?.queueLength(w.name, w.entries.length);
    try {
      this.onChange?.();
    } catch (e) {
      this.logger?.error({ err: errorText(e) }, 'delivery onChange hook failed');
    }
    for (const check of [...this.idleListeners]) check();
  }
}
