import { ALERT_EVENTS, type AlertEvent } from './view.js';

/** Alert events kept (the status page's timeline, `GET /api/v1/alerts`). */
export const MAX_ALERT_EVENTS = 50;

/**
 * The last MAX_ALERT_EVENTS alert events, oldest first. A delivery that keeps failing is one event, not one per
 * attempt: a `delivery_failed` of the same rule, target and receiver as the newest event replaces it (its detail
 * says which attempt), so a receiver down for an hour does not push the firing it failed to send out of the list.
 */
export class EventRing {
  private list: AlertEvent[] = [];

  add(e: AlertEvent): void {
    const last = this.list.at(-1);
    if (
      last && e.event === 'delivery_failed' && last.event === 'delivery_failed' &&
      last.rule === e.rule && last.target === e.target && last.receiver === e.receiver
    ) {
      this.list[this.list.length - 1] = e;
      return;
    }
    this.list.push(e);
    if (this.list.length > MAX_ALERT_EVENTS) this.list = this.list.slice(-MAX_ALERT_EVENTS);
  }

  /** Oldest first. */
  all(): AlertEvent[] {
    return [...this.list];
  }

  get size(): number {
    return this.list.length;
  }
}

const isStringOrNull = (v: unknown): v is string | null => v === null || typeof v === 'string';

/** An alert event read back from the history file. */
export function isAlertEvent(v: unknown): v is AlertEvent {
  if (typeof v !== 'object' || v === null) return false;
  const e = v as Record<string, unknown>;
  return (
    typeof e.at === 'string' && !Number.isNaN(Date.parse(e.at)) && (ALERT_EVENTS as readonly unknown[]).includes(e.event) &&
    typeof e.rule === 'string' && typeof e.target === 'string' && isStringOrNull(e.receiver) && isStringOrNull(e.detail)
  );
}
