import { createHash } from 'node:crypto';
import {
  DEFAULTS, defaultGlobal, defaultModule, defaultSteps, normalizeSteps, parseListen, planFor,
  type ResolvedGlobal, type ResolvedModule,
} from './model.js';
import { formatDuration, parseDuration } from '../core/duration.js';
import type { FileReader } from './files.js';
import type { Silence } from '../alerts/engine.js';
import { bindReceiver, type BoundReceiver, type ReceiverConfig } from '../alerts/providers/index.js';
import { resolveRules } from '../alerts/rules.js';
import type { AlertRule } from '../alerts/types.js';
import { parseExpectation, type Expectation } from '../core/expect.js';
import { makeSend, type CheckPlan, type RoundtripPlan, type StepKind } from '../core/plan.js';
import { parseMailboxUrl } from '../mailbox/url.js';
import type { Phase } from '../core/result.js';
import { parseTargetUrl, type TargetUrl } from '../core/target.js';
import type { TargetMeta } from '../core/target-meta.js';
import type { TlsMinVersion, TlsMode } from '../core/tls.js';
import type { SaslMechanism } from '../core/sasl.js';
import type { ConfigIssue, SourceMap } from './issues.js';
import type { RawConfig, RawModule } from './schema.js';

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
  global: ResolvedGlobal;
  modules: Record<string, ResolvedModule>;
  targets: ConfiguredTarget[];
  /** Static label names across all targets, sorted. */
  staticLabelNames: string[];
  alerts: NonNullable<RawConfig['alerts']>;
  /** Alert rules with defaults applied. */
  alertRules: AlertRule[];
  /** Receivers bound to their options and secrets, by name. */
  receivers: BoundReceiver[];
  silences: Silence[];
  /** A digest of the file's meaning, to tell a reload that changes nothing. */
  digest: string;
}

const MIN_VERSION: Record<string, TlsMinVersion> = { TLS10: 'TLSv1', TLS11: 'TLSv1.1', TLS12: 'TLSv1.2', TLS13: 'TLSv1.3' };

/** Cross-checks that need the whole file, file reading, and the typed config. */
export function resolveConfig(raw: RawConfig, src: SourceMap, files: FileReader): { config: LoadedConfig | null; issues: ConfigIssue[] } {
  const issues: ConfigIssue[] = [];
  const ms = (v: string | undefined, fallback: number): number => (v === undefined ? fallback : (parseDuration(v) as number));
  const g = raw.global ?? {};
  const defaults = defaultGlobal();
  const global: ResolvedGlobal = {
    intervalMs: ms(g.interval, defaults.intervalMs),
    timeoutMs: ms(g.timeout, defaults.timeoutMs),
    phaseTimeoutMs: ms(g.phase_timeout, defaults.phaseTimeoutMs),
    concurrency: g.concurrency ?? defaults.concurrency,
    listen: g.listen === undefined ? defaults.listen : parseListen(g.listen),
    phaseHistograms: g.phase_histograms ?? defaults.phaseHistograms,
    stateFile: g.state_file ?? defaults.stateFile,
    ehlo: g.ehlo ?? defaults.ehlo,
    dnsServers: g.dns_servers ?? null,
  };
  const file = (path: (string | number)[], name: string, strip = false): string | undefined => files.read(path, name, strip);

  const modules: Record<string, ResolvedModule> = { [DEFAULTS.module]: defaultModule() };
  for (const [name, m] of Object.entries(raw.modules ?? {})) {
    modules[name] = resolveModule(name, m, ['modules', name], src, issues, file, global);
  }

  issues.push(...referenceIssues(raw, src));
  const targets: ConfiguredTarget[] = [];
  for (const [i, t] of (raw.targets ?? []).entries()) {
    const path = ['targets', i];
    const moduleName = t.module ?? DEFAULTS.module;
    const mod = modules[moduleName];
    if (!mod) continue;
    const url = parseTargetUrl(t.url) as TargetUrl;
    if (url.scheme !== 'mx' && t.max_mx !== undefined) issues.push(src.issue([...path, 'max_mx'], 'max_mx applies to mx:// targets only'));
    const intervalMs = ms(t.interval, global.intervalMs);
    const plan = planFor(t.name, url, mod, global, { dnsServers: t.dns_servers ?? null, maxMx: t.max_mx ?? null });
    // A global interval under the global timeout is reported once, at global.interval (below).
    const ownTiming = t.interval !== undefined || mod.timeoutMs !== null || mod.roundtrip !== null;
    const needed = plan.timeoutMs + (mod.roundtrip?.timeoutMs ?? 0);
    if (intervalMs < needed && ownTiming) {
      const where = t.interval !== undefined ? [...path, 'interval'] : ['modules', moduleName, mod.roundtrip ? 'roundtrip' : 'timeout'];
      const what = mod.roundtrip ? `its timeout plus round-trip timeout (${formatDuration(needed)})` : `its timeout of ${formatDuration(plan.timeoutMs)}`;
      issues.push(src.issue(where, `interval ${formatDuration(intervalMs)} of target "${t.name}" is shorter than ${what}`));
    }
    const labels = t.labels ?? {};
    const phaseHistograms = mod.phaseHistograms ?? global.phaseHistograms;
    targets.push({
      name: t.name, url: url.url, module: moduleName, intervalMs, labels, plan,
      meta: { name: t.name, labels, module: moduleName, phaseHistograms, intervalMs },
    });
  }
  if (global.intervalMs < global.timeoutMs) {
    issues.push(src.issue(['global', g.interval ? 'interval' : 'timeout'], `interval is shorter than the timeout (${formatDuration(global.timeoutMs)})`));
  }
  const receivers = bindReceivers(raw, files, src, issues);
  issues.push(...files.issues);
  const staticLabelNames = [...new Set(targets.flatMap((t) => Object.keys(t.labels)))].sort();
  const config: LoadedConfig = {
    file: src.file, global, modules, targets, staticLabelNames, alerts: raw.alerts ?? {},
    alertRules: resolveRules(raw.alerts ?? {}),
    receivers,
    silences: (raw.alerts?.silences ?? []).map((s) => ({
      targets: s.targets ?? null, modules: s.modules ?? null, startsMs: Date.parse(s.starts), endsMs: Date.parse(s.ends),
    })),
    digest: createHash('sha256').update(JSON.stringify(raw)).update(files.digest()).digest('hex'),
  };
  return { config: issues.length > 0 ? null : config, issues };
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
    const bound = bindReceiver(r as ReceiverConfig, secrets);
    if (bound.ok) out.push(bound.receiver);
    else for (const issue of bound.issues) issues.push(src.issue(['alerts', 'receivers', i, issue.key], issue.message));
  }
  return out;
}

function resolveModule(
  name: string,
  m: RawModule,
  path: (string | number)[],
  src: SourceMap,
  issues: ConfigIssue[],
  file: (path: (string | number)[], name: string, strip?: boolean) => string | undefined,
  global: ResolvedGlobal,
): ResolvedModule {
  const tc = m.tls_config ?? {};
  const tp = [...path, 'tls_config'];
  let auth: CheckPlan['auth'] = null;
  if (m.auth) {
    const ap = [...path, 'auth'];
    if (m.auth.password !== undefined && m.auth.password_file !== undefined) {
      issues.push(src.issue([...ap, 'password_file'], 'give password or password_file, not both'));
    }
    const password = m.auth.password_file !== undefined ? file([...ap, 'password_file'], m.auth.password_file, true) : m.auth.password;
    if (password === undefined && m.auth.password_file === undefined) {
      issues.push(src.issue(ap, 'needs password_file (or password: ${ENV_VAR})'));
    }
    auth = {
      username: m.auth.username,
      password: password ?? '',
      mechanism: (m.auth.mechanism as SaslMechanism | undefined) ?? null,
      allowPlaintext: m.auth.allow_plaintext ?? false,
    };
  }
  const send = m.send
    ? makeSend({
        from: m.send.from ?? `smtp-probe@${m.ehlo ?? global.ehlo}`,
        to: m.send.to,
        deliver: m.send.deliver ?? true,
        headers: m.send.headers ?? {},
        size: m.send.size ?? null,
        ...(m.send.subject !== undefined ? { subject: m.send.subject } : {}),
        ...(m.send.body !== undefined ? { body: m.send.body } : {}),
      })
    : null;
  const expect: Partial<Record<Phase, Expectation>> = {};
  for (const [phase, codes] of Object.entries(m.expect ?? {})) {
    const e = parseExpectation((codes ?? []).map(String).join(','));
    if (typeof e !== 'string') expect[phase as Phase] = e;
  }
  let bannerPattern: RegExp | null = null;
  if (m.banner_pattern !== undefined) {
    try {
      bannerPattern = new RegExp(m.banner_pattern);
    } catch (e) {
      issues.push(src.issue([...path, 'banner_pattern'], (e as Error).message));
    }
  }
  const steps = m.steps ? normalizeSteps(m.steps, auth !== null, send !== null) : null;
  if (typeof steps === 'string') issues.push(src.issue([...path, 'steps'], steps));
  const tlsMode = (m.tls as TlsMode | undefined) ?? 'opportunistic';
  const ran = typeof steps === 'string' || steps === null ? defaultSteps(tlsMode, auth !== null, send !== null) : steps;
  for (const phase of Object.keys(expect) as Phase[]) {
    const missing = unreachable(phase, ran, tlsMode);
    if (missing) issues.push(src.issue([...path, 'expect', phase], `the module never reaches the ${phase} phase (${missing})`));
  }
  const ms = (v: string | undefined): number | null => (v === undefined ? null : (parseDuration(v) as number));
  return {
    name,
    tls: (m.tls as TlsMode | undefined) ?? null,
    ca: tc.ca_file !== undefined ? file([...tp, 'ca_file'], tc.ca_file) : undefined,
    cert: tc.cert_file !== undefined ? file([...tp, 'cert_file'], tc.cert_file) : undefined,
    key: tc.key_file !== undefined ? file([...tp, 'key_file'], tc.key_file) : undefined,
    serverName: tc.server_name,
    insecure: tc.insecure_skip_verify ?? false,
    minVersion: tc.min_version ? MIN_VERSION[tc.min_version] : undefined,
    ehlo: m.ehlo ?? null,
    ipFamily: m.ip_protocol ?? null,
    sourceAddress: m.source_ip_address ?? null,
    timeoutMs: ms(m.timeout),
    phaseTimeoutMs: ms(m.phase_timeout),
    auth,
    send,
    expect,
    requireCapabilities: m.require_capabilities ?? [],
    bannerPattern,
    minCertDays: m.min_cert_days ?? null,
    steps: typeof steps === 'string' ? null : steps,
    probeTargets: m.probe_targets ? m.probe_targets.map((u) => (parseTargetUrl(u) as TargetUrl).url) : null,
    phaseHistograms: m.phase_histograms ?? null,
    hasCredentials: auth !== null || m.roundtrip !== undefined,
    roundtrip: resolveRoundtrip(m, [...path, 'roundtrip'], src, issues, file),
  };
}

function resolveRoundtrip(
  m: RawModule,
  path: (string | number)[],
  src: SourceMap,
  issues: ConfigIssue[],
  file: (path: (string | number)[], name: string, strip?: boolean) => string | undefined,
): RoundtripPlan | null {
  const r = m.roundtrip;
  if (!r) return null;
  if (!m.send) issues.push(src.issue(path, 'a round trip reads back the test message: the module needs send.to'));
  if (m.send?.deliver === false) issues.push(src.issue(path, 'a round trip needs send.deliver: true'));
  const url = parseMailboxUrl(r.mailbox);
  if (typeof url === 'string') {
    issues.push(src.issue([...path, 'mailbox'], url));
    return null;
  }
  if (r.password !== undefined && r.password_file !== undefined) issues.push(src.issue([...path, 'password_file'], 'give password or password_file, not both'));
  if (r.password === undefined && r.password_file === undefined) issues.push(src.issue(path, 'needs password_file (or password: ${ENV_VAR})'));
  const password = r.password_file !== undefined ? file([...path, 'password_file'], r.password_file, true) : r.password;
  return {
    mailbox: {
      ...url,
      username: r.username,
      password: password ?? '',
      starttls: url.protocol === 'pop3' || url.protocol === 'imap',
      allowPlaintext: r.allow_plaintext ?? false,
      ca: r.ca_file !== undefined ? file([...path, 'ca_file'], r.ca_file) : undefined,
      servername: r.server_name ?? url.host,
      insecure: r.insecure_skip_verify ?? false,
      folders: r.folders,
    },
    timeoutMs: r.timeout === undefined ? 60_000 : (parseDuration(r.timeout) as number),
    pollMs: r.poll_interval === undefined ? 1000 : (parseDuration(r.poll_interval) as number),
  };
}

/** Why a phase with an expectation would never run under these steps, or null. */
function unreachable(phase: Phase, steps: StepKind[], tls: TlsMode): string | null {
  const needs: Partial<Record<Phase, [StepKind, string]>> = {
    ehlo: ['ehlo', 'it has no ehlo step'], helo: ['ehlo', 'it has no ehlo step'],
    starttls: ['starttls', 'it has no starttls step'], ehlo_tls: ['starttls', 'it has no starttls step'],
    auth: ['auth', 'it has no auth step; add auth'], noop: ['noop', 'it has no noop step'],
    mail: ['send', 'it has no send step; add send.to'], rcpt: ['send', 'it has no send step; add send.to'],
    data: ['send', 'it has no send step; add send.to'], message: ['send', 'it has no send step; add send.to'],
    rset: ['send', 'it has no send step; add send.to'],
  };
  const need = needs[phase];
  if (need && !steps.includes(need[0])) return need[1];
  if ((phase === 'starttls' || phase === 'ehlo_tls') && (tls === 'none' || tls === 'implicit')) return `tls is ${tls}`;
  return null;
}

type Loose = Record<string, unknown>;
const obj = (v: unknown): Loose => (v && typeof v === 'object' && !Array.isArray(v) ? (v as Loose) : {});
const arr = (v: unknown): unknown[] => (Array.isArray(v) ? v : []);
const str = (v: unknown): string | null => (typeof v === 'string' ? v : null);

/**
 * Names that refer to each other: duplicate targets, receivers and rules; targets naming a module, rules naming
 * receivers, targets and modules. Works on the unvalidated file too, so a schema error elsewhere does not hide these.
 */
export function referenceIssues(input: unknown, src: SourceMap): ConfigIssue[] {
  const issues: ConfigIssue[] = [];
  const raw = obj(input);
  const modules = new Set([DEFAULTS.module, ...Object.keys(obj(raw.modules))]);
  const targets = new Map<string, number>();
  for (const [i, t] of arr(raw.targets).entries()) {
    const name = str(obj(t).name);
    const module = obj(t).module === undefined ? DEFAULTS.module : str(obj(t).module);
    if (name !== null) {
      const first = targets.get(name);
      if (first !== undefined) issues.push(src.issue(['targets', i, 'name'], `duplicate target name "${name}" (also targets[${first}])`));
      else targets.set(name, i);
    }
    if (module !== null && !modules.has(module)) {
      const known = [...modules].filter((m) => m !== DEFAULTS.module);
      issues.push(src.issue(['targets', i, 'module'], `module "${module}" is not defined${known.length ? ` (modules: ${known.join(', ')})` : ''}`));
    }
  }
  const alerts = obj(raw.alerts);
  const receivers = new Set<string>();
  for (const [i, r] of arr(alerts.receivers).entries()) {
    const name = str(obj(r).name);
    if (name === null) continue;
    if (receivers.has(name)) issues.push(src.issue(['alerts', 'receivers', i, 'name'], `duplicate receiver name "${name}"`));
    receivers.add(name);
  }
  const rules = new Set<string>();
  for (const [i, r] of arr(alerts.rules).entries()) {
    const p = ['alerts', 'rules', i];
    const name = str(obj(r).name);
    if (name !== null && rules.has(name)) issues.push(src.issue([...p, 'name'], `duplicate rule name "${name}"`));
    if (name !== null) rules.add(name);
    const refs: [string, Set<string> | Map<string, number>, string][] = [
      ['receivers', receivers, 'receiver "%" is not defined in alerts.receivers'],
      ['targets', targets, 'target "%" is not defined'],
      ['modules', modules, 'module "%" is not defined'],
    ];
    for (const [key, known, message] of refs) {
      arr(obj(r)[key]).forEach((v, j) => {
        const ref = str(v);
        if (ref !== null && !known.has(ref)) issues.push(src.issue([...p, key, j], message.replace('%', ref)));
      });
    }
  }
  for (const [i, s] of arr(alerts.silences).entries()) {
    for (const [key, known, what] of [['targets', targets, 'target'], ['modules', modules, 'module']] as const) {
      arr(obj(s)[key]).forEach((v, j) => {
        const ref = str(v);
        if (ref !== null && !known.has(ref)) issues.push(src.issue(['alerts', 'silences', i, key, j], `${what} "${ref}" is not defined`));
      });
    }
    const starts = Date.parse(String(obj(s).starts));
    const ends = Date.parse(String(obj(s).ends));
    if (Number.isFinite(starts) && Number.isFinite(ends) && ends <= starts) {
      issues.push(src.issue(['alerts', 'silences', i, 'ends'], 'ends before it starts'));
    }
  }
  return issues;
}

export {
  DEFAULTS, defaultGlobal, defaultModule, defaultSteps, normalizeSteps, planFor, type ResolvedGlobal, type ResolvedModule,
} from './model.js';
