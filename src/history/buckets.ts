/** Width of one uptime bucket. */
export const BUCKET_MS = 5 * 60_000;
/** Buckets kept: one day. */
export const BUCKETS = (24 * 3_600_000) / BUCKET_MS;
/** A bucket counts at most this many runs (a run every 5 ms; beyond it the counts stop, their ratio stays close). */
const MAX_COUNT = 0xffff;

/** A bucket as saved: its index (start / BUCKET_MS), runs, passing runs. */
export type BucketCounts = [index: number, runs: number, ok: number];

/**
 * Runs and passing runs of one target in 5-minute buckets over the last 24 hours, by each run's start time: the
 * uptime of a window does not depend on how many runs the history keeps (100 runs a minute apart cover 100
 * minutes, not a day). 288 buckets of two 16-bit counters: 1,152 bytes a target.
 *
 * The window of `uptime(now, ms)` is the buckets that end after `now - ms`: the current bucket and the ones
 * before it, so a 1-hour window covers between 55 and 60 minutes of runs, plus the current bucket's.
 */
export class UptimeBuckets {
  /** Per slot (index mod BUCKETS): runs at 2k, passing runs at 2k+1. */
  private readonly counts = new Uint16Array(BUCKETS * 2);
  /** Index of the newest bucket written; slots of older indexes than head - BUCKETS + 1 hold nothing. */
  private head = -1;

  /** A run that started at `atMs` (wall clock). Runs older than a day before the newest bucket are not counted. */
  add(atMs: number, ok: boolean): void {
    this.addCounts(Math.floor(atMs / BUCKET_MS), 1, ok ? 1 : 0);
  }

  /** Share of passing runs in the buckets of the window ending at `nowMs`; null when no run fell in it. */
  uptime(nowMs: number, windowMs: number): number | null {
    const last = Math.floor(nowMs / BUCKET_MS);
    const first = Math.max(last - Math.ceil(windowMs / BUCKET_MS) + 1, this.head - BUCKETS + 1);
    let runs = 0;
    let ok = 0;
    for (let i = first; i <= Math.min(last, this.head); i += 1) {
      const slot = (i % BUCKETS) * 2;
      runs += this.counts[slot]!;
      ok += this.counts[slot + 1]!;
    }
    return runs === 0 ? null : ok / runs;
  }

  /** The buckets that hold runs, oldest first (for the history file). */
  saved(): BucketCounts[] {
    const out: BucketCounts[] = [];
    for (let i = Math.max(0, this.head - BUCKETS + 1); i <= this.head; i += 1) {
      const slot = (i % BUCKETS) * 2;
      if (this.counts[slot]! > 0) out.push([i, this.counts[slot]!, this.counts[slot + 1]!]);
    }
    return out;
  }

  /** Counts from the history file, added to what is here. */
  restore(buckets: readonly BucketCounts[]): void {
    for (const [index, runs, ok] of buckets) this.addCounts(index, runs, Math.min(ok, runs));
  }

  private addCounts(index: number, runs: number, ok: number): void {
    if (index <= this.head - BUCKETS) return;
    if (index > this.head) {
      // The slots between the old head and the new one belong to buckets a day old: cleared.
      const from = Math.max(this.head + 1, index - BUCKETS + 1);
      for (let i = from; i <= index; i += 1) this.counts.fill(0, (i % BUCKETS) * 2, (i % BUCKETS) * 2 + 2);
      this.head = index;
    }
    const slot = (index % BUCKETS) * 2;
    this.counts[slot] = Math.min(MAX_COUNT, this.counts[slot]! + runs);
    this.counts[slot + 1] = Math.min(MAX_COUNT, this.counts[slot + 1]! + ok);
  }
}
