/**
 * The TRANSACTION state of a POP3 session (RFC 1939 5): the newest messages of the maildrop listed (listing.ts:
 * STAT, UIDL), probe headers read newest first (TOP n 0, pipelined in batches when the server offers PIPELINING;
 * else RETR) and remembered by UIDL, our message read (RETR) and deleted (DELE), committed by QUIT.
 */
import type { Clock } from '../../core/clock.js';
import { ProbeError } from '../../core/errors.js';
import { MAILBOX_PHASE as PHASE, maxMessagesOf } from '../policy.js';
import { hasProbeId, isStaleProbe, probeFieldsOf, type ProbeFields } from '../probe-message.js';
import type { FoundMessage, MailboxLimits, MailboxSession, MailboxSettings } from '../types.js';
import type { Pop3Connection } from './connection.js';
import { listWindow, type Listed, type Remembered } from './listing.js';
import { logIn } from './login.js';

export type { Remembered } from './listing.js';

/** Probe headers remembered per mailbox (by UIDL) between sessions of one client, at least. */
const MAX_REMEMBERED = 20_000;
/** TOP commands per pipelined batch. */
const TOP_BATCH = 50;
/** Values of each probe field kept per message, and their length: ours have one short value each. */
const MAX_FIELD_VALUES = 4;
const MAX_FIELD_LENGTH = 256;

/** One logged-in connection and the maildrop as it saw it at login. */
interface View {
  conn: Pop3Connection;
  /** When the maildrop was opened (wall clock): the messages listed were there by then. */
  openedAt: number;
  /** TOP: true when CAPA lists it or it worked, false when known missing, null while unknown. */
  top: boolean | null;
  /** CAPA lists PIPELINING (RFC 2449): TOPs and UIDLs go out in batches. */
  pipelining: boolean;
  /** The newest messages, newest first (at most settings.maxMessages). */
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
  return new Pop3Session(await connect(), connect, memory, limits, maxMessagesOf(settings));
}

function newView(conn: Pop3Connection, caps: Set<string> | null, openedAt: number): View {
  const top = caps === null ? null : caps.has('TOP');
  const pipelining = caps?.has('PIPELINING') ?? false;
  return { conn, openedAt, top, pipelining, listing: null, deleted: new Set(), fields: new Map(), missed: new Set(), lastRead: null };
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
    private readonly maxMessages: number,
  ) {}

  /** Finds, reads and DELEs the message (seenAt: when this view was opened). QUIT commits the deletion. */
  async take(probeId: string): Promise<FoundMessage | null> {
    this.checkOpen();
    if (this.view.missed.has(probeId)) {
      await this.quit();
      this.view = await this.connect();
    }
    const v = this.view;
    for await (const [m, f] of this.walk()) {
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
    for await (const [m, f] of this.walk()) {
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

  /** The window's messages newest first, without those deleted in this view, each with its probe headers. */
  private async *walk(): AsyncGenerator<[Listed, ProbeFields | null]> {
    const list = await this.messages();
    for (let i = 0; i < list.length; i += TOP_BATCH) {
      const batch = list.slice(i, i + TOP_BATCH);
      await this.prefetch(batch);
      for (const m of batch) if (!this.view.deleted.has(m.n)) yield [m, await this.headersOf(m)];
    }
  }

  /** The newest messages (listing.ts), listed once per view; headers remembered for others are dropped. */
  private async messages(): Promise<Listed[]> {
    const v = this.view;
    if (!v.listing) {
      v.listing = await listWindow(v.conn, this.memory, this.maxMessages, v.pipelining, this.limits.maxMessageBytes);
      if (this.memory.uidl) this.forgetGone(v.listing);
    }
    return v.listing.filter((m) => !v.deleted.has(m.n));
  }

  /** Headers remembered for messages no longer in the window are dropped. */
  private forgetGone(listing: Listed[]): void {
    const present = new Set(listing.map((m) => m.uid));
    for (const uid of this.memory.fields.keys()) if (!present.has(uid)) this.memory.fields.delete(uid);
  }

  /** TOP n 0 for a batch's unknown headers at once, when the server pipelines and TOP is known to work. */
  private async prefetch(batch: Listed[]): Promise<void> {
    const v = this.view;
    if (!v.pipelining || v.top !== true) return;
    const unknown = batch.filter((m) => !(m.uid !== null && this.memory.fields.has(m.uid)) && !v.fields.has(m.n));
    const answers = v.conn.pipeline(unknown.map((m) => ({ line: `TOP ${m.n} 0`, multi: true })));
    for (const [i, m] of unknown.entries()) {
      const r = await answers[i]!;
      this.keep(m, r.ok ? probeFieldsOf(joinLines(r.lines)) : null);
    }
  }

  /** The probe headers of a message: remembered by UIDL, else read (null when it cannot be read). */
  private async headersOf(m: Listed): Promise<ProbeFields | null> {
    const remembered = m.uid === null ? undefined : this.memory.fields.get(m.uid);
    if (remembered) return remembered;
    const seen = this.view.fields.get(m.n);
    if (seen !== undefined) return seen;
    return this.keep(m, await this.readHeaders(m));
  }

  /** Headers read: kept for this view, and by UIDL for later ones (within bounds). */
  private keep(m: Listed, read: ProbeFields | null): ProbeFields | null {
    const f = read && compact(read);
    this.view.fields.set(m.n, f);
    if (f && m.uid !== null) {
      if (this.memory.fields.size >= Math.max(MAX_REMEMBERED, 2 * this.maxMessages)) {
        this.memory.fields.delete(this.memory.fields.keys().next().value!);
      }
      this.memory.fields.set(m.uid, f);
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
    const size = await this.sizeOf(m);
    if (size === null || size > this.limits.maxMessageBytes) return null;
    const r = await v.conn.request(`RETR ${m.n}`, true);
    if (!r.ok) return null;
    v.lastRead = { n: m.n, raw: joinLines(r.lines) };
    return probeFieldsOf(v.lastRead.raw);
  }

  private async retrieve(m: Listed): Promise<string> {
    const { conn, lastRead } = this.view;
    if (lastRead?.n === m.n) return lastRead.raw;
    const size = await this.sizeOf(m);
    if (size !== null && size > this.limits.maxMessageBytes) {
      throw new ProbeError('protocol', PHASE, `message ${m.n} is ${size} bytes, over the ${this.limits.maxMessageBytes}-byte limit`);
    }
    const r = await conn.request(`RETR ${m.n}`, true);
    if (!r.ok) throw new ProbeError('reply', PHASE, `RETR ${m.n} refused: -ERR ${conn.cleanText(r.text)}`);
    return joinLines(r.lines);
  }

  /** `LIST n` (RFC 1939 5): the message's size, asked only before reading it whole; null when refused. */
  private async sizeOf(m: Listed): Promise<number | null> {
    const { conn } = this.view;
    const r = await conn.request(`LIST ${m.n}`, false);
    if (!r.ok) return null;
    const size = /^\s*(\d{1,9})\s+(\d{1,12})\b/.exec(r.text);
    if (!size || Number(size[1]) !== m.n) throw new ProbeError('protocol', PHASE, `unreadable LIST answer: "+OK ${conn.cleanText(r.text)}"`);
    return Number(size[2]);
  }

  private async dele(m: Listed): Promise<void> {
    const { conn, deleted } = this.view;
    const r = await conn.request(`DELE ${m.n}`, false);
    if (!r.ok) throw new ProbeError('reply', PHASE, `DELE ${m.n} refused: -ERR ${conn.cleanText(r.text)}`);
    deleted.add(m.n);
  }
}

/** Lines back into text with CRLF endings (the whole message for RETR). UTF-8; invalid bytes become U+FFFD. */
function joinLines(lines: Buffer[]): string {
  const parts: Buffer[] = [];
  const crlf = Buffer.from('\r\n');
  for (const l of lines) parts.push(l, crlf);
  return Buffer.concat(parts).toString('utf8');
}

/** What is kept of a message's probe fields: a few short values of each (a hostile header block costs nothing). */
function compact(f: ProbeFields): ProbeFields {
  const keep = (values: string[]): string[] => values.filter((v) => v.length <= MAX_FIELD_LENGTH).slice(0, MAX_FIELD_VALUES);
  return { ids: keep(f.ids), targets: keep(f.targets), dates: keep(f.dates) };
}
