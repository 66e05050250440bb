import { quoteBytes } from '../core/bytes.js';
import type { CapacityPhase, CapacityPlan, CapacityResult } from '../core/capacity.js';
import type { Clock } from '../core/clock.js';
import { deadline } from '../core/deadline.js';
import { isProbeError } from '../core/errors.js';
import { replyText, type SmtpReply } from '../core/reply.js';
import { DEFAULTS } from '../plan/defaults.js';
import { hasCapability, parseCapabilities } from '../smtp/ehlo.js';
import { oneLine } from '../smtp/message.js';
import { SmtpSession } from '../smtp/session.js';

/** What the run learns from a session as it goes: to count the sessions open, and those past a 220 greeting. */
export interface SessionWatch {
  connected(): void;
  greeted(): void;
  /** The socket is closed; `greeted`: it had had its 220. */
  closed(greeted: boolean): void;
  /** A 421 arrived (told before the session closes: the run stops starting sessions at once). */
  limited(phase: CapacityPhase, reply: string, greeted: boolean): void;
}

/** How one session ended, and the phases it completed. */
export interface SessionOutcome {
  result: CapacityResult;
  /** Milliseconds, for each phase completed. */
  timings: Partial<Record<CapacityPhase, number>>;
  /** Where and why it ended, unless accepted. */
  failure: { phase: CapacityPhase; message: string } | null;
}

/** A session ended by a well-formed answer that is not the one wanted. */
class Ended extends Error {
  constructor(
    readonly result: CapacityResult,
    readonly phase: CapacityPhase,
    message: string,
  ) {
    super(message);
  }
}

/** Longest reply text kept in a message. */
const REPLY_CHARS = 300;

/**
 * One capacity session over one SMTP connection: connect, the greeting (nothing is sent before it: no
 * pipelining before the greeting), EHLO and STARTTLS as far as `until` asks, then QUIT (its answer is not judged)
 * and close. Every wait is bounded by the phase timeout and the whole session by `sessionTimeoutMs` or `signal`.
 * Never rejects: the outcome says how it ended.
 */
export async function runSession(
  plan: CapacityPlan,
  address: string,
  clock: Clock,
  signal: AbortSignal,
  watch: SessionWatch,
): Promise<SessionOutcome> {
  const bound = deadline(plan.sessionTimeoutMs, [signal], clock);
  let firstByteAt: number | null = null;
  const session = new SmtpSession({
    signal: bound.signal,
    phaseTimeoutMs: plan.phaseTimeoutMs,
    clock,
    onFirstByte: () => (firstByteAt = clock.now()),
  });
  const timings: SessionOutcome['timings'] = {};
  const at = { phase: 'connect' as CapacityPhase, connected: false, greeted: false };
  try {
    const start = clock.now();
    await session.open(address, plan.port, plan.sourceAddress ?? undefined);
    at.connected = true;
    watch.connected();
    let mark = clock.now();
    timings.connect = mark - start;
    if (plan.implicitTls) {
      at.phase = 'tls';
      await handshake(session, plan, 'tls');
      timings.tls = clock.now() - mark;
      mark = clock.now();
    }
    at.phase = 'banner';
    const greeting = await session.read('banner');
    const now = clock.now();
    expectCode(greeting, 220, 'banner', watch);
    timings.banner_first_byte = Math.max(0, (firstByteAt ?? now) - mark);
    timings.banner = now - mark;
    at.greeted = true;
    watch.greeted();
    await afterGreeting(session, plan, clock, timings, at, watch);
    await quit(session);
    return { result: 'accepted', timings, failure: null };
  } catch (e) {
    // An answer we did not want: the connection is fine, so it ends with QUIT like any other.
    if (e instanceof Ended && session.isOpen) await quit(session);
    const out = classify(e, at.phase, at.greeted);
    // A 421 out of turn (before we asked anything) arrives as a protocol failure carrying the reply.
    if (out.result === '421' && !(e instanceof Ended)) watch.limited(at.phase, out.failure!.message, at.greeted);
    return { ...out, timings };
  } finally {
    session.close();
    bound.dispose();
    if (at.connected) watch.closed(at.greeted);
  }
}

/** EHLO (until ehlo or starttls), then STARTTLS and its handshake (until starttls, not on smtps://). */
async function afterGreeting(
  session: SmtpSession,
  plan: CapacityPlan,
  clock: Clock,
  timings: SessionOutcome['timings'],
  at: { phase: CapacityPhase },
  watch: SessionWatch,
): Promise<void> {
  if (plan.until === 'banner') return;
  at.phase = 'ehlo';
  let mark = clock.now();
  const ehlo = await session.command(`EHLO ${oneLine(plan.ehlo)}`, 'ehlo');
  expectCode(ehlo, 250, 'ehlo', watch);
  timings.ehlo = clock.now() - mark;
  if (plan.until !== 'starttls' || plan.implicitTls) return;
  at.phase = 'tls';
  if (!hasCapability(parseCapabilities(ehlo), 'STARTTLS')) throw new Ended('error', 'tls', 'STARTTLS not offered in the EHLO reply');
  mark = clock.now();
  expectCode(await session.command('STARTTLS', 'starttls'), 220, 'tls', watch);
  await handshake(session, plan, 'tls_upgrade');
  timings.tls = clock.now() - mark;
}

async function handshake(session: SmtpSession, plan: CapacityPlan, phase: 'tls' | 'tls_upgrade'): Promise<void> {
  const { info } = await session.startTls(plan.tlsParams, phase);
  if (plan.requireVerified && !info.verified) {
    throw new Ended('error', 'tls', `certificate not verified: ${info.verifyError ?? 'unknown reason'} (--insecure to accept it)`);
  }
}

/** QUIT and a short wait for its answer, whatever it is: the session has done what it came for. */
async function quit(session: SmtpSession): Promise<void> {
  try {
    session.send(['QUIT'], 'quit');
    await session.read('quit', DEFAULTS.capacity.quitWaitMs);
  } catch {
    // closed without a 221, or no answer in time: the server's business
  }
}

function expectCode(reply: SmtpReply, code: number, phase: CapacityPhase, watch: SessionWatch): void {
  if (reply.code === code) return;
  const text = quoteBytes(replyText(reply), REPLY_CHARS);
  if (reply.code === 421) watch.limited(phase, text, phase !== 'banner');
  throw new Ended(replyResult(reply.code), phase, text);
}

function replyResult(code: number): CapacityResult {
  if (code === 421) return '421';
  if (code >= 400 && code < 500) return '4xx';
  if (code >= 500) return '5xx';
  return 'error';
}

/** A failure as a result: replies by their code, refused before the greeting, timeouts, the rest `error`. */
function classify(e: unknown, phase: CapacityPhase, greeted: boolean): Omit<SessionOutcome, 'timings'> {
  if (e instanceof Ended) return { result: e.result, failure: { phase: e.phase, message: e.message } };
  if (!isProbeError(e)) return { result: 'error', failure: { phase, message: `internal error: ${String(e)}` } };
  const result: CapacityResult = e.reply
    ? replyResult(e.reply.code)
    : e.reason === 'timeout'
      ? 'timeout'
      : e.reason === 'connect' || (e.reason === 'closed' && !greeted)
        ? 'refused'
        : 'error';
  return { result, failure: { phase, message: e.message } };
}
