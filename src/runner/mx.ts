import { bounded } from '../core/deadline.js';
import { lookupVia, systemAddressLookup } from '../dns/lookup.js';
import { resolveMx, systemMxResolver, type MxHost, type MxResolution, type MxResolver } from '../dns/mx.js';
import type { CheckPlan, RoundtripPlan } from '../core/plan.js';
import type { MailboxClient, MailboxProtocol } from '../mailbox/types.js';
import { RoundtripTracker, runRoundtrip } from './roundtrip.js';
import { failedBeforeSession, warningKindsOf, type CheckResult, type Failure } from '../core/result.js';
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

/**
 * SMTP connections one mx:// target run opens at once (the scheduler gives a target run one slot of
 * global.concurrency): further MX hosts wait for a free one, within the same run deadline.
 */
const MX_PARALLEL = 4;

/** A host still waiting for a slot when less than this is left of the run's deadline is not connected to. */
const MIN_HOST_BUDGET_MS = 100;

/** One run of one plan, with retries when asked: a host gives one result. */
export type RunOne = (plan: CheckPlan, deps: RunDeps) => Promise<CheckResult>;

/**
 * One run of a target: one result for smtp:// and smtps://, one result per MX host for mx:// (each its own
 * `mx: { host, preference, address }`, the MX lookup counted in its dns phase).
 */
export async function runTarget(plan: CheckPlan, deps: TargetDeps, runOne: RunOne = runCheck): Promise<CheckResult[]> {
  if (!plan.mx) {
    const r = await runOne(plan, withPlanDns(plan, deps));
    return [plan.roundtrip ? await roundtrip(plan, plan.roundtrip, r, deps) : r];
  }
  const resolver = (deps.mxResolver ?? systemMxResolver)(plan.dnsServers, plan.phaseTimeoutMs);
  const startedAt = new Date(deps.wallNow()).toISOString();
  const started = deps.now();
  const found = await bounded(
    resolveMx(plan.host, resolver, { family: plan.ipFamily, maxHosts: plan.mx.maxHosts, now: deps.now }),
    plan.phaseTimeoutMs,
    deps.signal,
    deps,
    () => null,
  );
  if (found === null) {
    resolver.cancel?.(); // given up on: its queries end now, not at their own timeout
    const lookupMs = deps.now() - started;
    return [dnsOnly(plan, startedAt, lookupMs, { reason: 'timeout', message: `MX lookup for ${plan.host} took longer than ${plan.phaseTimeoutMs} ms` })];
  }
  if (found.kind === 'error') return [dnsOnly(plan, startedAt, found.lookupMs, { reason: 'dns', message: found.message })];
  if (found.kind === 'null-mx') {
    return [dnsOnly(plan, startedAt, found.lookupMs, { reason: 'expectation', message: `null MX (RFC 7505): ${plan.host} accepts no mail` })];
  }
  return fanOut(plan, found, started, deps, runOne);
}

/**
 * The deps a plan runs with: a plan with its own DNS servers (dns_servers, global or per target) resolves its
 * host name through them (after the hosts file), otherwise through `deps.lookup`. /probe uses it too.
 */
export function withPlanDns<D extends TargetDeps>(plan: CheckPlan, deps: D): D {
  if (!plan.dnsServers) return deps;
  const lookup = deps.mxResolver
    ? lookupVia(deps.mxResolver(plan.dnsServers, plan.phaseTimeoutMs))
    : systemAddressLookup({ servers: plan.dnsServers, timeoutMs: plan.phaseTimeoutMs, tries: 1 });
  return { ...deps, lookup };
}

/**
 * One run per MX host, at most MX_PARALLEL at once, all within the target's one deadline (counted from before
 * the MX lookup): a host whose turn comes too late is reported as not reached instead of stretching the run.
 */
async function fanOut(
  plan: CheckPlan,
  found: Extract<MxResolution, { kind: 'hosts' }>,
  started: number,
  deps: TargetDeps,
  runOne: RunOne,
): Promise<CheckResult[]> {
  return inSlots(found.hosts, MX_PARALLEL, async (h, i) => {
    const left = plan.timeoutMs - (deps.now() - started);
    if (i >= MX_PARALLEL && left < MIN_HOST_BUDGET_MS) {
      return withMx(notReached(plan, h, new Date(deps.wallNow()).toISOString(), found.hosts.length), h, found.lookupMs, plan);
    }
    const hostPlan: CheckPlan = {
      ...plan,
      host: h.host,
      mx: null,
      // The MX lookup, and the hosts before this one, spent part of the run's budget.
      timeoutMs: Math.max(MIN_HOST_BUDGET_MS, left),
      tlsParams: plan.tlsParams.servername === plan.host ? { ...plan.tlsParams, servername: h.host } : plan.tlsParams,
    };
    const r = await runOne(hostPlan, { ...deps, lookup: fixedLookup(h) });
    return withMx(r, h, found.lookupMs, plan);
  });
}

/** `fn` over `items` with at most `slots` calls pending at once; results in the items' order. */
async function inSlots<T, R>(items: readonly T[], slots: number, fn: (item: T, index: number) => Promise<R>): Promise<R[]> {
  const out: R[] = new Array<R>(items.length);
  let next = 0;
  const worker = async (): Promise<void> => {
    for (let i = next++; i < items.length; i = next++) out[i] = await fn(items[i]!, i);
  };
  await Promise.all(Array.from({ length: Math.min(slots, items.length) }, worker));
  return out;
}

/** The mailbox clients load only when a plan reads mail back (imapflow is not small). */
async function roundtrip(plan: CheckPlan, rt: RoundtripPlan, r: CheckResult, deps: TargetDeps): Promise<CheckResult> {
  const make = async (p: MailboxProtocol): Promise<MailboxClient> => (await import('../mailbox/index.js')).createMailboxClient(p);
  const protocol = rt.mailbox.protocol;
  // A target the daemon keeps a tracker for keeps its client too, so what a client remembers lasts across runs.
  const mailbox = deps.mailbox ?? (deps.roundtripTracker ? await deps.roundtripTracker.mailboxFor(protocol, make) : await make(protocol));
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
  const implicit = h.implicit ? `${plan.host} has no MX record: its own address is the mail host (implicit MX)` : null;
  // --strict: a warning fails the check, this one too (it is only known here, after the host's run).
  const failure = implicit && plan.strict && r.ok ? { phase: 'dns' as const, reason: 'dns' as const, code: null, enhancedCode: null, message: implicit } : r.failure;
  return {
    ...r,
    ok: failure === null,
    failure,
    target: plan.name,
    url: plan.url,
    durationMs: round(r.durationMs + lookupMs),
    phases,
    mx: { host: h.host, preference: h.preference, address },
    ...(implicit ? { warnings: [implicit, ...r.warnings], warningKinds: ['implicit_mx' as const, ...warningKindsOf(r)] } : {}),
  };
}

/** An MX host left unconnected: the run's deadline came before a connection slot did. */
function notReached(plan: CheckPlan, h: MxHost, startedAt: string, hosts: number): CheckResult {
  const message = `run deadline (${plan.timeoutMs} ms) reached before its turn: ${hosts} MX hosts, ${MX_PARALLEL} connected at a time`;
  return failedBeforeSession(plan, startedAt, 0, { phase: 'connect', reason: 'timeout', code: null, enhancedCode: null, message: `${h.host}: ${message}` });
}

function dnsOnly(plan: CheckPlan, startedAt: string, lookupMs: number, f: Pick<Failure, 'reason' | 'message'>): CheckResult {
  return failedBeforeSession(plan, startedAt, round(lookupMs), { phase: 'dns', reason: f.reason, code: null, enhancedCode: null, message: f.message });
}
