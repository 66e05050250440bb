import { Gauge, type Registry } from 'prom-client';
import type { CheckResult } from '../core/result.js';
import type { TargetMeta } from '../core/target-meta.js';
import { mxHostLabel, staticLabels } from './labels.js';

const UP_RATIO = 'smtp_probe_mx_up_ratio';
const INFO = 'smtp_probe_mx_info';

/**
 * Domain-level series of mx:// targets: the share of MX hosts that passed (a degraded domain, one MX of several
 * failing, is between 0 and 1; a down one is 0), and which hosts with which preference the last run found.
 */
export class MxMetrics {
  private upRatio!: Gauge;
  private info!: Gauge;
  /** Per target: the label sets of its info series, to remove hosts that left the MX set. */
  private readonly hosts = new Map<string, Record<string, string>[]>();
  private readonly bases = new Map<string, Record<string, string>>();

  constructor(
    private readonly registry: Registry,
    private staticLabelNames: readonly string[],
  ) {
    this.create();
  }

  record(meta: TargetMeta, results: readonly CheckResult[]): void {
    const base = { target: meta.name, ...staticLabels(meta.labels, this.staticLabelNames) };
    this.bases.set(meta.name, base);
    const withMx = results.filter((r) => r.mx);
    this.upRatio.set(base, withMx.length === 0 ? 0 : withMx.filter((r) => r.ok).length / withMx.length);
    for (const old of this.hosts.get(meta.name) ?? []) this.info.remove(old);
    const now = withMx.map((r) => ({ ...base, mx_host: mxHostLabel(r.mx!.host), mx_preference: String(r.mx!.preference) }));
    for (const labels of now) this.info.set(labels, 1);
    this.hosts.set(meta.name, now);
  }

  forget(targetName: string): void {
    for (const old of this.hosts.get(targetName) ?? []) this.info.remove(old);
    this.hosts.delete(targetName);
    const base = this.bases.get(targetName);
    if (base) this.upRatio.remove(base);
    this.bases.delete(targetName);
  }

  /** A reload changed the static label names: the families are rebuilt, refilled by the next runs. */
  setStaticLabelNames(names: readonly string[]): void {
    this.registry.removeSingleMetric(UP_RATIO);
    this.registry.removeSingleMetric(INFO);
    this.staticLabelNames = names;
    this.hosts.clear();
    this.bases.clear();
    this.create();
  }

  private create(): void {
    const labels = ['target', ...this.staticLabelNames];
    this.upRatio = new Gauge({
      name: UP_RATIO,
      help: 'Share of an mx:// target\'s MX hosts whose last run passed (1 all, 0 none).',
      labelNames: labels,
      registers: [this.registry],
    });
    this.info = new Gauge({
      name: INFO,
      help: 'Always 1: the MX hosts (and preferences) the last run of an mx:// target found.',
      labelNames: [...labels, 'mx_host', 'mx_preference'],
      registers: [this.registry],
    });
  }
}

