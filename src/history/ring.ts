import type { RunSummary } from './view.js';

/** One run as the ring keeps it: start (epoch ms), verdict, duration, and the one-line failure (null when ok). */
export interface KeptRun {
  startedAtMs: number;
  ok: boolean;
  durationMs: number;
  failure: string | null;
}

/** Durations are kept as whole microseconds in 32 bits: up to about 71 minutes, longer runs are kept as that. */
const MAX_US = 0xffff_ffff;

/**
 * The last `capacity` runs of one target, compact: start times and durations in typed arrays over one buffer
 * (8 + 4 bytes a run), the verdicts a byte each, and from the first failure on one slot a run for the failure
 * text, which a run that fails the same way as the one before shares with it (one string for a target that keeps
 * failing alike).
 */
export class RunRing {
  private readonly startedAt: Float64Array;
  private readonly durationUs: Uint32Array;
  private readonly okFlags: Uint8Array;
  /** Made at the first failure: a target that always passes has none. */
  private failures: (string | null)[] | null = null;
  /** The slot the next run goes to. */
  private next = 0;
  private count = 0;

  constructor(readonly capacity: number) {
    if (!Number.isInteger(capacity) || capacity < 1) throw new RangeError(`a ring keeps at least 1 run, not ${capacity}`);
    const buffer = new ArrayBuffer(capacity * 13);
    this.startedAt = new Float64Array(buffer, 0, capacity);
    this.durationUs = new Uint32Array(buffer, capacity * 8, capacity);
    this.okFlags = new Uint8Array(buffer, capacity * 12, capacity);
  }

  /** Runs kept, at most `capacity`. */
  get size(): number {
    return this.count;
  }

  push(run: KeptRun): void {
    const i = this.next;
    this.startedAt[i] = run.startedAtMs;
    this.durationUs[i] = Math.min(MAX_US, Math.max(0, Math.round(run.durationMs * 1000)));
    this.okFlags[i] = run.ok ? 1 : 0;
    if (run.failure !== null) this.failures ??= new Array<string | null>(this.capacity).fill(null);
    if (this.failures) {
      const before = this.failures[(i + this.capacity - 1) % this.capacity]!;
      this.failures[i] = run.failure !== null && run.failure === before ? before : run.failure;
    }
    this.next = (i + 1) % this.capacity;
    this.count = Math.min(this.capacity, this.count + 1);
  }

  /** The newest run; null when none is kept. */
  latest(): KeptRun | null {
    if (this.count === 0) return null;
    const i = (this.next + this.capacity - 1) % this.capacity;
    return this.at(i);
  }

  /** The kept runs, oldest first. */
  runs(): KeptRun[] {
    const out: KeptRun[] = [];
    const first = (this.next + this.capacity - this.count) % this.capacity;
    for (let k = 0; k < this.count; k += 1) {
      const i = (first + k) % this.capacity;
      out.push(this.at(i));
    }
    return out;
  }

  private at(i: number): KeptRun {
    return { startedAtMs: this.startedAt[i]!, ok: this.okFlags[i] === 1, durationMs: this.durationUs[i]! / 1000, failure: this.failures?.[i] ?? null };
  }

  /** As the API shows them, oldest first. */
  summaries(): RunSummary[] {
    return this.runs().map((r) => ({ startedAt: new Date(r.startedAtMs).toISOString(), ok: r.ok, durationMs: r.durationMs, failure: r.failure }));
  }

  /** The durations (ms) of the kept passing runs, in ring order. */
  passingDurations(): number[] {
    const out: number[] = [];
    for (let i = 0; i < this.count; i += 1) if (this.okFlags[i] === 1) out.push(this.durationUs[i]! / 1000);
    return out;
  }

  /** A ring of another capacity with the newest of these runs. */
  resized(capacity: number): RunRing {
    const ring = new RunRing(capacity);
    for (const r of this.runs().slice(-capacity)) ring.push(r);
    return ring;
  }
}
