import { Gauge, type Registry } from 'prom-client';
import { worstOf, type PostureCheckName, type PostureFinding, type PostureVerdict } from '../core/posture.js';
import type { TargetMeta } from '../core/target-meta.js';
import { staticLabels } from './labels.js';

const NAMES = ['smtp_probe_posture_result', 'smtp_probe_posture_info', 'smtp_probe_posture_last_run_timestamp_seconds'] as const;

/** smtp_probe_posture_result's value of a verdict; n/a has no series. */
export const POSTURE_VALUE: Readonly<Record<Exclude<PostureVerdict, 'n/a'>, number>> = { pass: 1, warn: 0.5, fail: 0 };

/** One series of a posture run: a check of the domain (`mx_host` "") or of one MX host, the worst over its addresses. */
export interface PostureSeries {
  check: PostureCheckName;
  mxHost: string;
  result: PostureVerdict;
  reason: string;
}

/**
 * A posture run's findings → one series per (check, MX host): a check of the domain has `mx_host` "", a check of
 * an address counts toward its MX host, which takes the worst of its addresses (with that address's reason), as
 * the contract's labels are per MX host. In the order of the findings.
 */
export function postureSeries(findings: readonly PostureFinding[]): PostureSeries[] {
  const groups = new Map<string, PostureFinding[]>();
  for (const f of findings) {
    const k = `${f.check}\u0000${f.mxHost ?? ''}`;
    const g = groups.get(k);
    if (g) g.push(f);
    else groups.set(k, [f]);
  }
  return [...groups.values()].map((g) => {
    const w = worstOf(g)!;
    return { check: w.check, mxHost: w.mxHost ?? '', result: w.result, reason: w.reason ?? '' };
  });
}

/**
 * The last posture run of each target whose module has `posture:`: smtp_probe_posture_result per (check, MX host)
 * — 1 pass, 0.5 warn, 0 fail, no series for n/a — and smtp_probe_posture_info (always 1) carrying the verdict and
 * reason as labels, n/a included; and when the run finished. Every series is the last run's.
 */
export class PostureMetrics {
  private result!: Gauge;
  private info!: Gauge;
  private lastRun!: Gauge;
  /** Each target's label sets, to remove its series. */
  private readonly held = new Map<string, { base: Record<string, string>; result: Record<string, string>[]; info: Record<string, string>[] }>();

  constructor(
    private readonly registry: Registry,
    private staticLabelNames: readonly string[],
  ) {
    this.create();
  }

  /** A posture run of `meta`'s target that finished at `wallMs` (ms since the epoch): its series replace the last run's. */
  record(meta: TargetMeta, findings: readonly PostureFinding[], wallMs: number): void {
    this.forget(meta.name);
    const base = { target: meta.name, ...staticLabels(meta.labels, this.staticLabelNames) };
    const held = { base, result: [] as Record<string, string>[], info: [] as Record<string, string>[] };
    for (const s of postureSeries(findings)) {
      const where = { ...base, check: s.check, mx_host: s.mxHost };
      if (s.result !== 'n/a') {
        this.result.set(where, POSTURE_VALUE[s.result]);
        held.result.push(where);
      }
      const info = { ...where, result: s.result, reason: s.reason };
      this.info.set(info, 1);
      held.info.push(info);
    }
    this.lastRun.set(base, wallMs / 1000);
    this.held.set(meta.name, held);
  }

  /** Remove the target's series: it is gone, or its module no longer has `posture:`. */
  forget(targetName: string): void {
    const held = this.held.get(targetName);
    if (!held) return;
    for (const l of held.result) this.result.remove(l);
    for (const l of held.info) this.info.remove(l);
    this.lastRun.remove(held.base);
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
    this.result = new Gauge({
      name: NAMES[0], labelNames: [...labelNames, 'check', 'mx_host'], registers,
      help: 'Last posture run: 1 pass, 0.5 warn, 0 fail, per check and MX host (mx_host "" for a check of the domain; the worst of the host\'s addresses); no series for n/a.',
    });
    this.info = new Gauge({
      name: NAMES[1], labelNames: [...labelNames, 'check', 'mx_host', 'result', 'reason'], registers,
      help: 'Last posture run: always 1; the verdict (pass, warn, fail, n/a) and its reason ("" when none) as labels, per check and MX host.',
    });
    this.lastRun = new Gauge({ name: NAMES[2], labelNames, registers, help: 'Unix time at which the last posture run of the target finished.' });
  }
}
