/** The delivery queue's counts as prom-client metrics. */
import { Counter, Gauge, type Registry } from 'prom-client';
import { DELIVERY_RESULTS, type DeliveryMetrics } from './types.js';

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
