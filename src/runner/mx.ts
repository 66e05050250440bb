import { bounded } from '../core/deadline.js';
import { lookupVia } from '../dns/lookup.js';
import { resolveMx, systemMxResolver, type MxHost, type MxResolver } from '../dns/mx.js';
import type { CheckPlan, RoundtripPlan } from '../core/plan.js';
import type { MailboxClient } from '../mailbox/types.js';
import { RoundtripTracker, runRoundtrip } from './roundtrip.js';
import type { CheckResult, Failure } from '../core/result.js';
import { round } from '../smtp/trace.js';
import { runCheck, type Lookup, type RunDeps } from './run.js';

export interface TargetDeps extends RunDeps {
  /** DNS for MX routing and for targets with their own dns_servers; tests inject one. */
  mxResolver?: (servers: readonly string[] | null, timeoutMs: number) => MxResolver;
  /** Reads the test message back (round trip); default: POP3/IMAP clients of src/mailbox. */
  mailbox?: MailboxClient;
  /** Late and never-delivered messages across runs of this target (the daemon keeps one per target). */
  roundtripTracker?: RoundtripTracker;
}

/** One run of one plan, with retries when asked: a host gives one result. */
export type RunOne = (plan: CheckPlan, deps: RunDeps) => Promise<CheckResult>;

/**
 * One run of a target: one result for smtp:// and smtps://, one result per MX host for mx:// (each its own
 * `mx: { host, preference, address }`, the MX lookup counted in its dns phase).
 */
export async function runTarget(plan: CheckPlan, deps: TargetDeps, runOne: RunOne = runCheck): Promise<CheckResult[]> {
  const resolver = (): MxResolver => (deps.mxResolver ?? systemMxResolver)(plan.dnsServers, plan.phaseTimeoutMs);
  if (!plan.mx) {
    const r = await runOne(plan, withPlanDns(plan, deps));
    return [plan.roundtrip ? await roundtrip(plan, plan.roundtrip, r, deps) : r];
  }
  const startedAt = new Date(deps.wallNow()).toISOString();
  const started = deps.now();
  const found = await bounded(
    resolveMx(plan.host, resolver(), { family: plan.ipFamily, maxHosts: plan.mx.maxHosts, now: deps.now }),
    plan.phaseTimeoutMs,
    deps.signal,
    deps,
    () => null,
  );
  if (found === null) {
    const lookupMs = deps.now() - started;
    return [dnsOnly(plan, startedAt, lookupMs, { reason: 'timeout', message: `MX lookup for ${plan.host} took longer than ${plan.phaseTimeoutMs} ms` })];
  }
  if (found.kind === 'error') return [dnsOnly(plan, startedAt, found.lookupMs, { reason: 'dns', message: found.message })];
  if (found.kind === 'null-mx') {
    return [dnsOnly(plan, startedAt, found.lookupMs, { reason: 'expectation', message: `null MX (RFC 7505): ${plan.host} accepts no mail` })];
  }
  return Promise.all(
    found.hosts.map(async (h) => {
      const hostPlan: CheckPlan = {
        ...plan,
        host: h.host,
        mx: null,
        // The MX lookup spent part of the run's budget.
        timeoutMs: Math.max(100, plan.timeoutMs - found.lookupMs),
        tlsParams: plan.tlsParams.servername === plan.host ? { ...plan.tlsParams, servername: h.host } : plan.tlsParams,
      };
      const r = await runOne(hostPlan, { ...deps, lookup: fixedLookup(h) });
      return withMx(r, h, found.lookupMs, plan);
    }),
  );
}

/**
 * The deps a plan runs with: a plan with its own DNS servers (dns_servers, global or per target) resolves its
 * host name through them (after the hosts file), otherwise through `deps.lookup`. /probe uses it too.
 */
export function withPlanDns<D extends TargetDeps>(plan: CheckPlan, deps: D): D {
  if (!plan.dnsServers) return deps;
  return { ...deps, lookup: lookupVia((deps.mxResolver ?? systemMxResolver)(plan.dnsServers, plan.phaseTimeoutMs)) };
}

/** The mailbox clients load only when a plan reads mail back (imapflow is not small). */
async function roundtrip(plan: CheckPlan, rt: RoundtripPlan, r: CheckResult, deps: TargetDeps): Promise<CheckResult> {
  const mailbox = deps.mailbox ?? { open: (await import('../mailbox/index.js')).openMailbox };
  return runRoundtrip(plan, rt, r, { ...deps, mailbox, ...(deps.roundtripTracker ? { tracker: deps.roundtripTracker } : {}) });
}

/** The addresses already resolved for an MX host, as the run's lookup. */
function fixedLookup(h: MxHost): Lookup {
  return async () => {
    if (h.addresses.length === 0) throw Object.assign(new Error(`${h.host} has no address`), { code: 'ENOTFOUND' });
    return h.addresses;
  };
}

/** Label the result with its MX host, and count the MX lookup in its dns phase (the phases still add up). */
function withMx(r: CheckResult, h: MxHost, lookupMs: number, plan: CheckPlan): CheckResult {
  const phases = [...r.phases];
  const dns = phases.findIndex((p) => p.phase === 'dns');
  if (dns >= 0) phases[dns] = { ...phases[dns]!, durationMs: round(phases[dns]!.durationMs + lookupMs) };
  else phases.unshift({ phase: 'dns', ok: true, durationMs: round(lookupMs) });
  const address = r.phases.find((p) => p.phase === 'connect' && p.ok)?.address ?? null;
  return {
    ...r,
    target: plan.name,
    url: plan.url,
    durationMs: round(r.durationMs + lookupMs),
    phases,
    mx: { host: h.host, preference: h.preference, address },
    ...(h.implicit ? { warnings: [`${plan.host} has no MX record: its own address is the mail host (implicit MX)`, ...r.warnings] } : {}),
  };
}

function dnsOnly(plan: CheckPlan, startedAt: string, lookupMs: number, f: Pick<Failure, 'reason' | 'message'>): CheckResult {
  return {
    target: plan.name, url: plan.url, ok: false, startedAt, durationMs: round(lookupMs), attempts: 1, warnings: [],
    failure: { phase: 'dns', reason: f.reason, code: null, enhancedCode: null, message: f.message },
    phases: [{ phase: 'dns', ok: false, durationMs: round(lookupMs) }],
    banner: null, capabilities: null, capabilitiesBeforeTls: null, tls: null, messageId: null, probeId: '',
  };
}
