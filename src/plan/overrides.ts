import { formatDuration } from '../core/duration.js';
import type { Expectation } from '../core/expect.js';
import type { AuthPlan, CheckPlan, RoundtripPlan, SendPlan } from '../core/plan.js';
import type { Phase } from '../core/result.js';
import { certDaysProblem, type TlsMinVersion, type TlsMode } from '../core/tls.js';
import { defaultSteps, makeSend, missingSteps, normalizeSteps, type ModuleSettings, type NeededStep } from './build.js';

/**
 * Settings given one by one over a module's plan: what `smtp-probe check` takes as flags. A field left undefined
 * keeps the module's value (README "Running as a monitor": "a flag wins over the module").
 */
export interface Overrides {
  tls?: TlsMode;
  timeoutMs?: number;
  phaseTimeoutMs?: number;
  ehlo?: string;
  auth?: AuthPlan;
  to?: string[];
  from?: string;
  noDeliver: boolean;
  message: Partial<Pick<SendPlan, 'subject' | 'body' | 'headers' | 'size'>>;
  ipFamily?: 4 | 6;
  sourceAddress?: string;
  steps?: string[];
  expect: Partial<Record<Phase, Expectation>>;
  requireCapabilities?: string[];
  bannerPattern?: RegExp;
  /** `--min-cert-days W[,C]` replaces both levels (C null when not given). */
  minCertDays?: number | null;
  criticalCertDays?: number | null;
  /** `--warning` / `--critical`: each replaces its own threshold. */
  warningMs?: number;
  criticalMs?: number;
  strict?: boolean;
  ca?: string;
  cert?: string;
  key?: string;
  minVersion?: TlsMinVersion;
  servername?: string;
  insecure?: boolean;
  transcript: boolean;
  dnsServers?: string[];
  maxMx?: number;
  roundtrip?: RoundtripPlan;
  roundtripTimeoutMs?: number;
}

/** Overrides that cannot stand together; the message names the flags (`--from: needs at least one --to ...`). */
export class OverrideError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'OverrideError';
  }
}

/** The plan with the overrides laid over it. Throws OverrideError when they contradict each other. */
export function applyOverrides(plan: CheckPlan, mod: ModuleSettings, o: Overrides): CheckPlan {
  const tls = o.tls ?? plan.tls;
  const timeoutMs = o.timeoutMs ?? plan.timeoutMs;
  const ehlo = o.ehlo ?? plan.ehlo;
  const auth = o.auth ?? plan.auth;
  const send = overrideSend(plan.send, ehlo, o);
  return {
    ...plan,
    tls,
    timeoutMs,
    phaseTimeoutMs: Math.min(o.phaseTimeoutMs ?? plan.phaseTimeoutMs, timeoutMs),
    ehlo,
    auth,
    send,
    steps: overrideSteps(plan, mod, o, tls, auth !== null, send !== null),
    ipFamily: o.ipFamily ?? plan.ipFamily,
    sourceAddress: o.sourceAddress ?? plan.sourceAddress,
    expect: { ...plan.expect, ...o.expect },
    requireCapabilities: o.requireCapabilities ?? plan.requireCapabilities,
    bannerPattern: o.bannerPattern ?? plan.bannerPattern,
    ...overrideLimits(plan, o),
    strict: o.strict ?? plan.strict,
    transcript: o.transcript,
    roundtrip: o.roundtrip ?? (plan.roundtrip && o.roundtripTimeoutMs ? { ...plan.roundtrip, timeoutMs: o.roundtripTimeoutMs } : plan.roundtrip),
    tlsParams: {
      ...plan.tlsParams,
      ...(o.ca !== undefined ? { ca: o.ca } : {}),
      ...(o.cert !== undefined ? { cert: o.cert, key: o.key } : {}),
      ...(o.minVersion !== undefined ? { minVersion: o.minVersion } : {}),
      ...(o.servername !== undefined ? { servername: o.servername } : {}),
      ...(o.insecure ? { insecure: true } : {}),
    },
  };
}

/** Thresholds and certificate levels with the flags laid over the module's; levels that cross are refused. */
function overrideLimits(plan: CheckPlan, o: Overrides): Pick<CheckPlan, 'thresholds' | 'minCertDays' | 'criticalCertDays'> {
  const thresholds = { warningMs: o.warningMs ?? plan.thresholds.warningMs, criticalMs: o.criticalMs ?? plan.thresholds.criticalMs };
  const { warningMs: w, criticalMs: c } = thresholds;
  if (w !== null && c !== null && w > c) throw new OverrideError(`--warning (${formatDuration(w)}) is over the critical threshold (${formatDuration(c)})`);
  const days = o.minCertDays !== undefined
    ? certDaysProblem({ warning: o.minCertDays, critical: o.criticalCertDays ?? null })
    : { warning: plan.minCertDays, critical: plan.criticalCertDays };
  if (typeof days === 'string') throw new OverrideError(`--min-cert-days: ${days}`);
  return { thresholds, minCertDays: days.warning, criticalCertDays: days.critical };
}

/** DNS routing given on top of a configured target's plan. */
export function overrideRouting(plan: CheckPlan, o: Overrides): CheckPlan {
  if (!o.dnsServers && !o.maxMx) return plan;
  return { ...plan, dnsServers: o.dnsServers ?? plan.dnsServers, mx: plan.mx && o.maxMx ? { maxHosts: o.maxMx } : plan.mx };
}

function overrideSend(send: SendPlan | null, ehlo: string, o: Overrides): SendPlan | null {
  if (o.to) {
    // A module that only checks the envelope (deliver: false) keeps doing so when --to names other recipients.
    const deliver = !o.noDeliver && (send?.deliver ?? true);
    return makeSend({ from: o.from ?? send?.from ?? `smtp-probe@${ehlo}`, to: o.to, ...messageOf(send), ...o.message, deliver });
  }
  if (send) return { ...send, ...o.message, ...(o.from !== undefined ? { from: o.from } : {}), ...(o.noDeliver ? { deliver: false } : {}) };
  if (o.from !== undefined || o.noDeliver) {
    throw new OverrideError(`${o.noDeliver ? '--no-deliver' : '--from'}: needs at least one --to (the test message goes to --to)`);
  }
  return null;
}

function overrideSteps(plan: CheckPlan, mod: ModuleSettings, o: Overrides, tls: TlsMode, hasAuth: boolean, hasSend: boolean): CheckPlan['steps'] {
  if (o.steps) {
    const s = normalizeSteps(o.steps, hasAuth, hasSend);
    if (!s.ok) throw new OverrideError(`--steps: ${s.message}`);
    const flag: Record<NeededStep, string> = { starttls: '--tls starttls', auth: '--auth-user', send: '--to' };
    const missing = missingSteps(s.steps, { starttls: o.tls === 'starttls', auth: o.auth !== undefined, send: o.to !== undefined });
    if (missing.length > 0) {
      throw new OverrideError(missing.map((k) => `--steps: leaves out ${k}, which ${flag[k]} needs (add ${k} to --steps)`).join('; '));
    }
    return s.steps;
  }
  return mod.steps ? plan.steps : defaultSteps(tls, hasAuth, hasSend);
}

/** The message settings a module gave, to keep when --to replaces its recipients. */
function messageOf(s: SendPlan | null): Partial<SendPlan> {
  return s ? { subject: s.subject, body: s.body, headers: s.headers, size: s.size } : {};
}
