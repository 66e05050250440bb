/**
 * The delivery queue's public types and constants. Imports nothing else of the delivery folder: every other file
 * of it stands on this one.
 */
import type { Dispatcher } from 'undici';
import type { Registry } from 'prom-client';
import type { Clock } from '../../core/clock.js';
import type { BuildContext, PreparedRequest, ReceiverModule, SendOptions, SendOutcome } from '../providers/provider.js';
import type { Notification } from '../types.js';

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

/**
 * Outcomes counted in `smtp_probe_notifications_total{receiver,result}`, per notification:
 * `sent` delivered; `retried` one per failed attempt that will be retried; `failed` refused (not retryable) or
 * could not be built, given up; `dropped` queue overflow; `superseded` made stale by a newer notification of the
 * same alert while still queued (see bound.ts).
 */
export const DELIVERY_RESULTS = ['sent', 'retried', 'failed', 'dropped', 'superseded'] as const;
export type DeliveryResult = (typeof DELIVERY_RESULTS)[number];

/**
 * What happened to one notification in delivery (`DeliveryQueueOptions.onEvent`): delivered, a failed attempt
 * (retried or given up), or dropped from a full queue. `detail` says how, in one line, never a URL or a secret.
 */
export interface DeliveryEvent {
  event: 'delivered' | 'delivery_failed' | 'dropped';
  notification: Notification;
  detail: string;
}

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
  /**
   * Save the state now (StateStore.saveSoon). Awaited after each delivery, which is out of the pending set by then,
   * before it counts as sent: a crash right after a delivery does not send it again on restart. A rejection is
   * logged and delivery goes on. Not called for requests of Alertmanager re-posts only (idempotent).
   */
  persist?: () => Promise<void>;
  logger?: AlertsLogger;
  /** Told of each notification delivered, failed (each attempt) or dropped. Must not throw. */
  onEvent?: (e: DeliveryEvent) => void;
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
