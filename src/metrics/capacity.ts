import { Gauge, type Metric, type Registry } from 'prom-client';
import { CAPACITY_PHASES, CAPACITY_RESULTS, type CapacityReport } from '../core/capacity.js';
import type { TargetMeta } from '../core/target-meta.js';
import { staticLabels } from './labels.js';

const NAMES = [
  'smtp_probe_capacity_phase_seconds', 'smtp_probe_capacity_sessions', 'smtp_probe_capacity_max_concurrent_ok',
  'smtp_probe_capacity_last_run_timestamp_seconds',
] as const;

/** The `quantile` label of smtp_probe_capacity_phase_seconds: p50, p95, and the max as quantile "1". */
export const CAPACITY_QUANTILES = [['0.5', 'p50Ms'], ['0.95', 'p95Ms'], ['1', 'maxMs']] as const;

/** One line of a family: prom-client prints `metricName{labels} value`. */
interface Line {
  value: number;
  labels: Record<string, string>;
  metricName: string;
}

/**
 * smtp_probe_capacity_phase_seconds is a summary, as a `quantile` label must be (promtool rejects one on a gauge),
 * but of one run, not of all time: each target's quantiles, `_sum` and `_count` are its last run's, set and
 * removed together. prom-client's Summary estimates quantiles over its own observations; these are exact, from
 * the run. Registered as prom-client registers any metric: an object with name, help, type and get().
 */
class LastRunSummary {
  readonly type = 'summary';
  readonly aggregator = 'sum';
  private readonly byTarget = new Map<string, Line[]>();

  constructor(
    readonly name: string,
    readonly help: string,
    readonly labelNames: string[],
    registry: Registry,
  ) {
    registry.registerMetric(this as unknown as Metric);
  }

  set(target: string, base: Record<string, string>, phases: CapacityReport['phases']): void {
    const lines: Line[] = [];
    for (const phase of CAPACITY_PHASES) {
      const stats = phases[phase];
      if (!stats) continue;
      for (const [quantile, key] of CAPACITY_QUANTILES) {
        lines.push({ value: stats[key] / 1000, labels: { ...base, phase, quantile }, metricName: this.name });
      }
      lines.push({ value: (stats.meanMs * stats.count) / 1000, labels: { ...base, phase }, metricName: `${this.name}_sum` });
      lines.push({ value: stats.count, labels: { ...base, phase }, metricName: `${this.name}_count` });
    }
    if (lines.length > 0) this.byTarget.set(target, lines);
    else this.byTarget.delete(target);
  }

  remove(target: string): void {
    this.byTarget.delete(target);
  }

  reset(): void {
    this.byTarget.clear();
  }

  async get(): Promise<{ name: string; help: string; type: string; aggregator: string; values: Line[] }> {
    return { name: this.name, help: this.help, type: this.type, aggregator: this.aggregator, values: [...this.byTarget.values()].flat() };
  }
}

/**
 * The last capacity run of each target with a module `capacity:`: p50/p95/max per phase, the sessions by result,
 * the most sessions open at once past their greeting, and when it ran. Every series is the last run's: a phase
 * that run did not time (tls without STARTTLS, ehlo until banner) has no series; every result has one (0 when
 * none). A run that could not start (the name did not resolve) or was cut short (shutdown, reload) changes nothing:
 * the timestamp then shows how old the figures are.
 */
export class CapacityMetrics {
  private phase!: LastRunSummary;
  private sessions!: Gauge;
  private maxOk!: Gauge;
  private lastRun!: Gauge;
  /** Each target's base labels, to remove its series. */
  private readonly held = new Map<string, Record<string, string>>();

  constructor(
    private readonly registry: Registry,
    private staticLabelNames: readonly string[],
  ) {
    this.create();
  }

  /** A capacity run of `meta`'s target that finished at `wallMs` (ms since the epoch). */
  record(meta: TargetMeta, report: CapacityReport, wallMs: number): void {
    this.forget(meta.name);
    const base = { target: meta.name, ...staticLabels(meta.labels, this.staticLabelNames) };
    this.phase.set(meta.name, base, report.phases);
    for (const result of CAPACITY_RESULTS) this.sessions.set({ ...base, result }, report.results[result]);
    this.maxOk.set(base, report.maxConcurrentOk);
    this.lastRun.set(base, wallMs / 1000);
    this.held.set(meta.name, base);
  }

  /** Remove the target's series: it is gone, or its module no longer has `capacity:`. */
  forget(targetName: string): void {
    const base = this.held.get(targetName);
    if (!base) return;
    this.phase.remove(targetName);
    for (const result of CAPACITY_RESULTS) this.sessions.remove({ ...base, result });
    this.maxOk.remove(base);
    this.lastRun.remove(base);
    this.held.delete(targetName);
  }

  /** New static label names: the families are made again (empty until each target's next run). */
  setStaticLabelNames(names: readonly string[]): void {
    for (const n of NAMES) this.registry.removeSingleMetric(n);
    this.staticLabelNames = names;
    this.held.clear();
    this.create();
  }

  private create(): void {
    const labelNames = ['target', ...this.staticLabelNames];
    const registers = [this.registry];
    this.phase = new LastRunSummary(
      NAMES[0], 'Last capacity run: p50 (quantile 0.5), p95 (0.95) and max (1) of each phase over its sessions, in seconds; _sum and _count of that run.',
      [...labelNames, 'phase', 'quantile'], this.registry,
    );
    this.sessions = new Gauge({
      name: NAMES[1], labelNames: [...labelNames, 'result'], registers,
      help: 'Last capacity run: sessions by how they ended (accepted, refused, 421, 4xx, 5xx, timeout, error).',
    });
    this.maxOk = new Gauge({ name: NAMES[2], labelNames, registers, help: 'Last capacity run: the most sessions open at once past a 220 greeting.' });
    this.lastRun = new Gauge({ name: NAMES[3], labelNames, registers, help: 'Unix time at which the last capacity run of the target finished.' });
  }
}
