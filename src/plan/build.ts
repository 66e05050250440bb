import type { CapacityModuleSettings } from '../core/capacity.js';
import type { PostureModuleSettings } from '../core/posture.js';
import { machineFqdn } from '../core/host.js';
import { parseListenAddress } from '../core/listen.js';
import type { Expectation } from '../core/expect.js';
import { STEP_KINDS, type CheckPlan, type RoundtripPlan, type SendPlan, type StepKind, type Thresholds } from '../core/plan.js';
import type { Phase } from '../core/result.js';
import type { PhaseHistograms } from '../core/target-meta.js';
import type { TargetUrl } from '../core/target.js';
import type { TlsMinVersion, TlsMode } from '../core/tls.js';
import { DEFAULTS } from './defaults.js';

/**
 * Settings → plans. A plan is everything one run of one target needs, resolved up front; it is built here from
 * a module's settings and a target (config and `/probe`), or from a URL under the default module with the CLI's
 * flags laid over it (overrides.ts). Kept free of the YAML parser and the schema library, so a one-shot `check`
 * with URLs loads neither.
 */

export interface GlobalSettings {
  intervalMs: number;
  timeoutMs: number;
  phaseTimeoutMs: number;
  concurrency: number;
  /** Worker threads that run the checks (`auto`: the machine's cores, at most DEFAULTS.maxAutoWorkers); 1: in the main thread. */
  workers: 'auto' | number;
  listen: { host: string; port: number };
  phaseHistograms: PhaseHistograms;
  stateFile: string;
  /** Runs kept per target (global.history). */
  history: number;
  /** Where the history is kept across restarts: `<state_file>.history` when state_file is set in the config; else null. */
  historyFile: string | null;
  ehlo: string;
  /** DNS servers for every target without its own ("127.0.0.1:5353"); null: the system resolver. */
  dnsServers: string[] | null;
  web: WebSettings;
}

/** `global.web`: the limits of the daemon's HTTP server, what one client, or many, can hold of it (server/http.ts). */
export interface WebSettings {
  /**
   * Open connections at once. At the limit the oldest connection without a request in flight (a half-sent
   * request, an idle keep-alive) is closed to make room; when every one has a request in flight, a new one is
   * closed as soon as it is accepted.
   */
  maxConnections: number;
  /** /probe runs at once; one more answers 503 with Retry-After. */
  maxConcurrentProbes: number;
  /** A request's headers must have arrived this long after it started (slowloris), else 408 and closed. */
  headerTimeoutMs: number;
  /** The whole request must have arrived by then; the answer (a /probe run) may take longer. */
  requestTimeoutMs: number;
  /** An idle keep-alive connection is closed after this. */
  keepAliveTimeoutMs: number;
  /** POST /-/reload is served (false: 403). */
  reload: boolean;
}

/** A module with its files read and its values parsed: everything a plan needs, computed once. */
export interface ModuleSettings {
  name: string;
  tls: TlsMode | null;
  ca?: string | undefined;
  cert?: string | undefined;
  key?: string | undefined;
  serverName?: string | undefined;
  insecure: boolean;
  minVersion?: TlsMinVersion | undefined;
  ehlo: string | null;
  ipFamily: 4 | 6 | null;
  sourceAddress: string | null;
  timeoutMs: number | null;
  phaseTimeoutMs: number | null;
  auth: CheckPlan['auth'];
  send: CheckPlan['send'];
  expect: Partial<Record<Phase, Expectation>>;
  requireCapabilities: string[];
  bannerPattern: RegExp | null;
  minCertDays: number | null;
  criticalCertDays: number | null;
  thresholds: Thresholds;
  steps: StepKind[] | null;
  probeTargets: string[] | null;
  phaseHistograms: PhaseHistograms | null;
  /**
   * True when the module carries credentials (auth, a mailbox, a client certificate or key) or a source address
   * (relays that trust it by IP): /probe then only answers for its probe_targets.
   */
  hasCredentials: boolean;
  roundtrip: RoundtripPlan | null;
  /** `capacity:`: the daemon's capacity runs of the module's targets; absent or null: none. */
  capacity?: CapacityModuleSettings | null;
  /** `posture:`: the daemon's posture runs of the module's targets; absent or null: none. */
  posture?: PostureModuleSettings | null;
}

/** Per-target DNS settings: servers (target, else global) and, for mx:// targets, how many MX hosts to probe. */
export interface Routing {
  dnsServers: string[] | null;
  maxMx: number | null;
}

/** Settings when there is no config file (`check` with URLs only). */
export function defaultGlobal(): GlobalSettings {
  return {
    intervalMs: DEFAULTS.intervalMs,
    timeoutMs: DEFAULTS.timeoutMs,
    phaseTimeoutMs: DEFAULTS.phaseTimeoutMs,
    concurrency: DEFAULTS.concurrency,
    workers: DEFAULTS.workers,
    listen: parseListenAddress(DEFAULTS.listen)!,
    phaseHistograms: DEFAULTS.phaseHistograms,
    stateFile: DEFAULTS.stateFile,
    history: DEFAULTS.history,
    historyFile: null,
    ehlo: machineFqdn(),
    dnsServers: null,
    web: { ...DEFAULTS.web },
  };
}

/** The built-in `default` module: opportunistic TLS, banner, EHLO, STARTTLS when offered, NOOP, QUIT. */
export function defaultModule(): ModuleSettings {
  return {
    name: DEFAULTS.module, tls: null, insecure: false, ehlo: null, ipFamily: null, sourceAddress: null, timeoutMs: null,
    phaseTimeoutMs: null, auth: null, send: null, expect: {}, requireCapabilities: [], bannerPattern: null, minCertDays: null,
    criticalCertDays: null, thresholds: { warningMs: null, criticalMs: null },
    steps: null, probeTargets: null, phaseHistograms: null, hasCredentials: false, roundtrip: null,
  };
}

/** The plan for one target URL under one module. The CLI lays its flags over this (overrides.ts). */
export function buildPlan(name: string, url: TargetUrl, mod: ModuleSettings, global: GlobalSettings, routing?: Routing): CheckPlan {
  const tls = mod.tls ?? url.tls;
  const timeoutMs = mod.timeoutMs ?? global.timeoutMs;
  return makePlan({
    name,
    url: url.url,
    host: url.host,
    port: url.port,
    tls,
    tlsParams: {
      servername: mod.serverName ?? url.host,
      ca: mod.ca,
      cert: mod.cert,
      key: mod.key,
      minVersion: mod.minVersion,
      insecure: mod.insecure,
    },
    ehlo: mod.ehlo ?? global.ehlo,
    ipFamily: mod.ipFamily,
    sourceAddress: mod.sourceAddress,
    timeoutMs,
    phaseTimeoutMs: Math.min(mod.phaseTimeoutMs ?? global.phaseTimeoutMs, timeoutMs),
    steps: mod.steps ?? defaultSteps(tls, mod.auth !== null, mod.send !== null),
    auth: mod.auth,
    send: mod.send,
    expect: mod.expect,
    requireCapabilities: mod.requireCapabilities,
    bannerPattern: mod.bannerPattern,
    minCertDays: mod.minCertDays,
    criticalCertDays: mod.criticalCertDays,
    thresholds: { ...mod.thresholds },
    dnsServers: routing?.dnsServers ?? global.dnsServers,
    mx: url.scheme === 'mx' ? { maxHosts: routing?.maxMx ?? DEFAULTS.maxMx } : null,
    roundtrip: mod.roundtrip,
  });
}

/** A plan for `host:port` with every setting not given taken from the defaults. */
export function makePlan(p: Partial<CheckPlan> & Pick<CheckPlan, 'host' | 'port'>): CheckPlan {
  const tls = p.tls ?? 'opportunistic';
  return {
    name: p.name ?? `${p.host}:${p.port}`,
    url: p.url ?? `${p.mx ? 'mx' : tls === 'implicit' ? 'smtps' : 'smtp'}://${p.host.includes(':') ? `[${p.host}]` : p.host}:${p.port}`,
    tls,
    tlsParams: p.tlsParams ?? { servername: p.host, insecure: false },
    ehlo: p.ehlo ?? DEFAULTS.ehlo,
    ipFamily: p.ipFamily ?? null,
    sourceAddress: p.sourceAddress ?? null,
    timeoutMs: p.timeoutMs ?? DEFAULTS.timeoutMs,
    phaseTimeoutMs: p.phaseTimeoutMs ?? DEFAULTS.phaseTimeoutMs,
    steps: p.steps ?? [...STEP_KINDS],
    auth: p.auth ?? null,
    send: p.send ?? null,
    expect: p.expect ?? {},
    requireCapabilities: p.requireCapabilities ?? [],
    watchCapabilities: p.watchCapabilities ?? [],
    bannerPattern: p.bannerPattern ?? null,
    minCertDays: p.minCertDays ?? null,
    criticalCertDays: p.criticalCertDays ?? null,
    thresholds: p.thresholds ?? { warningMs: null, criticalMs: null },
    strict: p.strict ?? false,
    transcript: p.transcript ?? false,
    dnsServers: p.dnsServers ?? null,
    mx: p.mx ?? null,
    roundtrip: p.roundtrip ?? null,
    host: p.host,
    port: p.port,
  };
}

/** The test message with the defaults for what is not given. */
export function makeSend(p: Partial<SendPlan> & Pick<SendPlan, 'from' | 'to'>): SendPlan {
  return { deliver: DEFAULTS.send.deliver, subject: DEFAULTS.send.subject, body: DEFAULTS.send.body, headers: {}, size: null, ...p };
}

/** Without `steps`: banner, ehlo, starttls when the TLS mode calls for it, auth with credentials, send with recipients, noop, quit. */
export function defaultSteps(tls: TlsMode, hasAuth: boolean, hasSend: boolean): StepKind[] {
  return STEP_KINDS.filter(
    (k) =>
      (k !== 'starttls' || tls === 'opportunistic' || tls === 'starttls') && (k !== 'auth' || hasAuth) && (k !== 'send' || hasSend),
  );
}

export type StepsResult = { ok: true; steps: StepKind[] } | { ok: false; message: string };

/** Steps in their fixed order; banner always, EHLO where a later step needs it; why not, when impossible. */
export function normalizeSteps(names: readonly string[], hasAuth: boolean, hasSend: boolean): StepsResult {
  for (const n of names) {
    if (!(STEP_KINDS as readonly string[]).includes(n)) return { ok: false, message: `unknown step "${n}" (steps: ${STEP_KINDS.join(', ')})` };
  }
  if (names.includes('auth') && !hasAuth) return { ok: false, message: 'the auth step needs credentials (auth: in the module, or --auth-user)' };
  if (names.includes('send') && !hasSend) return { ok: false, message: 'the send step needs recipients (send.to in the module, or --to)' };
  const wanted = new Set<string>(names);
  wanted.add('banner');
  if (['starttls', 'auth', 'send'].some((s) => wanted.has(s))) wanted.add('ehlo');
  return { ok: true, steps: STEP_KINDS.filter((k) => wanted.has(k)) };
}

/** A step that a setting does nothing without: STARTTLS required, credentials, a test message. */
export type NeededStep = 'starttls' | 'auth' | 'send';

/**
 * The steps these settings need that `steps` leaves out: `tls: starttls` without the starttls step would pass in
 * plaintext, credentials without auth and recipients without send would be ignored, all silently.
 */
export function missingSteps(steps: readonly StepKind[], needs: Record<NeededStep, boolean>): NeededStep[] {
  return (['starttls', 'auth', 'send'] as const).filter((k) => needs[k] && !steps.includes(k));
}
