import type { Registry } from 'prom-client';
import type { CapacityReport } from '../core/capacity.js';
import type { PostureFinding } from '../core/posture.js';
import type { CheckResult } from '../core/result.js';
import type { TargetMeta } from '../core/target-meta.js';
import { CapacityMetrics } from './capacity.js';
import { PostureMetrics } from './posture.js';
import { MxMetrics } from './mx.js';
import { TargetMetrics, type TargetMetricsOptions } from './record.js';
import { RoundtripMetrics, type RoundtripTotals } from './roundtrip.js';

/**
 * Everything the daemon records on /metrics, behind one entry: the per-target and per-MX-host series
 * (record.ts), the domain-level series of mx:// targets (mx.ts), the round-trip series (roundtrip.ts), the
 * capacity runs' (capacity.ts), the posture runs' (posture.ts), and the daemon's own counters. Which of them a run feeds is read from its results, not from the plan.
 */
export class RunMetrics {
  private readonly targets: TargetMetrics;
  private readonly mx: MxMetrics;
  private readonly roundtrip: RoundtripMetrics;
  private readonly capacity: CapacityMetrics;
  private readonly posture: PostureMetrics;
  private staticLabelNames: readonly string[];

  /** Registers every family on `registry` (in this order: target, mx, round-trip, capacity, posture). */
  constructor(registry: Registry, options: TargetMetricsOptions) {
    this.staticLabelNames = [...options.staticLabelNames];
    this.targets = new TargetMetrics(registry, options);
    this.mx = new MxMetrics(registry, options.staticLabelNames);
    this.roundtrip = new RoundtripMetrics(registry, options.staticLabelNames);
    this.capacity = new CapacityMetrics(registry, options.staticLabelNames);
    this.posture = new PostureMetrics(registry, options.staticLabelNames);
  }

  /**
   * One run of `meta`'s target: its results (one, or one per MX host of an mx:// target), and for a target that
   * reads its message back, its late/never totals so far (given on every run, whether or not this one got as far
   * as the mailbox).
   */
  recordRun(meta: TargetMeta, results: readonly CheckResult[], roundtrip?: RoundtripTotals): void {
    if (isMxRun(results)) {
      this.targets.recordRun(meta, results);
      this.mx.record(meta, results);
    } else {
      for (const result of results) this.targets.record(meta, result);
    }
    if (roundtrip) this.roundtrip.count(meta, roundtrip);
    for (const result of results) if (result.roundtrip) this.roundtrip.observe(meta, result.roundtrip);
  }

  /** A capacity run of `meta`'s target (module `capacity:`) that finished at `wallMs`: its series replace the last run's. */
  recordCapacity(meta: TargetMeta, report: CapacityReport, wallMs: number): void {
    this.capacity.record(meta, report, wallMs);
  }

  /** The target's module no longer has `capacity:`: its capacity series go. */
  forgetCapacity(targetName: string): void {
    this.capacity.forget(targetName);
  }

  /** A posture run of `meta`'s target (module `posture:`) that finished at `wallMs`: its series replace the last run's. */
  recordPosture(meta: TargetMeta, findings: readonly PostureFinding[], wallMs: number): void {
    this.posture.record(meta, findings, wallMs);
  }

  /** The target's module no longer has `posture:`: its posture series go. */
  forgetPosture(targetName: string): void {
    this.posture.forget(targetName);
  }

  /** A run of `meta`'s target was skipped: the previous one was still going when this one was due. */
  skipped(meta: TargetMeta): void {
    this.targets.skipped(meta);
  }

  observeLag(seconds: number): void {
    this.targets.observeLag(seconds);
  }

  /** A configuration load or reload finished (`wallMs`: ms since the epoch); call it after the initial load too. */
  configReloaded(ok: boolean, wallMs: number): void {
    this.targets.configReloaded(ok, wallMs);
  }

  /** Remove every series of a target that is no longer configured. */
  forget(targetName: string): void {
    this.targets.forget(targetName);
    this.mx.forget(targetName);
    this.roundtrip.forget(targetName);
    this.capacity.forget(targetName);
    this.posture.forget(targetName);
  }

  /** A reload changed the set of static label names (the same list again changes nothing). */
  setStaticLabelNames(names: readonly string[]): void {
    if (names.join() === this.staticLabelNames.join()) return;
    this.staticLabelNames = [...names];
    this.targets.setStaticLabelNames(names);
    this.mx.setStaticLabelNames(names);
    this.roundtrip.setStaticLabelNames(names);
    this.capacity.setStaticLabelNames(names);
    this.posture.setStaticLabelNames(names);
  }
}

/**
 * Results of an mx:// target: each MX host's carries `mx`; a run that found no MX host to try (DNS failure,
 * null MX) has one result without it, known by its mx:// URL.
 */
function isMxRun(results: readonly CheckResult[]): boolean {
  return results.some((r) => r.mx !== undefined || r.url.startsWith('mx://'));
}
