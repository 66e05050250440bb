/** Reading the test message back: one interface over POP3 (our client) and IMAP (imapflow). */

import type { Clock } from '../core/clock.js';
import type { MailboxSettings } from '../core/mailbox.js';

export type { MailboxProtocol, MailboxSettings } from '../core/mailbox.js';

export interface FoundMessage {
  /** The whole message as read (headers and body), CRLF line endings. */
  raw: string;
  /** Where it was found: "INBOX", "Junk", ... (POP3: "INBOX"). */
  folder: string;
  /** When the mailbox first showed it (ms since the epoch, wall clock): for delivery latency. */
  seenAt: number;
}

/** One open mailbox session. Every method rejects only for protocol or connection trouble (caller maps it). */
export interface MailboxSession {
  /** The message whose `X-Smtp-Probe-Id` header equals `probeId`, or null when not (yet) there. Deletes it when found. */
  take(probeId: string): Promise<FoundMessage | null>;
  /**
   * Remove earlier probe messages of this target only: `X-Smtp-Probe-Target` equal to `target` and a Date older
   * than `olderThanMs` (wall clock). Never touches anything else in a shared mailbox. Returns how many went.
   */
  cleanup(target: string, olderThanMs: number): Promise<number>;
  /**
   * Wait up to `ms` for new mail (IMAP IDLE, RFC 2177), returning early when the server announces some; absent
   * or without IDLE the caller just waits `ms` before looking again.
   */
  waitForMail?(ms: number, signal: AbortSignal): Promise<void>;
  close(): Promise<void>;
}

export interface MailboxLimits {
  /** Longest line accepted from the server, in bytes without its line ending: a flood without a newline stops here. */
  maxLineBytes: number;
  /** Largest message read back, and largest multi-line answer of any kind (LIST, UIDL, TOP), in bytes. */
  maxMessageBytes: number;
}

/** What a client is built with (both clients take the same). */
export interface MailboxDeps {
  /** The default clock of open(): timers, and the wall clock of FoundMessage.seenAt. */
  clock?: Clock;
  limits?: MailboxLimits;
}

export interface MailboxClient {
  /**
   * Connect and log in. `signal` ends every wait of the session; `clock` (default: the client's own, else the
   * system's) sets its timers and dates FoundMessage.seenAt.
   */
  open(settings: MailboxSettings, signal: AbortSignal, clock?: Clock): Promise<MailboxSession>;
}
