import type { z } from 'zod';
import type { CheckPlan, StepKind } from '../src/core/plan.js';
import type { Phase, PhaseRecord, TlsInfo, WarningKind } from '../src/core/result.js';
import { ProbeError } from '../src/core/errors.js';
import { defaultExpectation, matches, type Expectation } from '../src/core/expect.js';
import type { Capabilities } from '../src/smtp/ehlo.js';
import { quoteBytes } from '../src/core/bytes.js';
import { replyText, type SmtpReply } from '../src/core/reply.js';
import type { SmtpSession } from '../src/smtp/session.js';
import type { Trace } from '../src/smtp/trace.js';

/** What a run has learned so far; checks read and extend it, the runner turns it into the result record. */
export interface RunState {
  banner: string | null;
  capabilities: Capabilities | null;
  capabilitiesBeforeTls: Capabilities | null;
  tls: TlsInfo | null;
  usedHelo: boolean;
  /** Between an accepted MAIL and the end of the transaction (RSET or the final reply after the dot). */
  inTransaction: boolean;
  /** After a 354: only the message and its dot (or closing the connection) can follow. */
  inData: boolean;
  quitDone: boolean;
  messageId: string | null;
  probeId: string;
  warnings: WarningSink;
}

/** Where a check records a warning, with its kind (the result record's `warningKinds`, smtp_probe_warnings{kind}). */
export interface WarningSink {
  add(kind: WarningKind, text: string): void;
}

export interface StepContext {
  session: SmtpSession;
  plan: CheckPlan;
  trace: Trace;
  state: RunState;
  /** Wall clock (ms since the epoch), for Date headers and certificate days. */
  wallNow(): number;
}

/**
 * How a step that passed ends. `stop`: a negative check got the refusal it wanted, so the forward path ends here
 * and the session winds down (RSET, QUIT) without running the steps that would build on the refused one. A step
 * that fails rejects with a ProbeError (expected failures) — the runner turns it into the result's `failure`.
 */
export interface StepOutcome {
  readonly stop: boolean;
}

/**
 * Zod and the value schemas the whole config shares, lent to a check to build its options with (config/schema.ts
 * makes it). Lent, not imported: a one-shot `check URL` never loads the schema library.
 */
export interface SchemaKit {
  z: typeof z;
  /** One line of text: it goes into a command, so no CR or LF. */
  oneLine(what: string): z.ZodString;
  /** `local@domain`, or "" for the null sender. */
  mailAddress: z.ZodString;
  /** A path to a file read at load (`*_file`). */
  file: z.ZodString;
}

/** The contract every check kind fulfils (ARCHITECTURE.md "How to add"): no sockets, timers or registries of its own. */
export interface CheckModule {
  kind: StepKind;
  /** One line for --help and docs. */
  summary: string;
  /** The module keys this check owns (`auth:`, `send:`...): config/schema.ts adds them to a module's keys. */
  options?(kit: SchemaKit): z.ZodRawShape;
  run(ctx: StepContext): Promise<StepOutcome>;
}

export const OK: StepOutcome = { stop: false };
export const STOP: StepOutcome = { stop: true };

export function expectationFor(plan: CheckPlan, phase: Phase): Expectation {
  return plan.expect[phase] ?? defaultExpectation(phase);
}

type Fields = Omit<PhaseRecord, 'phase' | 'durationMs' | 'ok' | 'code' | 'enhancedCode'>;

/**
 * Judge a reply against the phase's expectation and record the phase. `problem` is a further reason to fail
 * (a banner pattern not matched, a capability missing) once the code is right. Throws a ProbeError on a mismatch:
 * `reply` for a 4xx/5xx nobody expected, `expectation` for a well-formed answer the check did not want.
 * Returns true when a negative expectation was met.
 */
export function judge(ctx: StepContext, phase: Phase, reply: SmtpReply, fields: Fields = {}, problem?: string | null): boolean {
  const e = expectationFor(ctx.plan, phase);
  const codeOk = matches(e, reply.code, reply.enhancedCode);
  const ok = codeOk && !problem;
  // A refusal that was wanted (a relay test) keeps the server's own words: which rule refused is the finding.
  const refused = () => `refused as expected (${e.source}): ${quoteBytes(replyText(reply), 200)}`;
  const detail = !codeOk ? `expected ${e.source}` : problem ? problem : e.negative ? refused() : undefined;
  ctx.trace.end(phase, ok, {
    code: reply.code,
    ...(reply.enhancedCode ? { enhancedCode: reply.enhancedCode } : {}),
    ...fields,
    ...(detail ? { detail } : {}),
  });
  if (!codeOk) throw ProbeError.fromReply(reply.code >= 400 ? 'reply' : 'expectation', phase, reply, `expected ${e.source}`);
  if (problem) throw new ProbeError('expectation', phase, problem, reply);
  return e.negative;
}

/** Record a phase that failed without a reply of its own, and return the error to throw. */
export function failPhase(ctx: StepContext, e: ProbeError): ProbeError {
  ctx.trace.end(e.phase, false, e.reply ? { code: e.reply.code } : {});
  return e;
}

/**
 * Decide on a finished handshake: in `opportunistic` mode an unverified certificate is recorded and tolerated;
 * in `starttls`/`implicit` it fails with reason `tls` unless verification was switched off on purpose. A
 * certificate with fewer days left than `criticalCertDays` fails (any mode), fewer than `minCertDays` is a warning.
 */
export function acceptTls(ctx: StepContext, phase: 'tls' | 'tls_upgrade', info: TlsInfo, discardedBytes: number): void {
  const { plan, state } = ctx;
  state.tls = info;
  if (discardedBytes > 0) {
    state.warnings.add('tls_injection', `discarded ${discardedBytes} bytes the server sent before the TLS handshake (RFC 3207 injection)`);
  }
  if (!info.verified) {
    if (plan.tlsParams.insecure) {
      state.warnings.add('tls_unverified', `certificate verification disabled (--insecure); it would have failed: ${info.verifyError}`);
    } else if (plan.tls === 'opportunistic') {
      state.warnings.add('tls_unverified', `certificate not verified (opportunistic TLS): ${info.verifyError}`);
    } else {
      throw failPhase(ctx, new ProbeError('tls', phase, `certificate not trusted: ${info.verifyError}`));
    }
  }
  const days = info.daysLeft;
  const expires = `certificate expires in ${days} days (${info.validTo})`;
  if (plan.criticalCertDays !== null && days !== null && days < plan.criticalCertDays) {
    throw failPhase(ctx, new ProbeError('tls', phase, `${expires}, under the critical minimum of ${plan.criticalCertDays}`));
  }
  if (plan.minCertDays !== null && days !== null && days < plan.minCertDays) {
    state.warnings.add('cert_expiring', `${expires}, under the minimum of ${plan.minCertDays}`);
  }
  ctx.trace.end(phase, true);
}
