import { machineFqdn } from '../core/host.js';
import { STEP_KINDS, makePlan, type CheckPlan, type RoundtripPlan, type StepKind } from '../core/plan.js';
import type { Expectation } from '../core/expect.js';
import type { Phase } from '../core/result.js';
import type { TargetUrl } from '../core/target.js';
import type { TlsMinVersion, TlsMode } from '../core/tls.js';

/**
 * The parts of the config model that turn settings into check plans. Kept apart from the loader so a one-shot
 * `check` with URLs loads no YAML parser or schema library.
 */

/** Defaults in one place (CONTRACT.md "Config"). */
export const DEFAULTS = {
  intervalMs: 60_000,
  timeoutMs: 10_000,
  phaseTimeoutMs: 5_000,
  concurrency: 64,
  listen: ':9469',
  phaseHistograms: true,
  stateFile: '/var/lib/smtp-probe/state.json',
  module: 'default',
} as const;

export interface ResolvedGlobal {
  intervalMs: number;
  timeoutMs: number;
  phaseTimeoutMs: number;
  concurrency: number;
  listen: { host: string; port: number };
  phaseHistograms: boolean;
  stateFile: string;
  ehlo: string;
  /** DNS servers for every target without its own ("127.0.0.1:5353"); null: the system resolver. */
  dnsServers: string[] | null;
}

/** A module with its files read and its values parsed: everything a plan needs, computed once. */
export interface ResolvedModule {
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
  steps: StepKind[] | null;
  probeTargets: string[] | null;
  phaseHistograms: boolean | null;
  /** True when the module carries credentials: /probe then only answers for its probe_targets. */
  hasCredentials: boolean;
  roundtrip: RoundtripPlan | null;
}

/** Settings when there is no config file (`check` with URLs only). */
export function defaultGlobal(): ResolvedGlobal {
  return {
    intervalMs: DEFAULTS.intervalMs, timeoutMs: DEFAULTS.timeoutMs, phaseTimeoutMs: DEFAULTS.phaseTimeoutMs,
    concurrency: DEFAULTS.concurrency, listen: parseListen(DEFAULTS.listen), phaseHistograms: DEFAULTS.phaseHistograms,
    stateFile: DEFAULTS.stateFile, ehlo: machineFqdn(), dnsServers: null,
  };
}

/** The built-in `default` module: opportunistic TLS, banner, EHLO, STARTTLS when offered, NOOP, QUIT. */
export function defaultModule(): ResolvedModule {
  return {
    name: DEFAULTS.module, tls: null, insecure: false, ehlo: null, ipFamily: null, sourceAddress: null, timeoutMs: null,
    phaseTimeoutMs: null, auth: null, send: null, expect: {}, requireCapabilities: [], bannerPattern: null, minCertDays: null,
    steps: null, probeTargets: null, phaseHistograms: null, hasCredentials: false, roundtrip: null,
  };
}

/** The plan for one URL under one module. The CLI applies its flags on top of this. */
/** Per-target DNS settings: servers (target, else global) and, for mx:// targets, how many MX hosts to probe. */
export interface Routing {
  dnsServers: string[] | null;
  maxMx: number | null;
}

export function planFor(name: string, url: TargetUrl, mod: ResolvedModule, global: ResolvedGlobal, routing?: Routing): CheckPlan {
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
    dnsServers: routing?.dnsServers ?? global.dnsServers,
    mx: url.scheme === 'mx' ? { maxHosts: routing?.maxMx ?? null } : null,
    roundtrip: mod.roundtrip,
  });
}

/** Without `steps`: banner, ehlo, starttls when the TLS mode calls for it, auth with credentials, send with recipients, noop, quit. */
export function defaultSteps(tls: TlsMode, hasAuth: boolean, hasSend: boolean): StepKind[] {
  return STEP_KINDS.filter(
    (k) =>
      (k !== 'starttls' || tls === 'opportunistic' || tls === 'starttls') && (k !== 'auth' || hasAuth) && (k !== 'send' || hasSend),
  );
}

/** Steps in their fixed order; banner always, EHLO where a later step needs it. A message when impossible. */
export function normalizeSteps(names: readonly string[], hasAuth: boolean, hasSend: boolean): StepKind[] | string {
  for (const n of names) {
    if (!(STEP_KINDS as readonly string[]).includes(n)) return `unknown step "${n}" (steps: ${STEP_KINDS.join(', ')})`;
  }
  if (names.includes('auth') && !hasAuth) return 'the auth step needs credentials (auth: in the module, or --auth-user)';
  if (names.includes('send') && !hasSend) return 'the send step needs recipients (send.to in the module, or --to)';
  const wanted = new Set<string>(names);
  wanted.add('banner');
  if (['starttls', 'auth', 'send'].some((s) => wanted.has(s))) wanted.add('ehlo');
  return STEP_KINDS.filter((k) => wanted.has(k));
}

/** `HOST:PORT`, `[v6]:PORT` or `:PORT` (all interfaces); null when it is not one. */
export function parseListenAddress(text: string): { host: string; port: number } | null {
  const m = /^(?:\[([^\]]+)\]|([^:]*)):(\d{1,5})$/.exec(text.trim());
  if (!m || Number(m[3]) > 65535) return null;
  return { host: m[1] ?? m[2] ?? '', port: Number(m[3]) };
}

/** A listen address the schema has already checked. */
export function parseListen(s: string): { host: string; port: number } {
  return parseListenAddress(s)!;
}

