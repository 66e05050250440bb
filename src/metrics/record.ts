/**
 * The long-lived series on /metrics (docs/metrics.md): a projection of each target's latest result,
 * plus counters. Every per-target series is labelled `target`, `mx_host` for per-MX results, and the
 * target's static labels. Series the target's latest result did not produce are removed.
 *
 * Cost: record() touches only the series of the target it records (a few dozen Map operations on label
 * objects made once per target, series.ts), whatever the number of targets; forget() likewise. Only
 * setStaticLabelNames() (a reload that changes the set of static label keys) walks every target.
 */
import { Gauge, Histogram, type Registry } from 'prom-client';
import type { CheckResult, FailureReason, Phase, WarningKind } from '../core/result.js';
import type { TargetMeta } from '../core/target-meta.js';
import { mxHostLabel, normalizeStaticLabelNames, type TlsVersionLabel } from './labels.js';
import { ModulePhaseHistogram } from './module-histogram.js';
import { projectResult, type Projection } from './projection.js';
import { createLabelSet, SeriesCounter, SeriesGauge, type LabelSet } from './series.js';

/** smtp_probe_phase_duration_seconds buckets: 1 ms (loopback) to 30 s (a slow queue or a tarpit). */
export const PHASE_BUCKETS: readonly number[] = Object.freeze([
  0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30,
]);
/** smtp_probe_schedule_lag_seconds buckets: how late runs start, 5 ms to 2 min. */
export const LAG_BUCKETS: readonly number[] = Object.freeze([
  0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120,
]);

/**
 * The labels the code sets itself, as types: each family is typed with its label set and every label object
 * is built by one typed helper, so a misspelt label name is a compile error. Static label names come from the
 * config at run time; they ride along in the same objects, untyped.
 */
interface TargetLabels { target: string; mx_host?: string }
type SeriesLabels = LabelSet<TargetLabels>;
type PhaseLabels = LabelSet<TargetLabels & { phase: Phase }>;
type ResultLabels = LabelSet<TargetLabels & { result: 'success' | 'failure' }>;
type FailureLabels = LabelSet<TargetLabels & { phase: Phase; reason: FailureReason }>;
type VersionLabels = LabelSet<TargetLabels & { version: TlsVersionLabel }>;
type WarningLabels = LabelSet<TargetLabels & { kind: WarningKind }>;

/** The per-target metric families; made anew by setStaticLabelNames. */
interface Families {
  success: SeriesGauge<TargetLabels>;
  duration: SeriesGauge<TargetLabels>;
  phaseLast: SeriesGauge<PhaseLabels>;
  phaseHistogram: Histogram<keyof TargetLabels | 'phase'>;
  replyCode: SeriesGauge<PhaseLabels>;
  runs: SeriesCounter<ResultLabels>;
  failures: SeriesCounter<FailureLabels>;
  skipped: SeriesCounter<TargetLabels>;
  lastRun: SeriesGauge<TargetLabels>;
  certExpiry: SeriesGauge<TargetLabels>;
  tlsVersion: SeriesGauge<VersionLabels>;
  tlsVerified: SeriesGauge<TargetLabels>;
  warnings: SeriesGauge<WarningLabels>;
}

/** One series set: a target (key '') or one MX host of an mx:// target. */
interface HostState {
  labels: SeriesLabels;
  /** The projection of the latest result: what the gauges show now, and what to remove when it changes. */
  last: Projection | null;
  runs: { success: number; failure: number };
  failures: Map<string, { phase: Phase; reason: FailureReason; count: number }>;
  histogramPhases: Set<Phase>;
  /** `labels` extended with each series' own labels, made once and shared by the families (see labelsWith). */
  extended: Map<string, SeriesLabels>;
}

interface TargetState {
  name: string;
  /** The target's static labels as configured (kept to rebuild the label sets). */
  configured: Readonly<Record<string, string>>;
  /** The static label values in use, one per static label name: tells when a reload changed them. */
  fingerprint: string;
  labels: SeriesLabels;
  skipped: number;
  hosts: Map<string, HostState>;
}

export interface TargetMetricsOptions {
  /** The program's version, for smtp_probe_build_info. */
  version: string;
  /**
   * Every static label name any target uses (the union over the config's targets). A target's labels under
   * other names are not exported. Names the metrics use themselves (`target`, `phase`, ...; see
   * labels.ts staticLabelNameProblem) are refused with a TypeError: the config should have rejected them.
   */
  staticLabelNames: readonly string[];
}

export class TargetMetrics {
  private readonly registry: Registry;
  private staticLabelNames: readonly string[];
  private families: Families;
  private readonly targets = new Map<string, TargetState>();
  private readonly lag: Histogram;
  /** smtp_probe_module_phase_duration_seconds: not a per-target family, so a change of static labels keeps it. */
  private readonly modulePhases: ModulePhaseHistogram;
  private readonly reloadSuccessful: Gauge;
  private readonly reloadSuccessTimestamp: Gauge;

  constructor(registry: Registry, options: TargetMetricsOptions) {
    this.registry = registry;
    this.staticLabelNames = normalizeStaticLabelNames(options.staticLabelNames);
    this.families = createFamilies(registry, this.staticLabelNames);
    this.modulePhases = new ModulePhaseHistogram(registry, PHASE_BUCKETS);
    this.lag = new Histogram({
      name: 'smtp_probe_schedule_lag_seconds',
      help: 'How late scheduled runs started, in seconds after they were due.',
      buckets: [...LAG_BUCKETS],
      registers: [registry],
    });
    const buildInfo = new Gauge<'version'>({
      name: 'smtp_probe_build_info',
      help: 'Always 1; the version label tells which smtp-probe is running.',
      labelNames: ['version'],
      registers: [registry],
    });
    buildInfo.set({ version: options.version }, 1);
    this.reloadSuccessful = new Gauge({
      name: 'smtp_probe_config_last_reload_successful',
      help: 'Whether the last configuration load or reload succeeded (1) or failed (0).',
      registers: [registry],
    });
    this.reloadSuccessTimestamp = new Gauge({
      name: 'smtp_probe_config_last_reload_success_timestamp_seconds',
      help: 'Unix time of the last successful configuration load or reload.',
      registers: [registry],
    });
  }

  /** Project one result of `meta`'s target onto its series. */
  record(meta: TargetMeta, result: CheckResult): void {
    const target = this.targetState(meta);
    const host = this.hostState(target, result.mx ? mxHostLabel(result.mx.host) : '');
    const next = projectResult(result);
    this.writeGauges(host, next);
    if (host.last) this.removeStale(host, next, host.last);
    this.countRun(host, next);
    this.observePhases(host, next, meta.phaseHistograms === 'target');
    this.modulePhases.observe(meta, next.phaseSeconds);
    host.last = next;
  }

  /**
   * Record every result of one run of an mx:// target (one per MX host), then remove the series of MX hosts
   * this run did not reach, so a host that left the MX set does not linger.
   */
  recordRun(meta: TargetMeta, results: readonly CheckResult[]): void {
    for (const result of results) this.record(meta, result);
    const target = this.targets.get(meta.name);
    if (!target) return;
    const reached = new Set(results.map((r) => (r.mx ? mxHostLabel(r.mx.host) : '')));
    for (const [key, host] of target.hosts) {
      if (!reached.has(key)) {
        this.removeHost(host);
        target.hosts.delete(key);
      }
    }
  }

  /** A run of `meta`'s target was skipped: the previous one was still going when this one was due. */
  skipped(meta: TargetMeta): void {
    const target = this.targetState(meta);
    target.skipped += 1;
    this.families.skipped.inc(target.labels);
  }

  observeLag(seconds: number): void {
    if (Number.isFinite(seconds)) this.lag.observe(Math.max(0, seconds));
  }

  /**
   * A configuration load or reload finished; `wallMs` is the wall-clock time (ms since the epoch). Call it
   * after the initial load too: until then smtp_probe_config_last_reload_successful is 0.
   */
  configReloaded(ok: boolean, wallMs: number): void {
    this.reloadSuccessful.set(ok ? 1 : 0);
    if (ok) this.reloadSuccessTimestamp.set(wallMs / 1000);
  }

  /** Remove every series of a target that is no longer configured (and its module's, when it was the last). */
  forget(targetName: string): void {
    this.dropTarget(targetName);
    this.modulePhases.forget(targetName);
  }

  /** Remove the target's own series (labelled with its name). */
  private dropTarget(targetName: string): void {
    const target = this.targets.get(targetName);
    if (!target) return;
    for (const host of target.hosts.values()) this.removeHost(host);
    this.families.skipped.remove(target.labels);
    this.targets.delete(targetName);
  }

  /**
   * A reload changed the set of static label names. The per-target families are created anew with the new
   * names and every known target's series are written again from what was recorded: gauges from its latest
   * result, counters with their totals. Phase histograms start again from zero (Prometheus reads that as a
   * counter reset). A target whose label values change with its new config restarts all its series on its
   * next record(), as a new series must.
   */
  setStaticLabelNames(names: readonly string[]): void {
    const normalized = normalizeStaticLabelNames(names);
    if (sameList(normalized, this.staticLabelNames)) return;
    for (const metric of Object.values(this.families)) this.registry.removeSingleMetric(metric.name);
    this.staticLabelNames = normalized;
    this.families = createFamilies(this.registry, normalized);
    for (const target of this.targets.values()) {
      target.fingerprint = this.fingerprint(target.configured);
      target.labels = this.seriesLabels(target.name, target.configured, '');
      this.families.skipped.inc(target.labels, target.skipped);
      for (const [key, host] of target.hosts) {
        host.labels = key === '' ? target.labels : this.seriesLabels(target.name, target.configured, key);
        host.extended.clear();
        host.histogramPhases.clear();
        this.replay(host);
      }
    }
  }

  private targetState(meta: TargetMeta): TargetState {
    const fingerprint = this.fingerprint(meta.labels);
    const known = this.targets.get(meta.name);
    if (known && known.fingerprint === fingerprint) return known;
    if (known) this.dropTarget(meta.name); // new label values: new series, the old ones must go
    const labels = this.seriesLabels(meta.name, meta.labels, '');
    const target: TargetState = { name: meta.name, configured: meta.labels, fingerprint, labels, skipped: 0, hosts: new Map() };
    this.families.skipped.inc(labels, 0);
    this.targets.set(meta.name, target);
    return target;
  }

  private hostState(target: TargetState, key: string): HostState {
    const known = target.hosts.get(key);
    if (known) return known;
    const host: HostState = {
      labels: key === '' ? target.labels : this.seriesLabels(target.name, target.configured, key),
      last: null, runs: { success: 0, failure: 0 }, failures: new Map(), histogramPhases: new Set(), extended: new Map(),
    };
    this.families.runs.inc(resultLabels(host, 'success'), 0);
    this.families.runs.inc(resultLabels(host, 'failure'), 0);
    target.hosts.set(key, host);
    return host;
  }

  /** `target`, then `mx_host` when there is one, then the static labels in name order. */
  private seriesLabels(name: string, configured: Readonly<Record<string, string>>, mxHost: string): SeriesLabels {
    const labels: Record<string, string> = { target: name };
    if (mxHost !== '') labels.mx_host = mxHost;
    for (const key of this.staticLabelNames) {
      const value = configured[key];
      if (value !== undefined) labels[key] = value;
    }
    return createLabelSet(labels as Record<string, string> & TargetLabels);
  }

  private fingerprint(configured: Readonly<Record<string, string>>): string {
    let fingerprint = '';
    for (const key of this.staticLabelNames) {
      const value = configured[key];
      fingerprint += value === undefined ? '\u0000' : `=${value}\u0000`;
    }
    return fingerprint;
  }

  private writeGauges(host: HostState, next: Projection): void {
    const f = this.families;
    f.success.set(host.labels, next.success ? 1 : 0);
    f.duration.set(host.labels, next.durationSeconds);
    if (next.finishedAtSeconds !== null) f.lastRun.set(host.labels, next.finishedAtSeconds);
    for (const [phase, seconds] of next.phaseSeconds) f.phaseLast.set(phaseLabels(host, phase), seconds);
    for (const [phase, code] of next.replyCodes) f.replyCode.set(phaseLabels(host, phase), code);
    if (next.certExpirySeconds !== null) f.certExpiry.set(host.labels, next.certExpirySeconds);
    if (next.tlsVersion !== null) f.tlsVersion.set(versionLabels(host, next.tlsVersion), 1);
    if (next.tlsVerified !== null) f.tlsVerified.set(host.labels, next.tlsVerified ? 1 : 0);
    for (const [kind, count] of next.warnings) f.warnings.set(warningLabels(host, kind), count);
  }

  /** Remove the series `previous` had and `next` has not. */
  private removeStale(host: HostState, next: Projection, previous: Projection): void {
    const f = this.families;
    for (const phase of previous.phaseSeconds.keys()) {
      if (!next.phaseSeconds.has(phase)) f.phaseLast.remove(phaseLabels(host, phase));
    }
    for (const phase of previous.replyCodes.keys()) {
      if (!next.replyCodes.has(phase)) f.replyCode.remove(phaseLabels(host, phase));
    }
    if (previous.certExpirySeconds !== null && next.certExpirySeconds === null) f.certExpiry.remove(host.labels);
    if (previous.tlsVersion !== null && previous.tlsVersion !== next.tlsVersion) {
      f.tlsVersion.remove(versionLabels(host, previous.tlsVersion));
    }
    if (previous.finishedAtSeconds !== null && next.finishedAtSeconds === null) f.lastRun.remove(host.labels);
    if (previous.tlsVerified !== null && next.tlsVerified === null) f.tlsVerified.remove(host.labels);
    for (const kind of previous.warnings.keys()) {
      if (!next.warnings.has(kind)) f.warnings.remove(warningLabels(host, kind));
    }
  }

  private countRun(host: HostState, next: Projection): void {
    const result = next.success ? 'success' : 'failure';
    host.runs[result] += 1;
    this.families.runs.inc(resultLabels(host, result));
    if (next.success || !next.failure) return;
    const { phase, reason } = next.failure;
    const key = `${phase}/${reason}`;
    const known = host.failures.get(key);
    if (known) known.count += 1;
    else host.failures.set(key, { phase, reason, count: 1 });
    this.families.failures.inc(failureLabels(host, phase, reason));
  }

  private observePhases(host: HostState, next: Projection, enabled: boolean): void {
    const histogram = this.families.phaseHistogram;
    if (enabled) {
      for (const [phase, seconds] of next.phaseSeconds) {
        histogram.observe(phaseLabels(host, phase), seconds);
        host.histogramPhases.add(phase);
      }
    } else if (host.histogramPhases.size > 0) {
      // phase_histograms was switched off for this target by a reload
      for (const phase of host.histogramPhases) histogram.remove(phaseLabels(host, phase));
      host.histogramPhases.clear();
    }
  }

  /** Write a host's series into freshly created families. */
  private replay(host: HostState): void {
    const f = this.families;
    if (host.last) this.writeGauges(host, host.last);
    f.runs.inc(resultLabels(host, 'success'), host.runs.success);
    f.runs.inc(resultLabels(host, 'failure'), host.runs.failure);
    for (const { phase, reason, count } of host.failures.values()) {
      f.failures.inc(failureLabels(host, phase, reason), count);
    }
  }

  private removeHost(host: HostState): void {
    const f = this.families;
    f.success.remove(host.labels);
    f.duration.remove(host.labels);
    f.lastRun.remove(host.labels);
    f.certExpiry.remove(host.labels);
    if (host.last) {
      for (const phase of host.last.phaseSeconds.keys()) f.phaseLast.remove(phaseLabels(host, phase));
      for (const phase of host.last.replyCodes.keys()) f.replyCode.remove(phaseLabels(host, phase));
      if (host.last.tlsVersion !== null) f.tlsVersion.remove(versionLabels(host, host.last.tlsVersion));
      for (const kind of host.last.warnings.keys()) f.warnings.remove(warningLabels(host, kind));
    }
    f.tlsVerified.remove(host.labels);
    f.runs.remove(resultLabels(host, 'success'));
    f.runs.remove(resultLabels(host, 'failure'));
    for (const { phase, reason } of host.failures.values()) f.failures.remove(failureLabels(host, phase, reason));
    for (const phase of host.histogramPhases) f.phaseHistogram.remove(phaseLabels(host, phase));
  }
}

/**
 * `host.labels` plus a series' own labels, made once per host and key and reused by every family and every
 * run: no allocation per record(), and prom-client renders the shared part once (shared-labels.ts).
 */
function labelsWith<O extends object>(host: HostState, key: string, own: O): LabelSet<TargetLabels & O> {
  let labels = host.extended.get(key);
  if (!labels) {
    labels = createLabelSet({ ...host.labels, ...own });
    host.extended.set(key, labels);
  }
  return labels as LabelSet<TargetLabels & O>;
}

function phaseLabels(host: HostState, phase: Phase): PhaseLabels {
  return labelsWith(host, phase, { phase });
}

function resultLabels(host: HostState, result: 'success' | 'failure'): ResultLabels {
  return labelsWith(host, `result=${result}`, { result });
}

function failureLabels(host: HostState, phase: Phase, reason: FailureReason): FailureLabels {
  return labelsWith(host, `${phase}/${reason}`, { phase, reason });
}

function versionLabels(host: HostState, version: TlsVersionLabel): VersionLabels {
  return labelsWith(host, `version=${version}`, { version });
}

function warningLabels(host: HostState, kind: WarningKind): WarningLabels {
  return labelsWith(host, `kind=${kind}`, { kind });
}

function sameList(a: readonly string[], b: readonly string[]): boolean {
  return a.length === b.length && a.every((name, i) => name === b[i]);
}

function createFamilies(registry: Registry, staticLabelNames: readonly string[]): Families {
  const family = (name: string, help: string) => ({ name, help, registry });
  return {
    success: new SeriesGauge(family('smtp_probe_success',
      'Whether the last run of the target passed (1) or failed (0).')),
    duration: new SeriesGauge(family('smtp_probe_duration_seconds',
      'How long the last run of the target took, in seconds.')),
    phaseLast: new SeriesGauge(family('smtp_probe_phase_last_duration_seconds',
      'How long each phase of the last run took, in seconds (several RCPTs add up).')),
    phaseHistogram: new Histogram({
      name: 'smtp_probe_phase_duration_seconds',
      help: 'Duration of each phase over all runs of the target, in seconds (phase_histograms: target).',
      // Static label names are only known at run time; they are typed as the fixed ones.
      labelNames: ['target', 'mx_host', ...staticLabelNames, 'phase'] as (keyof TargetLabels | 'phase')[],
      buckets: [...PHASE_BUCKETS],
      registers: [registry],
    }),
    replyCode: new SeriesGauge(family('smtp_probe_reply_code',
      'The last SMTP reply code seen in each phase of the last run.')),
    runs: new SeriesCounter(family('smtp_probe_runs_total',
      'Completed runs, by result (success or failure).')),
    failures: new SeriesCounter(family('smtp_probe_failures_total',
      'Failed runs, by the phase that failed and the reason.')),
    skipped: new SeriesCounter(family('smtp_probe_runs_skipped_total',
      'Runs not started because the previous run of the target was still going when they were due.')),
    lastRun: new SeriesGauge(family('smtp_probe_last_run_timestamp_seconds',
      'Unix time at which the last run of the target finished.')),
    certExpiry: new SeriesGauge(family('smtp_probe_tls_cert_expiry_timestamp_seconds',
      'Unix time at which the server certificate seen in the last run expires (notAfter).')),
    tlsVersion: new SeriesGauge(family('smtp_probe_tls_version_info',
      'Always 1; the version label tells the TLS version negotiated in the last run.')),
    tlsVerified: new SeriesGauge(family('smtp_probe_tls_verified',
      'Whether the server certificate seen in the last run verified (1) or not (0); absent when the run did no TLS.')),
    warnings: new SeriesGauge(family('smtp_probe_warnings',
      "The last run's warnings of each kind; a kind the last run did not have has no series.")),
  };
}
