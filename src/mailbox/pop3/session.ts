/**
 * The TRANSACTION state of a POP3 session (RFC 1939 5): the maildrop listed (LIST, UIDL), probe headers read
 * (TOP n 0, else RETR) and remembered by UIDL, our message read (RETR) and deleted (DELE), committed by QUIT.
 */
import type { Clock } from '../../core/clock.js';
import { ProbeError } from '../../core/errors.js';
import { MAILBOX_PHASE as PHASE } from '../policy.js';
import { hasProbeId, isStaleProbe, probeFieldsOf, type ProbeFields } from '../probe-message.js';
import type { FoundMessage, MailboxLimits, MailboxSession, MailboxSettings } from '../types.js';
import type { Pop3Connection } from './connection.js';
import { logIn } from './login.js';

/** Probe headers remembered per mailbox (by UIDL) between sessions of one client. */
const MAX_REMEMBERED = 20_000;
/** RFC 1939 7: a unique-id is 1 to 70 characters 0x21-0x7e. Longer ones are not remembered. */
const MAX_UIDL = 70;

/** Probe headers of one maildrop by UIDL, kept by the client across its sessions. */
export type Remembered = Map<string, ProbeFields>;

interface Listed {
  n: number;
  size: number;
  uid: string | null;
}

/** One logged-in connection and the maildrop as it saw it at login. */
interface View {
  conn: Pop3Connection;
  /** When the maildrop was opened (wall clock): the messages listed were there by then. */
  openedAt: number;
  /** TOP: true when CAPA lists it or it worked, false when known missing, null while unknown. */
  top: boolean | null;
  listing: Listed[] | null;
  deleted: Set<number>;
  fields: Map<number, ProbeFields | null>;
  /** Probe ids looked for in this view and not found: asking again means polling, which needs a new view. */
  missed: Set<string>;
  /** The last message read whole for its headers (no TOP), kept so that taking it does not read it twice. */
  lastRead: { n: number; raw: string } | null;
}

/** Log in and open a session on the maildrop; `memory` is what the client remembers of it. */
export async function openSession(
  settings: MailboxSettings,
  signal: AbortSignal,
  deps: { clock: Clock; limits: MailboxLimits; memory: Remembered },
): Promise<MailboxSession> {
  const { clock, limits, memory } = deps;
  const connect = async (): Promise<View> => {
    const { conn, caps } = await logIn(settings, signal, clock, limits);
    return newView(conn, caps, clock.wallNow());
  };
  return new Pop3Session(await connect(), connect, memory, limits);
}

function newView(conn: Pop3Connection, caps: Set<string> | null, openedAt: number): View {
  const top = caps === null ? null : caps.has('TOP');
  return { conn, openedAt, top, listing: null, deleted: new Set(), fields: new Map(), missed: new Set(), lastRead: null };
}

/**
 * POP3 shows the maildrop as it was at login and commits DELE only at QUIT. So `take()` of an id that this view
 * has already missed (a poll) first QUITs, committing what was deleted, and logs in again; `close()` QUITs.
 */
class Pop3Session implements MailboxSession {
  private closed = false;

  constructor(
    private view: View,
    private readonly connect: () => Promise<View>,
    private readonly memory: Remembered,
    private readonly limits: MailboxLimits,
  ) {}

  /** Finds, reads and DELEs the message (seenAt: when this view was opened). QUIT commits the deletion. */
  async take(probeId: string): Promise<FoundMessage | null> {
    this.checkOpen();
    if (this.view.missed.has(probeId)) {
      await this.quit();
      this.view = await this.connect();
    }
    const v = this.view;
    for (const m of await this.messages()) {
      const f = await this.headersOf(m);
      if (!f || !hasProbeId(f, probeId)) continue;
      const raw = await this.retrieve(m);
      if (!hasProbeId(probeFieldsOf(raw), probeId)) {
        throw new ProbeError('protocol', PHASE, `message ${m.n} changed between TOP and RETR`);
      }
      await this.dele(m);
      return { raw, folder: 'INBOX', seenAt: v.openedAt };
    }
    v.missed.add(probeId);
    return null;
  }

  /** DELEs this target's probe messages dated before the cutoff; committed by QUIT in close(). */
  async cleanup(target: string, olderThanMs: number): Promise<number> {
    this.checkOpen();
    let removed = 0;
    for (const m of await this.messages()) {
      const f = await this.headersOf(m);
      if (!f || !isStaleProbe(f, target, olderThanMs)) continue;
      await this.dele(m);
      removed += 1;
    }
    return removed;
  }

  /** QUIT, which commits the DELEs. Rejects only when deletions were made and may not have been committed. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.quit();
  }

  private checkOpen(): void {
    if (this.closed) throw new Error('POP3 session used after close()');
  }

  private async quit(): Promise<void> {
    const { conn, deleted } = this.view;
    try {
      if (!conn.alive) {
        if (deleted.size > 0) throw new ProbeError('closed', PHASE, `connection lost before QUIT: ${deleted.size} deletion(s) not committed`);
        return;
      }
      const r = await conn.request('QUIT', false);
      if (!r.ok && deleted.size > 0) {
        throw new ProbeError('reply', PHASE, `QUIT refused, deletions not committed: -ERR ${conn.cleanText(r.text)}`);
      }
    } catch (e) {
      if (deleted.size > 0) throw e;
    } finally {
      conn.close();
    }
  }

  /** The maildrop listing, newest (highest number) first, without messages deleted in this view. */
  private async messages(): Promise<Listed[]> {
    const v = this.view;
    if (!v.listing) {
      const list = await v.conn.request('LIST', true);
      if (!list.ok) throw new ProbeError('reply', PHASE, `LIST refused: -ERR ${v.conn.cleanText(list.text)}`);
      const sizes = numberedLines(list.lines, 'LIST', v.conn);
      const uids = new Map<number, string>();
      const uidl = await v.conn.request('UIDL', true);
      if (uidl.ok) for (const [n, uid] of numberedLines(uidl.lines, 'UIDL', v.conn)) uids.set(n, uid);
      v.listing = [...sizes].map(([n, size]) => ({ n, size: Number(size), uid: uids.get(n) ?? null })).sort((a, b) => b.n - a.n);
      if (uidl.ok) this.forgetGone(v.listing);
    }
    return v.listing.filter((m) => !v.deleted.has(m.n));
  }

  /** Headers remembered for messages no longer in the maildrop are dropped. */
  private forgetGone(listing: Listed[]): void {
    const present = new Set(listing.map((m) => m.uid));
    for (const uid of this.memory.keys()) if (!present.has(uid)) this.memory.delete(uid);
  }

  /** The probe headers of a message: remembered by UIDL, else read (null when it cannot be read). */
  private async headersOf(m: Listed): Promise<ProbeFields | null> {
    const remembered = m.uid === null ? undefined : this.memory.get(m.uid);
    if (remembered) return remembered;
    const seen = this.view.fields.get(m.n);
    if (seen !== undefined) return seen;
    const f = await this.readHeaders(m);
    this.view.fields.set(m.n, f);
    if (f && m.uid !== null && m.uid.length <= MAX_UIDL) {
      if (this.memory.size >= MAX_REMEMBERED) this.memory.delete(this.memory.keys().next().value!);
      this.memory.set(m.uid, f);
    }
    return f;
  }

  /** TOP n 0; RETR instead when the server has no TOP (a message over the size limit is not read). */
  private async readHeaders(m: Listed): Promise<ProbeFields | null> {
    const v = this.view;
    if (v.top !== false) {
      const r = await v.conn.request(`TOP ${m.n} 0`, true);
      if (r.ok) {
        v.top = true;
        return probeFieldsOf(joinLines(r.lines));
      }
      // TOP works here, so this one message is gone or unreadable (another session deleted it).
      if (v.top === true) return null;
      v.top = false;
    }
    if (m.size > this.limits.maxMessageBytes) return null;
    const r = await v.conn.request(`RETR ${m.n}`, true);
    if (!r.ok) return null;
    v.lastRead = { n: m.n, raw: joinLines(r.lines) };
    return probeFieldsOf(v.lastRead.raw);
  }

  private async retrieve(m: Listed): Promise<string> {
    const { conn, lastRead } = this.view;
    if (lastRead?.n === m.n) return lastRead.raw;
    if (m.size > this.limits.maxMessageBytes) {
      throw new ProbeError('protocol', PHASE, `message ${m.n} is ${m.size} bytes, over the ${this.limits.maxMessageBytes}-byte limit`);
    }
    const r = await conn.request(`RETR ${m.n}`, true);
    if (!r.ok) throw new ProbeError('reply', PHASE, `RETR ${m.n} refused: -ERR ${conn.cleanText(r.text)}`);
    return joinLines(r.lines);
  }

  private async dele(m: Listed): Promise<void> {
    const { conn, deleted } = this.view;
    const r = await conn.request(`DELE ${m.n}`, false);
    if (!r.ok) throw new ProbeError('reply', PHASE, `DELE ${m.n} refused: -ERR ${conn.cleanText(r.text)}`);
    deleted.add(m.n);
  }
}

/** `n value` lines of LIST and UIDL (RFC 1939 5). */
function numberedLines(lines: Buffer[], command: string, conn: Pop3Connection): Map<number, string> {
  const out = new Map<number, string>();
  for (const line of lines) {
    const text = line.toString('latin1');
    const m = /^\s*(\d{1,9})\s+(\S+)/.exec(text);
    if (!m || (command === 'LIST' && !/^\d{1,12}$/.test(m[2]!))) {
      throw new ProbeError('protocol', PHASE, `unreadable ${command} line: "${conn.cleanText(text)}"`);
    }
    out.set(Number(m[1]), m[2]!);
  }
  return out;
}

/** Lines back into text with CRLF endings (the whole message for RETR). UTF-8; invalid bytes become U+FFFD. */
function joinLines(lines: Buffer[]): string {
  const parts: Buffer[] = [];
  const crlf = Buffer.from('\r\n');
  for (const l of lines) parts.push(l, crlf);
  return Buffer.concat(parts).toString('utf8');
}
