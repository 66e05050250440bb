import { randomUUID } from 'node:crypto';
import { isIP } from 'node:net';
import { authSecrets } from '../../checks/auth.js';
import { CHECKS } from '../../checks/index.js';
import { sendQuit } from '../../checks/quit.js';
import { acceptTls, type RunState, type StepContext } from '../../checks/step.js';
import { systemClock, type Clock } from '../core/clock.js';
import { bounded, deadline as makeDeadline, sleep, type GiveUp } from '../core/deadline.js';
import { ProbeError, isProbeError } from '../core/errors.js';
import type { CheckPlan } from '../core/plan.js';
import { warningKindsOf, type CheckResult, type Failure, type WarningKind } from '../core/result.js';
import { systemAddressLookup } from '../dns/lookup.js';
import { capabilityFacts } from '../smtp/ehlo.js';
import { SmtpSession } from '../smtp/session.js';
import { Trace, Transcript, round } from '../smtp/trace.js';
import { PhasedWarnings, judgeRun } from './verdict.js';

/** Name → addresses; `signal` aborts when the run stops waiting (the lookup may then end its queries). */
export type Lookup = (host: string, family: 4 | 6 | null, signal?: AbortSignal) => Promise<string[]>;

/** What a run needs from outside: time and timers (the Clock), name lookups, and the shutdown signal. */
export interface RunDeps extends Clock {
  /** Name → addresses, in the order to try them. */
  lookup: Lookup;
  /** Shutdown: aborting it ends the run like its deadline does. */
  signal?: AbortSignal;
}

/**
 * The hosts file, then DNS through c-ares (src/dns/lookup.ts): getaddrinfo's answers and order, but no libuv
 * thread held while a DNS server keeps a lookup waiting (getaddrinfo's four shared threads, also fs's, were
 * starved by a few names whose server never answers).
 */
export const systemLookup: Lookup = systemAddressLookup();

export function systemDeps(signal?: AbortSignal): RunDeps {
  return { ...systemClock, lookup: systemLookup, ...(signal ? { signal } : {}) };
}

/** Bounded wait for replies still owed after a failure (the rest of a pipelined group). */
const DRAIN_WAIT_MS = 2000;

/**
 * One run of one target: connect, the plan's steps in order until the first failure, then RSET/QUIT as the
 * situation allows. Never rejects for an expected failure: it is in the result's `failure`.
 */
export async function runCheck(plan: CheckPlan, deps: RunDeps): Promise<CheckResult> {
  const startedAt = new Date(deps.wallNow()).toISOString();
  const trace = new Trace(() => deps.now());
  const transcript = plan.transcript ? new Transcript(() => trace.elapsed()) : null;
  const deadline = makeDeadline(plan.timeoutMs, [deps.signal], deps);
  const session = new SmtpSession({
    signal: deadline.signal,
    phaseTimeoutMs: plan.phaseTimeoutMs,
    clock: deps,
    transcript,
    secrets: authSecrets(plan),
  });
  const warnings = new PhasedWarnings(() => session.phase);
  const state: RunState = {
    banner: null, capabilities: null, capabilitiesBeforeTls: null, tls: null, usedHelo: false,
    inTransaction: false, inData: false, quitDone: false, messageId: null, probeId: randomUUID(), warnings,
  };
  const ctx: StepContext = { session, plan, trace, state, wallNow: deps.wallNow };

  let failure: Failure | null = null;
  try {
    failure = await runSteps(ctx, deps, deadline.signal);
    await windDown(ctx, failure);
  } finally {
    session.close();
    deadline.dispose();
  }
  if (session.sawBareLf) state.warnings.add('bare_lf', 'server ended lines with a bare LF instead of CRLF');
  const phases = trace.records();
  const durationMs = round(trace.elapsed());
  const verdict = judgeRun(plan, { failure, phases, durationMs, daysLeft: state.tls?.daysLeft ?? null }, warnings);
  const result: CheckResult = {
    target: plan.name,
    url: plan.url,
    ok: verdict.failure === null,
    startedAt,
    durationMs,
    attempts: 1,
    ...warnings.fields(),
    failure: verdict.failure,
    ...(verdict.overWarning.length > 0 ? { overWarning: verdict.overWarning } : {}),
    phases,
    banner: state.banner,
    capabilities: state.capabilities,
    capabilitiesBeforeTls: state.capabilitiesBeforeTls,
    ...capabilityFacts(
      state.capabilitiesBeforeTls ?? state.capabilities,
      state.capabilities,
      [...plan.requireCapabilities, ...plan.watchCapabilities],
      state.capabilitiesBeforeTls === null && state.tls !== null,
    ),
    tls: state.tls,
    messageId: state.messageId,
    probeId: state.probeId,
  };
  if (transcript) result.transcript = transcript.finish();
  return result;
}

/** Run with up to `retries` more attempts after a failure; the last attempt's result is returned. */
export async function runWithRetries(plan: CheckPlan, deps: RunDeps, retries: number, delayMs = 500): Promise<CheckResult> {
  let result = await runCheck(plan, deps);
  const earlier: string[] = [];
  for (let attempt = 2; !result.ok && attempt <= retries + 1 && !deps.signal?.aborted; attempt += 1) {
    const f = result.failure!;
    earlier.push(`attempt ${attempt - 1} failed at ${f.phase}: ${f.message}`);
    await sleep(delayMs, deps.signal, deps);
    result = await runCheck(plan, deps);
    result.attempts = attempt;
    result.warningKinds = [...earlier.map((): WarningKind => 'retried'), ...warningKindsOf(result)];
    result.warnings.unshift(...earlier);
  }
  return result;
}

async function runSteps(ctx: StepContext, deps: RunDeps, signal: AbortSignal): Promise<Failure | null> {
  try {
    await connect(ctx, deps, signal);
    for (const kind of ctx.plan.steps) {
      const outcome = await CHECKS[kind].run(ctx);
      if (outcome.stop) break;
    }
    return null;
  } catch (e) {
    const err = isProbeError(e) ? e : new ProbeError('internal', ctx.session.phase, `internal error: ${String(e)}`);
    const last = ctx.trace.last();
    if (!last || last.phase !== err.phase || last.ok) {
      ctx.trace.end(err.phase, false, err.reply ? { code: err.reply.code } : {});
    }
    return err.toFailure();
  }
}

/** dns, connect (each address in turn), and the implicit-TLS handshake. */
async function connect(ctx: StepContext, deps: RunDeps, signal: AbortSignal): Promise<void> {
  const { plan, session, trace } = ctx;
  const addresses = await resolve(ctx, deps, signal);
  let lastError: ProbeError | null = null;
  for (const address of addresses) {
    try {
      await session.open(address, plan.port, plan.sourceAddress ?? undefined);
      trace.end('connect', true, { address });
      lastError = null;
      break;
    } catch (e) {
      if (!isProbeError(e) || signal.aborted) throw e;
      lastError = e;
      if (addresses.length > 1) ctx.state.warnings.add('address_failed', `${address}: ${e.message}`);
    }
  }
  if (lastError) throw lastError;
  if (plan.tls === 'implicit') {
    const { info } = await session.startTls(plan.tlsParams, 'tls');
    acceptTls(ctx, 'tls', info, 0);
  }
}

async function resolve(ctx: StepContext, deps: RunDeps, signal: AbortSignal): Promise<string[]> {
  const { plan, trace, session } = ctx;
  const family = plan.ipFamily;
  if (isIP(plan.host)) {
    if (family !== null && isIP(plan.host) !== family) {
      throw new ProbeError('dns', 'connect', `${plan.host} is not an IPv${family} address`);
    }
    return [plan.host];
  }
  session.phase = 'dns';
  const giveUp = (why: GiveUp): never => {
    throw new ProbeError('timeout', 'dns', why === 'timeout' ? `DNS lookup took longer than ${plan.phaseTimeoutMs} ms` : 'run deadline reached during dns');
  };
  // Given up on (phase timeout, run deadline): the lookup is told, so that its queries end now.
  const stop = new AbortController();
  const lookup = deps.lookup(plan.host, family, stop.signal);
  const addresses = await bounded(lookup, plan.phaseTimeoutMs, signal, deps, (why) => (stop.abort(), giveUp(why))).catch((e: unknown) => {
    if (isProbeError(e)) throw e;
    const code = (e as NodeJS.ErrnoException).code ?? '';
    const why = code === 'ENOTFOUND' ? 'no such host' : code === 'EAI_AGAIN' ? 'temporary DNS failure' : String((e as Error).message ?? e);
    throw new ProbeError('dns', 'dns', `cannot resolve ${plan.host}${family ? ` (IPv${family})` : ''}: ${why}`);
  });
  if (addresses.length === 0) throw new ProbeError('dns', 'dns', `${plan.host} has no address`);
  trace.end('dns', true);
  return addresses;
}

/**
 * After the steps: a session still usable gets its owed replies read, RSET if a transaction is open and QUIT. In
 * the middle of DATA the only way out that sends nothing is to close the connection.
 */
async function windDown(ctx: StepContext, failure: Failure | null): Promise<void> {
  const { session, state } = ctx;
  if (state.quitDone || !session.isOpen) return;
  if (failure && ['timeout', 'protocol', 'closed', 'tls', 'internal'].includes(failure.reason)) return;
  try {
    while (session.owed > 0) {
      const r = await session.read(session.phase, DRAIN_WAIT_MS);
      if (r.code === 354) state.inData = true;
    }
    if (state.inData) {
      state.warnings.add('closed_in_data', 'closed the connection during DATA so that no message is sent');
      return;
    }
    if (state.inTransaction) {
      const r = await session.command('RSET', 'rset');
      ctx.trace.end('rset', r.code === 250, { code: r.code });
      state.inTransaction = false;
    }
    await sendQuit(ctx);
  } catch (e) {
    if (!isProbeError(e)) throw e;
    state.warnings.add('close_failed', `while closing the session: ${e.message}`);
  }
}
