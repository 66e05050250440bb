import { Counter, Gauge, Histogram, type Registry } from 'prom-client';
import type { RoundtripInfo } from '../core/result.js';
import type { TargetMeta } from '../core/target-meta.js';
import { staticLabels } from './labels.js';

/** Hops with a delay series each; a longer chain is summed into the last one (a bounded label set). */
export const MAX_HOP_SERIES = 10;
const ROUNDTRIP_BUCKETS = [0.1, 0.25, 0.5, 1, 2, 5, 10, 20, 30, 60, 120, 300, 600];
const NAMES = [
  'smtp_probe_roundtrip_seconds', 'smtp_probe_roundtrip_late_total', 'smtp_probe_roundtrip_never_total',
  'smtp_probe_received_hops', 'smtp_probe_hop_delay_seconds',
];

/** A round-trip target's messages that arrived late or never, over all its runs so far (its tracker's counts). */
export interface RoundtripTotals {
  late: number;
  never: number;
}

/**
 * Series of targets that read their test message back: delivery latency, messages that arrived late or never,
 * and the Received chain's hop count and per-hop delays (hop "1" is the first relay).
 */
export class RoundtripMetrics {
  private seconds!: Histogram;
  private late!: Counter;
  private never!: Counter;
  private hopCount!: Gauge;
  private hopDelay!: Gauge;
  private readonly hops = new Map<string, Record<string, string>[]>();
  private readonly counted = new Map<string, { late: number; never: number }>();

  constructor(
    private readonly registry: Registry,
    private staticLabelNames: readonly string[],
  ) {
    this.create();
  }

  /** The target's late/never totals so far: each counter grows by what is new since the last call (0 at first). */
  count(meta: TargetMeta, totals: RoundtripTotals): void {
    const base = this.base(meta);
    const seen = this.counted.get(meta.name) ?? { late: 0, never: 0 };
    if (totals.late > seen.late) this.late.inc(base, totals.late - seen.late);
    else this.late.inc(base, 0);
    if (totals.never > seen.never) this.never.inc(base, totals.never - seen.never);
    else this.never.inc(base, 0);
    this.counted.set(meta.name, { late: totals.late, never: totals.never });
  }

  /** A run's round trip: its delivery latency and Received chain, when the message arrived. */
  observe(meta: TargetMeta, rt: RoundtripInfo): void {
    if (rt.deliveredMs === null) return;
    const base = this.base(meta);
    this.seconds.observe(base, rt.deliveredMs / 1000);
    this.hopCount.set(base, rt.hops.length);
    for (const old of this.hops.get(meta.name) ?? []) this.hopDelay.remove(old);
    const delays = new Map<string, number>();
    for (const h of rt.hops) {
      if (h.delayMs === null) continue;
      const hop = String(Math.min(h.index, MAX_HOP_SERIES));
      delays.set(hop, (delays.get(hop) ?? 0) + h.delayMs / 1000);
    }
    const now = [...delays].map(([hop, s]) => {
      const labels = { ...base, hop };
      this.hopDelay.set(labels, s);
      return labels;
    });
    this.hops.set(meta.name, now);
  }

  forget(targetName: string): void {
    for (const old of this.hops.get(targetName) ?? []) this.hopDelay.remove(old);
    this.hops.delete(targetName);
    this.counted.delete(targetName);
  }

  setStaticLabelNames(names: readonly string[]): void {
    for (const n of NAMES) this.registry.removeSingleMetric(n);
    this.staticLabelNames = names;
    this.hops.clear();
    this.counted.clear();
    this.create();
  }

  private base(meta: TargetMeta): Record<string, string> {
    return { target: meta.name, ...staticLabels(meta.labels, this.staticLabelNames) };
  }

  private create(): void {
    const labelNames = ['target', ...this.staticLabelNames];
    const registers = [this.registry];
    this.seconds = new Histogram({
      name: NAMES[0]!, help: 'Seconds from the end of the SMTP run to the test message showing in the mailbox.',
      labelNames, buckets: ROUNDTRIP_BUCKETS, registers,
    });
    this.late = new Counter({ name: NAMES[1]!, help: 'Test messages found after their run gave up on them.', labelNames, registers });
    this.never = new Counter({ name: NAMES[2]!, help: 'Test messages never found (ten round-trip timeouts later).', labelNames, registers });
    // Issue 5 called this smtp_probe_hop_count; promtool rejects a gauge ending in _count, so it is named for what it holds.
    this.hopCount = new Gauge({ name: NAMES[3]!, help: 'Received headers (hops) of the last test message read back.', labelNames, registers });
    this.hopDelay = new Gauge({
      name: NAMES[4]!, help: `Delay at each hop of the last test message (hop 1 = first relay; ${MAX_HOP_SERIES} sums the rest).`,
      labelNames: [...labelNames, 'hop'], registers,
    });
  }
}

