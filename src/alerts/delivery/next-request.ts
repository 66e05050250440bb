/**
 * The next request for a receiver: up to `maxBatch` notifications from the head of its queue, built by the
 * receiver (pure, providers/*).
 */
import type { Clock } from '../../core/clock.js';
import type { BuildContext, PreparedRequest } from '../providers/provider.js';
import type { BoundedQueue, Entry } from './bound.js';
import { errorText } from './error-text.js';
import type { Target } from './target.js';
import type { AlertsLogger, DeliveryEvent, DeliveryMetrics } from './types.js';

export interface RequestSettings {
  clock: Clock;
  externalUrl: string;
  logger: AlertsLogger | undefined;
  metrics: DeliveryMetrics | undefined;
  onEvent?: ((e: DeliveryEvent) => void) | undefined;
}

type Built = { ok: true; requests: PreparedRequest[] } | { ok: false; error: string };

/**
 * The first request for the head of the queue. A build that throws is retried with the head alone; if that
 * throws too, the head is given up (`failed`). Notifications the module put in no request are removed.
 */
export function nextRequest(queue: BoundedQueue, target: Target, s: RequestSettings): PreparedRequest | null {
  let batch = queue.entries.slice(0, Math.max(1, target.maxBatch));
  const ctx: BuildContext = { now: s.clock.wallNow(), externalUrl: s.externalUrl };
  let built = build(target, batch, ctx);
  if (!built.ok && batch.length > 1) {
    batch = batch.slice(0, 1);
    built = build(target, batch, ctx);
  }
  if (!built.ok) {
    const head = batch[0]!;
    queue.remove([head]);
    s.metrics?.count(target.name, 'failed', 1);
    const { id, kind, alert, target: probeTarget } = head.n;
    s.logger?.error({ receiver: target.name, id, kind, alert, target: probeTarget, err: built.error }, 'could not build the notification request; given up');
    s.onEvent?.({ event: 'delivery_failed', notification: head.n, detail: `${kind}: could not build the request (${built.error}); given up` });
    return null;
  }
  const requests = built.requests;
  const queued = (id: string): boolean => batch.some((e) => e.n.id === id);
  const first = requests.find((r) => r.ids.some(queued)) ?? null;
  const covered = new Set(requests.flatMap((r) => r.ids.filter(queued)));
  const left = batch.filter((e) => !covered.has(e.n.id));
  if (left.length > 0) {
    queue.remove(left);
    s.logger?.debug({ receiver: target.name, ids: left.map((e) => e.n.id) }, 'receiver built no request for these notifications');
  }
  return first;
}

function build(target: Target, batch: readonly Entry[], ctx: BuildContext): Built {
  try {
    return { ok: true, requests: target.build(batch.map((e) => e.n), ctx) };
  } catch (e) {
    return { ok: false, error: errorText(e) };
  }
}
