/** A receiver in one shape, whether it came as a module plus options or already bound. */
import type { BuildContext, PreparedRequest } from '../providers/provider.js';
import type { Notification } from '../types.js';
import type { DeliveryReceiver } from './types.js';

/** A normalised receiver. */
export interface Target {
  name: string;
  timeoutMs: number;
  maxBatch: number;
  accepts(kind: Notification['kind']): boolean;
  build(batch: readonly Notification[], ctx: BuildContext): PreparedRequest[];
}

export function toTarget(r: DeliveryReceiver): Target {
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
