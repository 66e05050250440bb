import { createHash } from 'node:crypto';
import { isIP } from 'node:net';
import type { Silence } from '../alerts/engine.js';
import { bindReceiver, type BoundReceiver } from '../alerts/providers/index.js';
import { resolveIsolated, resolveRules, selects } from '../alerts/rules.js';
import type { AlertRule, IsolatedSettings } from '../alerts/types.js';
import { formatDuration } from '../core/duration.js';
import type { CheckPlan } from '../core/plan.js';
import type { TargetMeta } from '../core/target-meta.js';
import { buildPlan, defaultGlobal, defaultModule, type GlobalSettings, type ModuleSettings } from '../plan/build.js';
import { DEFAULTS } from '../plan/defaults.js';
import type { FileReader } from './files.js';
import type { ConfigIssue, SourceMap } from './issues.js';
import { resolveModule, type ModuleContext } from './modules.js';
import { referenceIssues } from './references.js';
import type { RawConfig, RawTarget, WrittenConfig } from './schema.js';

/**
 * The validated file → the running config: global settings, modules with their files read, one plan per target,
 * alert rules with their defaults, receivers bound to their secrets. What needs the whole file is checked here.
 */

export interface ConfiguredTarget {
  name: string;
  url: string;
  module: string;
  intervalMs: number;
  labels: Record<string, string>;
  plan: CheckPlan;
  meta: TargetMeta;
}

export interface LoadedConfig {
  file: string;
  global: GlobalSettings;
  modules: Record<string, ModuleSettings>;
  targets: ConfiguredTarget[];
  /** Static label names across all targets, sorted. */
  staticLabelNames: string[];
  /** The `alerts:` section as the file wrote it (durations as text), for display; the rules in force are alertRules. */
  alerts: NonNullable<WrittenConfig['alerts']>;
  /** Alert rules with defaults applied. */
  alertRules: AlertRule[];
  /** Receivers bound to their options and secrets, by name. */
  receivers: BoundReceiver[];
  silences: Silence[];
  /** `alerts.isolated` with its defaults. */
  isolated: IsolatedSettings;
  /** A digest of the file's meaning, to tell a reload that changes nothing. */
  digest: string;
}

/** Cross-checks that need the whole file, file reading, and the typed config (`written`: the same file before the schema converted it). */
export function resolveConfig(
  raw: RawConfig,
  written: WrittenConfig,
  src: SourceMap,
  files: FileReader,
): { config: LoadedConfig | null; issues: ConfigIssue[] } {
  const issues: ConfigIssue[] = [];
  const global = resolveGlobal(raw.global ?? {});
  const ctx: ModuleContext = { src, issues, global, read: (path, name, strip = false) => files.read(path, name, strip) };
  const modules: Record<string, ModuleSettings> = { [DEFAULTS.module]: defaultModule() };
  for (const [name, m] of Object.entries(raw.modules ?? {})) modules[name] = resolveModule(name, m, ctx);

  issues.push(...referenceIssues(raw, src));
  if ((raw.targets ?? []).length === 0 && Object.keys(raw.modules ?? {}).length === 0) {
    // Loaded, it would run (or reload to) nothing at all: almost always a file emptied or cut short.
    issues.push(src.at(1, 1, 'the config defines nothing: no target and no module (an empty or truncated file?)'));
  }
  const alertRules = resolveRules(raw.alerts ?? {});
  const targets = (raw.targets ?? []).flatMap((t, i) => resolveTarget(t, i, modules, alertRules, ctx) ?? []);
  if (global.intervalMs < global.timeoutMs) {
    issues.push(src.issue(['global', raw.global?.interval ? 'interval' : 'timeout'], `interval is shorter than the timeout (${formatDuration(global.timeoutMs)})`));
  }
  if (global.web.headerTimeoutMs > global.web.requestTimeoutMs) {
    const key = raw.global?.web?.header_timeout !== undefined ? 'header_timeout' : 'request_timeout';
    issues.push(src.issue(['global', 'web', key], `header_timeout is longer than request_timeout (${formatDuration(global.web.requestTimeoutMs)})`));
  }
  const receivers = bindReceivers(raw, files, src, issues);
  issues.push(...files.issues);
  const config: LoadedConfig = {
    file: src.file, global, modules, targets, alerts: written.alerts ?? {}, alertRules, receivers, isolated: resolveIsolated(raw.alerts?.isolated),
    staticLabelNames: [...new Set(targets.flatMap((t) => Object.keys(t.labels)))].sort(),
    silences: (raw.alerts?.silences ?? []).map((s) => ({
      targets: s.targets ?? null, modules: s.modules ?? null, startsMs: Date.parse(s.starts), endsMs: Date.parse(s.ends),
    })),
    digest: createHash('sha256').update(JSON.stringify(raw)).update(files.digest()).digest('hex'),
  };
  // The config even with issues: an offline load drops those only a placeholder's stand-in caused (load.ts).
  return { config, issues };
}

function resolveGlobal(g: NonNullable<RawConfig['global']>): GlobalSettings {
  const d = defaultGlobal();
  return {
    intervalMs: g.interval ?? d.intervalMs,
    timeoutMs: g.timeout ?? d.timeoutMs,
    phaseTimeoutMs: g.phase_timeout ?? d.phaseTimeoutMs,
    concurrency: g.concurrency ?? d.concurrency,
    workers: g.workers ?? d.workers,
    listen: g.listen ?? d.listen,
    phaseHistograms: g.phase_histograms ?? d.phaseHistograms,
    stateFile: g.state_file ?? d.stateFile,
    history: g.history ?? d.history,
    historyFile: g.state_file === undefined ? null : `${g.state_file}.history`,
    ehlo: g.ehlo ?? d.ehlo,
    dnsServers: g.dns_servers ?? null,
    web: {
      maxConnections: g.web?.max_connections ?? d.web.maxConnections,
      maxConcurrentProbes: g.web?.max_concurrent_probes ?? d.web.maxConcurrentProbes,
      headerTimeoutMs: g.web?.header_timeout ?? d.web.headerTimeoutMs,
      requestTimeoutMs: g.web?.request_timeout ?? d.web.requestTimeoutMs,
      keepAliveTimeoutMs: g.web?.keep_alive_timeout ?? d.web.keepAliveTimeoutMs,
      reload: g.web?.reload ?? d.web.reload,
    },
  };
}

/** One target's plan under its module; null when the module is missing (reported by referenceIssues). */
function resolveTarget(
  t: RawTarget,
  i: number,
  modules: Record<string, ModuleSettings>,
  rules: readonly AlertRule[],
  ctx: ModuleContext,
): ConfiguredTarget | null {
  const path = ['targets', i];
  const moduleName = t.module ?? DEFAULTS.module;
  const mod = modules[moduleName];
  if (!mod) return null;
  const url = t.url;
  if (url.scheme !== 'mx' && t.max_mx !== undefined) ctx.issues.push(ctx.src.issue([...path, 'max_mx'], 'max_mx applies to mx:// targets only'));
  if (url.scheme === 'mx' && mod.capacity) {
    ctx.issues.push(ctx.src.issue([...path, 'url'], `module "${moduleName}" has capacity:, which measures one server: give the MX hosts as smtp:// targets, or use a module without capacity`));
  }
  if (mod.posture && isIP(url.host) !== 0) {
    ctx.issues.push(ctx.src.issue([...path, 'url'], `module "${moduleName}" has posture:, which judges a mail domain and its MX host names: give a domain or host name, not the address ${url.host}`));
  }
  const intervalMs = t.interval ?? ctx.global.intervalMs;
  const built = buildPlan(t.name, url, mod, ctx.global, { dnsServers: t.dns_servers ?? null, maxMx: t.max_mx ?? null });
  const plan = { ...built, watchCapabilities: watchedCapabilities(rules, t.name, moduleName) };
  // A global interval under the global timeout is reported once, at global.interval.
  const ownTiming = t.interval !== undefined || mod.timeoutMs !== null || mod.roundtrip !== null;
  const needed = plan.timeoutMs + (mod.roundtrip?.timeoutMs ?? 0);
  if (intervalMs < needed && ownTiming) {
    const where = t.interval !== undefined ? [...path, 'interval'] : ['modules', moduleName, mod.roundtrip ? 'roundtrip' : 'timeout'];
    const what = mod.roundtrip ? `its timeout plus round-trip timeout (${formatDuration(needed)})` : `its timeout of ${formatDuration(plan.timeoutMs)}`;
    ctx.issues.push(ctx.src.issue(where, `interval ${formatDuration(intervalMs)} of target "${t.name}" is shorter than ${what}`));
  }
  const labels = t.labels ?? {};
  const phaseHistograms = mod.phaseHistograms ?? ctx.global.phaseHistograms;
  return {
    name: t.name, url: url.url, module: moduleName, intervalMs, labels, plan,
    meta: { name: t.name, labels, module: moduleName, phaseHistograms, intervalMs },
  };
}

/** What the `capability` rules that select this target ask of it: judged and recorded on every run. */
function watchedCapabilities(rules: readonly AlertRule[], name: string, module: string): string[] {
  const asked = rules.filter((r) => r.kind === 'capability' && selects(r, { name, module })).flatMap((r) => r.require ?? []);
  return [...new Set(asked)];
}

/** Receivers with their `*_file` secrets read at load and their options checked; problems at their keys. */
function bindReceivers(raw: RawConfig, files: FileReader, src: SourceMap, issues: ConfigIssue[]): BoundReceiver[] {
  const out: BoundReceiver[] = [];
  for (const [i, r] of (raw.alerts?.receivers ?? []).entries()) {
    const secrets: Record<string, string> = {};
    let unread = false;
    for (const [key, value] of Object.entries(r)) {
      if (!key.endsWith('_file') || typeof value !== 'string') continue;
      const text = files.read(['alerts', 'receivers', i, key], value, true);
      if (text !== undefined) secrets[key] = text;
      else unread = true;
    }
    if (unread) continue; // already reported where the file is named
    const bound = bindReceiver(r, secrets);
    if (bound.ok) out.push(bound.receiver);
    else for (const issue of bound.issues) issues.push(src.issue(['alerts', 'receivers', i, issue.key], issue.message));
  }
  return out;
}

export { referenceIssues } from './references.js';
