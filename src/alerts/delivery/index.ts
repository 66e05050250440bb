/**
 * Alert delivery: per-receiver durable queues that send notifications in order, grouped, rate-capped and retried
 * with backoff. One file per job, each standing on the ones below it:
 *   queue.ts         DeliveryQueue, the facade: routes notifications to one worker per receiver;
 *   worker.ts        the send loop: rate wait, next request, attempt, settle, sleep;
 *   next-request.ts  the next request from the head of the queue (build, give up what cannot be built);
 *   send-once.ts     one request with the receiver's timeout and stop() as abort signals;
 *   sleeper.ts       the worker's waits on the Clock, cut short by stop and flush;
 *   rate-window.ts   the rolling-minute rate cap;
 *   bound.ts         the bounded per-receiver queue: dedupe, supersede, overflow;
 *   recent-ids.ts    ids delivered lately;
 *   backoff.ts       retry delays, and which failures are retried;
 *   metrics.ts       prom-client counts;  target.ts  a receiver in one shape;  types.ts  the public types.
 */
export {
  DELIVERY_RESULTS,
  type AlertsLogger,
  type BackoffPolicy,
  type BoundDeliveryReceiver,
  type DeliveryEvent,
  type DeliveryMetrics,
  type DeliveryQueueOptions,
  type DeliveryReceiver,
  type DeliveryResult,
  type ModuleReceiver,
  type ReceiverStats,
  type SendFn,
} from './types.js';
export { backoffDelay, DEFAULT_BACKOFF, isRetryable } from './backoff.js';
export { createDeliveryMetrics } from './metrics.js';
export { DeliveryQueue } from './queue.js';
