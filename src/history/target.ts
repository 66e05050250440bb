import type { CheckResult } from '../core/result.js';
import { UptimeBuckets } from './buckets.js';
import { quantile } from '../core/quantile.js';
import { RunRing, type KeptRun } from './ring.js';
import { summarize, worstOf } from './summary.js';
import type { TargetStatus } from './view.js';

const DAY_MS = 86_400_000;

/**
 * What the daemon keeps of one target: the ring of its last runs, its uptime buckets, the records of its last run
 * and the record of its last failure (with its transcript), and the
 * certificate's end from the last run that reached TLS.
 */
export class TargetHistory {
  ring: RunRing;
  readonly buckets = new UptimeBuckets();
  lastResults: CheckResult[] = [];
  lastFailure: CheckResult | null = null;
  /** The record of the last run that passed (see TargetDetail.lastSuccess). */
  lastSuccess: CheckResult | null = null;
  /** validTo (epoch ms) of the certificate that ends first, of the last run that reached TLS; null: none did. */
  certValidTo: number | null = null;
  private latencyCache: { p50: number | null; p95: number | null } | null = null;

  constructor(capacity: number) {
    this.ring = new RunRing(capacity);
  }

  /** One run: its records (one, or one per MX host). Returns what the ring kept of it. */
  record(results: readonly CheckResult[]): KeptRun {
    const run = summarize(results);
    this.push(run);
    this.lastResults = [...results];
    const failed = results.find((r) => !r.ok);
    if (failed) this.lastFailure = failed;
    else this.lastSuccess = worstOf(results);
    const tls = results.filter((r) => r.tls !== null);
    if (tls.length > 0) {
      const ends = tls.map((r) => (r.tls?.validTo ? Date.parse(r.tls.validTo) : NaN)).filter((t) => !Number.isNaN(t));
      this.certValidTo = ends.length > 0 ? Math.min(...ends) : null;
    }
    return run;
  }

  /** A run into the ring and the buckets (also the history file's runs, oldest first). */
  push(run: KeptRun): void {
    this.ring.push(run);
    this.buckets.add(run.startedAtMs, run.ok);
    this.latencyCache = null;
  }

  resize(capacity: number): void {
    if (capacity === this.ring.capacity) return;
    this.ring = this.ring.resized(capacity);
    this.latencyCache = null;
  }

  /** pending before the first run; then the last run's verdict (mx://: failing when any MX host failed). */
  get status(): TargetStatus {
    const last = this.ring.latest();
    return last === null ? 'pending' : last.ok ? 'ok' : 'failing';
  }

  get lastRunAt(): number | null {
    return this.ring.latest()?.startedAtMs ?? null;
  }

  /** p50 and p95 of the kept passing runs' durations. */
  latency(): { p50: number | null; p95: number | null } {
    if (!this.latencyCache) {
      const d = this.ring.passingDurations();
      this.latencyCache = { p50: quantile(d, 0.5), p95: quantile(d, 0.95) };
    }
    return this.latencyCache;
  }

  /** Whole days the certificate has left at `nowMs`, as a run counts them (floor); null when no run reached TLS. */
  certDaysLeft(nowMs: number): number | null {
    return this.certValidTo === null ? null : Math.floor((this.certValidTo - nowMs) / DAY_MS);
  }

  /** The record standing for the last run (mx://: the worst host's). */
  get lastResult(): CheckResult | null {
    return worstOf(this.lastResults);
  }
}
