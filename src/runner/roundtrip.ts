import type { CheckPlan, RoundtripPlan } from '../core/plan.js';
import type { CheckResult, FailureReason, RoundtripInfo } from '../core/result.js';
import type { Clock } from '../core/clock.js';
import { deadline as makeDeadline, sleep } from '../core/deadline.js';
import { isProbeError } from '../core/errors.js';
import { analyzeHeaders } from '../headers/analyze.js';
import type { MailboxClient, MailboxProtocol, MailboxSession } from '../mailbox/types.js';
import { round } from '../smtp/trace.js';

export interface RoundtripDeps extends Clock {
  mailbox: MailboxClient;
  signal?: AbortSignal;
  /** Across runs of one target (the daemon keeps one per target): messages that arrived late or never. */
  tracker?: RoundtripTracker;
}

/** Longest a probe message is waited for after its run gave up before it counts as never delivered. */
const NEVER_AFTER_TIMEOUTS = 10;

/**
 * Messages of earlier runs that were not found in time: looked for again on later runs, counted as `late` when
 * found and as `never` when they stay away for ten round-trip timeouts.
 */
export class RoundtripTracker {
  /** The mailbox client kept across this target's runs: the POP3 client remembers probe headers by UIDL. */
  private kept: { protocol: MailboxProtocol; client: MailboxClient } | null = null;

  /** This target's mailbox client for `protocol`, made by `make` the first time (or when the protocol changed). */
  async mailboxFor(protocol: MailboxProtocol, make: (p: MailboxProtocol) => Promise<MailboxClient>): Promise<MailboxClient> {
    if (this.kept?.protocol !== protocol) this.kept = { protocol, client: await make(protocol) };
    return this.kept.client;
  }

  late = 0;
  never = 0;
  private readonly missing = new Map<string, number>();

  /** The counts so far, as data (what the metrics record). */
  totals(): { late: number; never: number } {
    return { late: this.late, never: this.never };
  }

  gaveUp(probeId: string, atWallMs: number): void {
    this.missing.set(probeId, atWallMs);
    while (this.missing.size > 100) this.missing.delete(this.missing.keys().next().value!);
  }

  /** Look for earlier stragglers in an open session; count what arrived late and what is given up for good. */
  async sweep(session: MailboxSession, nowWall: number, timeoutMs: number): Promise<void> {
    for (const [id, at] of [...this.missing]) {
      if ((await session.take(id)) !== null) {
        this.late += 1;
        this.missing.delete(id);
      } else if (nowWall - at > NEVER_AFTER_TIMEOUTS * timeoutMs) {
        this.never += 1;
        this.missing.delete(id);
      }
    }
  }
}

/**
 * After a successful send: poll the mailbox for the message carrying this run's X-Smtp-Probe-Id, time its
 * delivery (the `roundtrip` phase), read its Received chain, delete it, and clean up this target's leftovers of
 * earlier runs. A message that does not come within the round-trip timeout fails at `roundtrip` with `timeout`.
 */
export async function runRoundtrip(plan: CheckPlan, rt: RoundtripPlan, result: CheckResult, deps: RoundtripDeps): Promise<CheckResult> {
  if (!result.ok || result.messageId === null || !plan.send?.deliver) return result;
  const started = deps.now();
  const sentWall = Date.parse(result.startedAt) + result.durationMs;
  const bound = makeDeadline(rt.timeoutMs, [deps.signal], deps);
  const deadline = bound.signal;
  const fail = (reason: FailureReason, message: string, extra: Partial<RoundtripInfo> = {}): CheckResult => ({
    ...result,
    ok: false,
    durationMs: round(result.durationMs + (deps.now() - started)),
    failure: { phase: 'roundtrip', reason, code: null, enhancedCode: null, message },
    phases: [...result.phases, { phase: 'roundtrip', ok: false, durationMs: round(deps.now() - started) }],
    roundtrip: { deliveredMs: null, folder: null, hops: [], transitMs: null, authResults: null, ...extra },
  });

  let session: MailboxSession | null = null;
  try {
    session = await deps.mailbox.open(rt.mailbox, deadline, deps);
    for (;;) {
      const found = await session.take(result.probeId);
      if (found) {
        const analysis = analyzeHeaders(found.raw);
        const deliveredMs = round(Math.max(0, found.seenAt - sentWall));
        await tidy(session, plan, rt, deps);
        return {
          ...result,
          durationMs: round(result.durationMs + (deps.now() - started)),
          phases: [...result.phases, { phase: 'roundtrip', ok: true, durationMs: round(deps.now() - started), detail: `in ${found.folder}` }],
          roundtrip: { deliveredMs, folder: found.folder, hops: analysis.hops, transitMs: analysis.transitMs, authResults: analysis.authResults },
        };
      }
      if (deadline.aborted) break;
      // IMAP IDLE wakes as soon as the server announces new mail; otherwise poll every pollMs.
      await (session.waitForMail ? session.waitForMail(rt.pollMs, deadline) : sleep(rt.pollMs, deadline, deps));
      if (deadline.aborted) break;
    }
    deps.tracker?.gaveUp(result.probeId, deps.wallNow());
    await tidy(session, plan, rt, deps).catch(() => undefined);
    return fail('timeout', `the message did not arrive in ${rt.mailbox.protocol}://${rt.mailbox.host} within ${rt.timeoutMs} ms`);
  } catch (e) {
    if (deadline.aborted) {
      deps.tracker?.gaveUp(result.probeId, deps.wallNow());
      return fail('timeout', `mailbox ${rt.mailbox.protocol}://${rt.mailbox.host} did not answer within the round-trip timeout of ${rt.timeoutMs} ms`);
    }
    return fail(isProbeError(e) ? e.reason : mailboxReason(e), `mailbox ${rt.mailbox.protocol}://${rt.mailbox.host}: ${(e as Error).message ?? String(e)}`);
  } finally {
    await session?.close().catch(() => undefined);
    bound.dispose();
  }
}

/** Earlier stragglers, then this target's probe messages older than the round-trip timeout: nothing else. */
async function tidy(session: MailboxSession, plan: CheckPlan, rt: RoundtripPlan, deps: RoundtripDeps): Promise<void> {
  await deps.tracker?.sweep(session, deps.wallNow(), rt.timeoutMs);
  await session.cleanup(plan.name, deps.wallNow() - rt.timeoutMs);
}

function mailboxReason(e: unknown): FailureReason {
  const code = (e as NodeJS.ErrnoException).code ?? '';
  const text = String((e as Error).message ?? '').toLowerCase();
  if (['ECONNREFUSED', 'EHOSTUNREACH', 'ENETUNREACH'].includes(code)) return 'connect';
  if (code === 'ENOTFOUND' || code === 'EAI_AGAIN') return 'dns';
  if (/cert|tls|ssl/.test(text) || code.startsWith('ERR_TLS') || code.includes('CERT')) return 'tls';
  if (/auth|login|password|credential/.test(text)) return 'auth';
  if (code === 'ECONNRESET' || /closed/.test(text)) return 'closed';
  return 'protocol';
}
