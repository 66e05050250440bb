/**
 * The run history of every target and the last alert events: what `/`, `/targets/{name}`, the badges and
 * `/api/v1/` show. The daemon records each scheduled run here (not /probe runs) and each alert event.
 *
 * Memory, measured with `node --expose-gc bench/history.mjs` (5,000 targets, 100 runs kept each, heapUsed +
 * arrayBuffers after a GC, Node 20): 10.5 KB a target when every run passes (53 MB), of which 7.1 KB is the last
 * run's record with its transcript (32 lines of a STARTTLS + AUTH + send dialogue); 11.1 KB a target when every
 * run fails (56 MB), the failure texts' slots 0.8 KB of it.
 */
import type { PostureSnapshot } from '../core/posture.js';
import type { CheckResult } from '../core/result.js';
import { EventRing } from './events.js';
import { TargetHistory } from './target.js';
import type { AlertEvent, TargetDetail, TargetView } from './view.js';

/** What the config says of a target that the history shows beside its runs. */
export interface WatchedTarget {
  name: string;
  url: string;
  module: string;
  labels: Record<string, string>;
}

export interface HistoryStoreOptions {
  /** Runs kept per target (global.history). */
  capacity: number;
  /** Wall clock (ms): uptime windows and certificate days are counted to it. */
  now: () => number;
}

const HOUR_MS = 3_600_000;

export class HistoryStore {
  private readonly byName = new Map<string, TargetHistory>();
  readonly events = new EventRing();
  private capacityNow: number;
  /** Counts every change: the history file is written when it moved since the last save. */
  private changes = 0;

  constructor(private readonly opts: HistoryStoreOptions) {
    this.capacityNow = opts.capacity;
  }

  get capacity(): number {
    return this.capacityNow;
  }

  get changeCount(): number {
    return this.changes;
  }

  /** The targets with a history, by name. */
  entries(): IterableIterator<[string, TargetHistory]> {
    return this.byName.entries();
  }

  get(name: string): TargetHistory | undefined {
    return this.byName.get(name);
  }

  /** One scheduled run of `name`: its records (one, or one per MX host of an mx:// target). */
  record(name: string, results: readonly CheckResult[]): void {
    if (results.length === 0) return;
    this.entry(name).record(results);
    this.changes += 1;
  }

  addEvent(e: AlertEvent): void {
    this.events.add(e);
    this.changes += 1;
  }

  /** A target's history read back from the history file, in place of what is here. */
  put(name: string, h: TargetHistory): void {
    h.resize(this.capacityNow);
    this.byName.set(name, h);
    this.changes += 1;
  }

  /** Only the histories of these targets are kept (a reload removed the others). */
  retain(names: Iterable<string>): void {
    const keep = new Set(names);
    for (const name of [...this.byName.keys()]) {
      if (keep.has(name)) continue;
      this.byName.delete(name);
      this.changes += 1;
    }
  }

  /** global.history changed: every ring keeps its newest runs up to the new size. */
  setCapacity(capacity: number): void {
    if (capacity === this.capacityNow) return;
    this.capacityNow = capacity;
    for (const h of this.byName.values()) h.resize(capacity);
    this.changes += 1;
  }

  /** One target as the status page and `GET /api/v1/targets` show it. `firing`: its alerts firing now. */
  view(t: WatchedTarget, firing: string[]): TargetView {
    const h = this.byName.get(t.name);
    const now = this.opts.now();
    const last = h?.lastRunAt ?? null;
    return {
      name: t.name,
      url: t.url,
      module: t.module,
      labels: t.labels,
      status: h?.status ?? 'pending',
      lastRun: last === null ? null : new Date(last).toISOString(),
      uptime: { '1h': h?.buckets.uptime(now, HOUR_MS) ?? null, '24h': h?.buckets.uptime(now, 24 * HOUR_MS) ?? null },
      latencyMs: h?.latency() ?? { p50: null, p95: null },
      certDaysLeft: h?.certDaysLeft(now) ?? null,
      firingAlerts: firing,
    };
  }

  /** `GET /api/v1/targets/{name}`: the view, the kept runs, the last records (and the last posture run, kept elsewhere). */
  detail(t: WatchedTarget, firing: string[], posture: PostureSnapshot | null = null): TargetDetail {
    const h = this.byName.get(t.name);
    const mx = t.url.startsWith('mx://');
    return {
      ...this.view(t, firing),
      history: h?.ring.summaries() ?? [],
      lastResult: h?.lastResult ?? null,
      lastFailure: h?.lastFailure ?? null,
      lastSuccess: h?.lastSuccess ?? null,
      lastResults: mx ? [...(h?.lastResults ?? [])] : [],
      posture,
    };
  }

  private entry(name: string): TargetHistory {
    let h = this.byName.get(name);
    if (!h) this.byName.set(name, (h = new TargetHistory(this.capacityNow)));
    return h;
  }
}
