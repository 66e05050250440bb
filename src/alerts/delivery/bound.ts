/**
 * One receiver's queue of notifications waiting for delivery, in order, bounded, without duplicates or stale ones.
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
 */
import type { Notification } from '../types.js';
import { RecentIds } from './recent-ids.js';
import type { AlertsLogger, DeliveryEvent, DeliveryMetrics } from './types.js';

export interface Entry {
  readonly n: Notification;
  inFlight: boolean;
}

/** What `add` did with a notification: queued it, dropped it at once (the bound), or skipped a duplicate. */
export type Admission = 'queued' | 'dropped' | 'duplicate';

export interface BoundSettings {
  maxQueue: number;
  logger: AlertsLogger | undefined;
  metrics: DeliveryMetrics | undefined;
  /** The queue of `receiver` changed (added or removed); `queued` notifications are in it now. */
  changed(receiver: string, queued: number): void;
  /** Told of notifications dropped for the bound (see DeliveryQueueOptions.onEvent). */
  onEvent?: ((e: DeliveryEvent) => void) | undefined;
}

const sameAlert = (a: Notification, b: Notification): boolean => a.alert === b.alert && a.target === b.target;
const alertKey = (n: Notification): string => `${n.alert}\u0000${n.target}`;

export class BoundedQueue {
  private list: Entry[] = [];
  private readonly byId = new Map<string, Entry>();
  private readonly delivered: RecentIds;

  constructor(
    private readonly receiver: string,
    private readonly s: BoundSettings,
  ) {
    this.delivered = new RecentIds(Math.max(s.maxQueue, 1000));
  }

  /** Oldest first, in flight included. */
  get entries(): readonly Entry[] {
    return this.list;
  }

  get inFlightCount(): number {
    return this.list.reduce((k, e) => k + (e.inFlight ? 1 : 0), 0);
  }

  /** Queues `n` (dedupe, supersede, bound). */
  add(n: Notification): Admission {
    if (this.byId.has(n.id) || this.delivered.has(n.id)) {
      this.s.logger?.debug({ receiver: this.receiver, id: n.id }, 'notification already queued or delivered; skipped');
      return 'duplicate';
    }
    this.supersede(n);
    const entry: Entry = { n, inFlight: false };
    this.list.push(entry);
    this.byId.set(n.id, entry);
    this.changed();
    this.enforceBound();
    return this.byId.has(n.id) ? 'queued' : 'dropped';
  }

  /** The queued entries with these ids, in the order given; ids no longer queued are left out. */
  lookup(ids: readonly string[]): Entry[] {
    return ids.map((id) => this.byId.get(id)).filter((e): e is Entry => e !== undefined);
  }

  remove(gone: readonly Entry[]): void {
    const set = new Set(gone);
    this.list = this.list.filter((e) => !set.has(e));
    for (const e of gone) this.byId.delete(e.n.id);
    this.changed();
  }

  /** Removes what was delivered, and remembers its ids so that a re-queued copy is skipped. */
  removeDelivered(gone: readonly Entry[]): void {
    for (const e of gone) this.delivered.add(e.n.id);
    this.remove(gone);
  }

  private changed(): void {
    this.s.changed(this.receiver, this.list.length);
  }

  private supersede(n: Notification): void {
    const stale = (e: Entry): boolean => {
      if (e.inFlight || !sameAlert(e.n, n)) return false;
      if (n.kind === 'resolved') return e.n.kind === 'reminder' || e.n.kind === 'refresh';
      if (n.kind === 'reminder' || n.kind === 'refresh') return e.n.kind === n.kind;
      return false;
    };
    const gone = this.list.filter(stale);
    if (gone.length === 0) return;
    this.remove(gone);
    this.s.metrics?.count(this.receiver, 'superseded', gone.length);
    this.s.logger?.debug({ receiver: this.receiver, ids: gone.map((e) => e.n.id), by: n.id }, 'queued notifications superseded');
  }

  private enforceBound(): void {
    while (this.list.length > this.s.maxQueue) {
      const victim = this.pickVictim();
      if (!victim) {
        this.s.logger?.warn(
          { receiver: this.receiver, queued: this.list.length, maxQueue: this.s.maxQueue },
          'notification queue over its bound: only resolves and in-flight notifications left, and resolves are never dropped',
        );
        return;
      }
      this.remove([victim]);
      this.s.metrics?.count(this.receiver, 'dropped', 1);
      const { id, kind, alert, target } = victim.n;
      this.s.logger?.warn({ receiver: this.receiver, id, kind, alert, target, maxQueue: this.s.maxQueue }, 'notification queue full; dropped the oldest droppable notification');
      this.s.onEvent?.({ event: 'dropped', notification: victim.n, detail: `${kind}: the queue was full (${this.s.maxQueue} queued); dropped` });
    }
  }

  private pickVictim(): Entry | undefined {
    const free = this.list.filter((e) => !e.inFlight);
    const oldest = (kind: Notification['kind']): Entry | undefined => free.find((e) => e.n.kind === kind);
    const refresh = oldest('refresh') ?? oldest('reminder');
    if (refresh) return refresh;
    const lastIndex = new Map<string, number>();
    this.list.forEach((e, i) => lastIndex.set(alertKey(e.n), i));
    const followed = this.list.find((e, i) => !e.inFlight && e.n.kind === 'firing' && lastIndex.get(alertKey(e.n))! > i);
    return followed ?? oldest('firing');
  }
}
