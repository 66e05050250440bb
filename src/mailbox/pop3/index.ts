/**
 * A minimal POP3 client of our own: RFC 1939 (USER/PASS, STAT, UIDL, LIST, TOP, RETR, DELE, QUIT), RFC 2449 CAPA
 * and PIPELINING, RFC 2595 STLS. One command at a time, or a batch when the server pipelines; status lines and
 * multi-line answers (dot-unstuffed) are framed with bounded line length and answer size (framing.ts) on one
 * connection (connection.ts); login.ts takes it to the TRANSACTION state, listing.ts picks the newest
 * `maxMessages` messages (holding no more than those, however many the server lists), session.ts works them.
 * Every wait ends when the AbortSignal given to `open` fires.
 * Expected failures reject with a ProbeError (phase `roundtrip`); the password never appears in one.
 *
 * A POP3 session sees the maildrop as it was at login and commits DELE only at QUIT. So `take()` of an id the
 * session has already missed (a poll) first QUITs and logs in again, and `close()` must be called after `take()`
 * or `cleanup()`, or their deletions do not happen. Probe headers are read with TOP n 0 and remembered by UIDL
 * (per client instance), so a later poll reads only the new messages' headers, and the listing itself is not read
 * again when the maildrop only grew (listing.ts).
 */
import { systemClock, type Clock } from '../../core/clock.js';
import { MAILBOX_LIMITS, plaintextRefusal } from '../policy.js';
import type { MailboxClient, MailboxDeps, MailboxLimits, MailboxSession, MailboxSettings } from '../types.js';
import { newMemory, type Remembered } from './listing.js';
import { openSession } from './session.js';

/** POP3 as a MailboxClient. Keep one instance across polls: it remembers probe headers by UIDL. */
export class Pop3Client implements MailboxClient {
  private readonly remembered = new Map<string, Remembered>();
  private readonly clock: Clock;
  private readonly limits: MailboxLimits;

  constructor(deps: MailboxDeps = {}) {
    this.clock = deps.clock ?? systemClock;
    this.limits = deps.limits ?? MAILBOX_LIMITS;
  }

  async open(settings: MailboxSettings, signal: AbortSignal, clock: Clock = this.clock): Promise<MailboxSession> {
    const refused = plaintextRefusal(settings);
    if (refused) throw refused;
    const key = `${settings.host}:${settings.port}/${settings.username}`;
    let memory = this.remembered.get(key);
    if (!memory) this.remembered.set(key, (memory = newMemory()));
    return openSession(settings, signal, { clock, limits: this.limits, memory });
  }
}
