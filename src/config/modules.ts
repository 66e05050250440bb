import type { CapacityModuleSettings } from '../core/capacity.js';
import { POSTURE_CHECKS, type PostureCheckName, type PostureModuleSettings } from '../core/posture.js';
import { formatDuration } from '../core/duration.js';
import type { Expectation } from '../core/expect.js';
import type { AuthPlan, RoundtripPlan, SendPlan, StepKind } from '../core/plan.js';
import type { Phase } from '../core/result.js';
import { MIN_VERSION_NAMES, type TlsMode } from '../core/tls.js';
import { defaultSteps, makeSend, missingSteps, normalizeSteps, type GlobalSettings, type ModuleSettings, type NeededStep } from '../plan/build.js';
import { DEFAULTS } from '../plan/defaults.js';
import type { ConfigIssue, ConfigPath, SourceMap } from './issues.js';
import type { RawModule } from './schema.js';

/**
 * One `modules:` entry → the module's settings: its files read (`*_file`, relative to the config), what needs two
 * keys at once checked, every problem reported at its key. Values arrive parsed (schema.ts): nothing is parsed here.
 */

/** What resolving a module needs from the loader. */
export interface ModuleContext {
  src: SourceMap;
  issues: ConfigIssue[];
  /** A file the config names, read once; undefined (and an issue at `path`) when unreadable. */
  read(path: ConfigPath, name: string, strip?: boolean): string | undefined;
  global: GlobalSettings;
}

export function resolveModule(name: string, m: RawModule, ctx: ModuleContext): ModuleSettings {
  const path = ['modules', name];
  const tc = m.tls_config ?? {};
  const tp = [...path, 'tls_config'];
  const auth = resolveAuth(m, path, ctx);
  const send = resolveSend(m, ctx.global);
  const steps = resolveSteps(m, path, auth !== null, send !== null, ctx);
  return {
    name,
    tls: m.tls ?? null,
    ca: tc.ca_file !== undefined ? ctx.read([...tp, 'ca_file'], tc.ca_file) : undefined,
    cert: tc.cert_file !== undefined ? ctx.read([...tp, 'cert_file'], tc.cert_file) : undefined,
    key: tc.key_file !== undefined ? ctx.read([...tp, 'key_file'], tc.key_file) : undefined,
    serverName: tc.server_name,
    insecure: tc.insecure_skip_verify ?? false,
    minVersion: tc.min_version ? MIN_VERSION_NAMES[tc.min_version] : undefined,
    ehlo: m.ehlo ?? null,
    ipFamily: m.ip_protocol ?? null,
    sourceAddress: m.source_ip_address ?? null,
    timeoutMs: m.timeout ?? null,
    phaseTimeoutMs: m.phase_timeout ?? null,
    auth,
    send,
    expect: resolveExpect(m, path, steps ?? defaultSteps(m.tls ?? 'opportunistic', auth !== null, send !== null), ctx),
    requireCapabilities: m.require_capabilities ?? [],
    bannerPattern: resolveBannerPattern(m, path, ctx),
    minCertDays: m.min_cert_days?.warning ?? null,
    criticalCertDays: m.min_cert_days?.critical ?? null,
    thresholds: { warningMs: m.thresholds?.warning ?? null, criticalMs: m.thresholds?.critical ?? null },
    steps,
    probeTargets: m.probe_targets ? m.probe_targets.map((u) => u.url) : null,
    phaseHistograms: m.phase_histograms ?? null,
    // anything the server may trust: a password, a mailbox, a client certificate, an address relays allow by IP
    hasCredentials: auth !== null || m.roundtrip !== undefined || tc.cert_file !== undefined || tc.key_file !== undefined
      || m.source_ip_address !== undefined,
    roundtrip: resolveRoundtrip(m, [...path, 'roundtrip'], ctx),
    capacity: resolveCapacity(m, [...path, 'capacity'], ctx),
    posture: resolvePosture(m, [...path, 'posture'], ctx),
  };
}

/** `posture:` with its defaults; each check's own keys (under its name) go to the run as the config gave them. */
function resolvePosture(m: RawModule, path: ConfigPath, ctx: ModuleContext): PostureModuleSettings | null {
  const p = m.posture;
  if (!p) return null;
  const { checks, every, dns_server, connect_to, ...perCheck } = p;
  const settings: PostureModuleSettings = {
    checks: checks ? POSTURE_CHECKS.filter((c) => checks.includes(c)) : [...POSTURE_CHECKS],
    everyMs: every ?? DEFAULTS.posture.everyMs,
    dnsServer: dns_server ?? null,
    connectTo: connect_to ?? [],
    options: perCheck as PostureModuleSettings['options'],
  };
  if (settings.everyMs < DEFAULTS.posture.minEveryMs) {
    ctx.issues.push(ctx.src.issue([...path, 'every'], `must be at least ${formatDuration(DEFAULTS.posture.minEveryMs)}`));
  }
  const unused = (Object.keys(perCheck) as PostureCheckName[]).filter((c) => perCheck[c as keyof typeof perCheck] !== undefined && !settings.checks.includes(c));
  for (const c of unused) ctx.issues.push(ctx.src.issue([...path, c], `options of ${c}, which checks: leaves out (add it to checks, or remove these options)`));
  return settings;
}

/** `capacity:` with its defaults; a run (its duration and one session's timeout) must end before the next is due. */
function resolveCapacity(m: RawModule, path: ConfigPath, ctx: ModuleContext): CapacityModuleSettings | null {
  const c = m.capacity;
  if (!c) return null;
  const d = DEFAULTS.capacity;
  const settings: CapacityModuleSettings = {
    sessions: c.sessions ?? d.sessions,
    until: c.until ?? d.until,
    durationMs: c.duration ?? d.durationMs,
    ratePerSecond: c.rate ?? null,
    everyMs: c.every ?? d.everyMs,
  };
  const longest = settings.durationMs + (m.timeout ?? ctx.global.timeoutMs);
  if (longest >= settings.everyMs) {
    ctx.issues.push(ctx.src.issue([...path, c.every !== undefined ? 'every' : 'duration'],
      `a capacity run takes up to ${formatDuration(longest)} (duration and one session's timeout): every must be longer, not ${formatDuration(settings.everyMs)}`));
  }
  return settings;
}

/** `password` or `password_file`, exactly one. */
function secret(
  value: string | undefined,
  file: string | undefined,
  path: ConfigPath,
  ctx: ModuleContext,
): string {
  if (value !== undefined && file !== undefined) ctx.issues.push(ctx.src.issue([...path, 'password_file'], 'give password or password_file, not both'));
  if (value === undefined && file === undefined) ctx.issues.push(ctx.src.issue(path, 'needs password_file (or password: ${ENV_VAR})'));
  return (file !== undefined ? ctx.read([...path, 'password_file'], file, true) : value) ?? '';
}

function resolveAuth(m: RawModule, path: ConfigPath, ctx: ModuleContext): AuthPlan | null {
  if (!m.auth) return null;
  return {
    username: m.auth.username,
    password: secret(m.auth.password, m.auth.password_file, [...path, 'auth'], ctx),
    mechanism: m.auth.mechanism ?? null,
    allowPlaintext: m.auth.allow_plaintext ?? false,
  };
}

function resolveSend(m: RawModule, global: GlobalSettings): SendPlan | null {
  if (!m.send) return null;
  return makeSend({
    from: m.send.from ?? `smtp-probe@${m.ehlo ?? global.ehlo}`,
    to: m.send.to,
    ...(m.send.deliver !== undefined ? { deliver: m.send.deliver } : {}),
    headers: m.send.headers ?? {},
    size: m.send.size ?? null,
    ...(m.send.subject !== undefined ? { subject: m.send.subject } : {}),
    ...(m.send.body !== undefined ? { body: m.send.body } : {}),
  });
}

function resolveSteps(m: RawModule, path: ConfigPath, hasAuth: boolean, hasSend: boolean, ctx: ModuleContext): StepKind[] | null {
  if (!m.steps) return null;
  const s = normalizeSteps(m.steps, hasAuth, hasSend);
  if (!s.ok) {
    ctx.issues.push(ctx.src.issue([...path, 'steps'], s.message));
    return null;
  }
  const key: Record<NeededStep, string> = { starttls: 'tls: starttls needs', auth: 'auth: needs', send: 'send: needs' };
  for (const step of missingSteps(s.steps, { starttls: m.tls === 'starttls', auth: hasAuth, send: hasSend })) {
    ctx.issues.push(ctx.src.issue([...path, 'steps'], `${key[step]} the ${step} step (add ${step} to steps)`));
  }
  return s.steps;
}

/** The module's expectations; one on a phase its steps never reach is an issue. */
function resolveExpect(m: RawModule, path: ConfigPath, steps: StepKind[], ctx: ModuleContext): Partial<Record<Phase, Expectation>> {
  const expect = m.expect ?? {};
  for (const phase of Object.keys(expect) as Phase[]) {
    const missing = unreachable(phase, steps, m.tls ?? 'opportunistic');
    if (missing) ctx.issues.push(ctx.src.issue([...path, 'expect', phase], `the module never reaches the ${phase} phase (${missing})`));
  }
  return expect;
}

function resolveBannerPattern(m: RawModule, path: ConfigPath, ctx: ModuleContext): RegExp | null {
  if (m.banner_pattern === undefined) return null;
  try {
    return new RegExp(m.banner_pattern);
  } catch (e) {
    ctx.issues.push(ctx.src.issue([...path, 'banner_pattern'], (e as Error).message));
    return null;
  }
}

function resolveRoundtrip(m: RawModule, path: ConfigPath, ctx: ModuleContext): RoundtripPlan | null {
  const r = m.roundtrip;
  if (!r) return null;
  if (!m.send) ctx.issues.push(ctx.src.issue(path, 'a round trip reads back the test message: the module needs send.to'));
  if (m.send?.deliver === false) ctx.issues.push(ctx.src.issue(path, 'a round trip needs send.deliver: true'));
  const url = r.mailbox;
  return {
    mailbox: {
      ...url,
      username: r.username,
      password: secret(r.password, r.password_file, path, ctx),
      starttls: url.protocol === 'pop3' || url.protocol === 'imap',
      allowPlaintext: r.allow_plaintext ?? false,
      ca: r.ca_file !== undefined ? ctx.read([...path, 'ca_file'], r.ca_file) : undefined,
      servername: r.server_name ?? url.host,
      insecure: r.insecure_skip_verify ?? false,
      folders: r.folders,
      maxMessages: r.max_messages ?? DEFAULTS.roundtrip.maxMessages,
    },
    timeoutMs: r.timeout ?? DEFAULTS.roundtrip.timeoutMs,
    pollMs: r.poll_interval ?? DEFAULTS.roundtrip.pollMs,
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
