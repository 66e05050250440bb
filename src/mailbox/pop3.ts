/**
 * A minimal POP3 client of our own: RFC 1939 (USER/PASS, UIDL, LIST, TOP, RETR, DELE, QUIT), RFC 2449 CAPA and
 * RFC 2595 STLS. One command at a time; status lines and multi-line answers (dot-unstuffed) are framed here with
 * bounded line length and answer size. Every wait ends when the AbortSignal given to `open` fires. Expected
 * failures reject with a ProbeError (phase `roundtrip`); the password never appears in one.
 *
 * A POP3 session sees the maildrop as it was at login and commits DELE only at QUIT. So `take()` of an id the
 * session has already missed (a poll) first QUITs and logs in again, and `close()` must be called after `take()`
 * or `cleanup()`, or their deletions do not happen. Probe headers are read with TOP n 0 and remembered by UIDL
 * (per client instance), so a later poll reads only the new messages' headers.
 *
 * The header helpers at the end (`readHeaderFields`, `probeFieldsOf`, `isStaleProbe`, ...) are shared with the
 * IMAP client.
 */
import net from 'node:net';
import tls from 'node:tls';
import { systemClock, type Clock } from '../core/clock.js';
import { ProbeError } from '../core/errors.js';
import type { FailureReason } from '../core/result.js';
import { Connection, errText } from '../net/connection.js';
import { quoteBytes } from '../core/bytes.js';
import { describeVerifyError, sniFor } from '../net/tls.js';
import type { FoundMessage, MailboxClient, MailboxSession, MailboxSettings } from './types.js';

export interface MailboxLimits {
  /** Longest line accepted from the server, in bytes without its line ending: a flood without a newline stops here. */
  maxLineBytes: number;
  /** Largest message read back, and largest multi-line answer of any kind (LIST, UIDL, TOP), in bytes. */
  maxMessageBytes: number;
}

export const MAILBOX_LIMITS: MailboxLimits = { maxLineBytes: 64 * 1024, maxMessageBytes: 10 * 1024 * 1024 };

export interface MailboxDeps {
  /** The default clock of open(): timers, and the wall clock of FoundMessage.seenAt. */
  clock?: Clock;
  limits?: MailboxLimits;
}

const PHASE = 'roundtrip';
/** Probe headers remembered per mailbox (by UIDL) between sessions of one client. */
const MAX_REMEMBERED = 20_000;
/** RFC 1939 7: a unique-id is 1 to 70 characters 0x21-0x7e. Longer ones are not remembered. */
const MAX_UIDL = 70;
/** Server text quoted in an error message is cut here. */
const MAX_QUOTED = 200;

// ------------------------------------------------------------------------------------------------ framing ---

/** Bytes that are not POP3, or over the limits. */
export class MailboxProtocolError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'MailboxProtocolError';
  }
}

/** Splits input into lines (CRLF or bare LF), without their endings, holding at most `maxLineBytes` of a partial line. */
export class LineFramer {
  private partial: Buffer | null = null;

  constructor(private readonly maxLineBytes: number) {}

  get bufferedBytes(): number {
    return this.partial?.length ?? 0;
  }

  /** Drop the partial line held; returns its size. */
  reset(): number {
    const n = this.bufferedBytes;
    this.partial = null;
    return n;
  }

  push(chunk: Buffer): Buffer[] {
    const buf = this.partial ? Buffer.concat([this.partial, chunk]) : chunk;
    this.partial = null;
    const lines: Buffer[] = [];
    let start = 0;
    for (;;) {
      const lf = buf.indexOf(0x0a, start);
      if (lf < 0) break;
      const end = lf > start && buf[lf - 1] === 0x0d ? lf - 1 : lf;
      this.checkLength(end - start, buf, start);
      lines.push(buf.subarray(start, end));
      start = lf + 1;
    }
    if (start < buf.length) {
      this.checkLength(buf.length - start - (buf[buf.length - 1] === 0x0d ? 1 : 0), buf, start);
      this.partial = Buffer.from(buf.subarray(start));
    }
    return lines;
  }

  private checkLength(len: number, buf: Buffer, start: number): void {
    if (len > this.maxLineBytes) {
      throw new MailboxProtocolError(
        `server line longer than ${this.maxLineBytes} bytes: "${quoteBytes(buf.subarray(start, start + 60))}"`,
      );
    }
  }
}

export interface Pop3Reply {
  ok: boolean;
  /** Text after +OK / -ERR, as sent (not cleaned). */
  text: string;
  /** Multi-line answers: the lines, dot-unstuffed, without the terminating ".". */
  lines: Buffer[];
}

interface Pending {
  multi: boolean;
  limit: number;
  status: { ok: boolean; text: string } | null;
  lines: Buffer[];
  bytes: number;
  resolve: (r: Pop3Reply) => void;
  reject: (e: ProbeError) => void;
}

// ---------------------------------------------------------------------------------------------- the wire ---

/** One POP3 connection: framing, one outstanding command at a time (socket, TLS and deadline: Connection). */
class Pop3Wire {
  /** What is in progress, named by failures: "connect", "greeting", "TOP 3 0", "PASS ***". */
  step = 'connect';
  private framer: LineFramer;
  private pending: Pending | null = null;
  /** Lines nobody asked for; discarded at STLS (RFC 2595 4), a protocol error otherwise. */
  private early: Buffer[] = [];
  private earlyBytes = 0;
  private readonly conn: Connection;

  constructor(
    signal: AbortSignal,
    clock: Clock,
    private readonly limits: MailboxLimits,
  ) {
    this.framer = new LineFramer(limits.maxLineBytes);
    this.conn = new Connection({
      signal,
      clock,
      onData: (chunk) => this.receive(chunk),
      onFailure: (e) => this.wake(e),
      describe: () => ({ phase: PHASE, doing: this.step }),
      deadlineError: () => new ProbeError('timeout', PHASE, `mailbox deadline reached during ${this.step}`),
    });
  }

  get alive(): boolean {
    return this.conn.isOpen;
  }

  get encrypted(): boolean {
    return this.conn.encrypted;
  }

  /** Values replaced by *** in server text (the password, should a server echo it). */
  redact(values: string[]): void {
    this.conn.redact(values);
  }

  close(): void {
    this.conn.close();
  }

  /** Server text as an error message may hold it: secrets replaced, control bytes escaped, length capped. */
  cleanText(text: string): string {
    return this.conn.clean(text, MAX_QUOTED);
  }

  async connect(host: string, port: number): Promise<void> {
    await this.conn.connect(host, port, undefined, (e) => new ProbeError(connectReason(e), PHASE, connectMessage(e, host, port)));
  }

  /**
   * TLS on the open connection (pop3s right after connect, or after STLS's +OK). Input received before the
   * handshake is discarded (RFC 2595 4, as RFC 3207 6 for SMTP); returns how many bytes that was.
   */
  async startTls(settings: MailboxSettings): Promise<number> {
    this.conn.checkAlive();
    this.step = 'TLS handshake';
    const discarded = this.framer.reset() + this.earlyBytes;
    this.early = [];
    this.earlyBytes = 0;
    await this.conn.upgrade(tlsOptions(settings), (e) => new ProbeError('tls', PHASE, tlsMessage(e, settings)));
    return discarded;
  }

  /** The greeting: a status line the server sends unasked. */
  greeting(): Promise<Pop3Reply> {
    this.step = 'greeting';
    return this.await(false, this.limits.maxLineBytes);
  }

  /**
   * Send one command and read its answer. `multi`: a +OK is followed by lines up to a lone "." (at most
   * `limit` bytes after unstuffing). `shown` names the command in errors (secrets left out).
   */
  request(line: string, multi: boolean, shown = line, limit = this.limits.maxMessageBytes): Promise<Pop3Reply> {
    this.conn.checkAlive();
    if (this.pending) throw new Error(`POP3 command ${shown} while ${this.step} is outstanding`);
    this.step = shown;
    if (this.early.length > 0) {
      throw this.conn.fail(new ProbeError('protocol', PHASE, `server sent a line nobody asked for: "${this.cleanText(this.early[0]!.toString('utf8'))}"`));
    }
    this.conn.write(`${line}\r\n`);
    return this.await(multi, limit);
  }

  private await(multi: boolean, limit: number): Promise<Pop3Reply> {
    return new Promise<Pop3Reply>((resolve, reject) => {
      this.pending = { multi, limit, status: null, lines: [], bytes: 0, resolve, reject };
    });
  }

  /** Reject whoever waits for an answer with the terminal error. */
  private wake(e: ProbeError): void {
    const p = this.pending;
    this.pending = null;
    p?.reject(e);
  }

  private receive(chunk: Buffer): void {
    let lines: Buffer[];
    try {
      lines = this.framer.push(chunk);
    } catch (e) {
      this.conn.fail(new ProbeError('protocol', PHASE, `${(e as Error).message} (during ${this.step})`));
      return;
    }
    for (const line of lines) {
      if (this.conn.failure) return;
      this.onLine(line);
    }
  }

  private onLine(line: Buffer): void {
    const p = this.pending;
    if (!p) {
      this.early.push(line);
      this.earlyBytes += line.length + 2;
      if (this.earlyBytes > this.limits.maxLineBytes) {
        this.conn.fail(new ProbeError('protocol', PHASE, `server sent more than ${this.limits.maxLineBytes} bytes nobody asked for (after ${this.step})`));
      }
      return;
    }
    if (p.status === null) {
      const status = parseStatus(line);
      if (!status) {
        this.conn.fail(new ProbeError('protocol', PHASE, `not a POP3 answer to ${this.step}: "${this.cleanText(line.toString('utf8'))}"`));
        return;
      }
      p.status = status;
      if (!status.ok || !p.multi) this.complete(p);
      return;
    }
    if (line.length === 1 && line[0] === 0x2e) {
      this.complete(p);
      return;
    }
    const data = line[0] === 0x2e ? line.subarray(1) : line;
    p.bytes += data.length + 2;
    if (p.bytes > p.limit) {
      this.conn.fail(new ProbeError('protocol', PHASE, `answer to ${this.step} is larger than the ${p.limit}-byte limit`));
      return;
    }
    p.lines.push(data);
  }

  private complete(p: Pending): void {
    this.pending = null;
    p.resolve({ ok: p.status!.ok, text: p.status!.text, lines: p.lines });
  }
}

/** `+OK text` / `-ERR text` (RFC 1939 3), or null. */
function parseStatus(line: Buffer): { ok: boolean; text: string } | null {
  const text = line.toString('utf8');
  const m = /^(\+OK|-ERR)(?:[ \t](.*))?$/s.exec(text);
  if (!m) return null;
  return { ok: m[1] === '+OK', text: m[2] ?? '' };
}

// ------------------------------------------------------------------------------------------------- TLS ---

/** Verification against settings.servername, SNI unless it is an IP address; `insecure` turns verification off. */
export function tlsOptions(settings: MailboxSettings): tls.ConnectionOptions {
  const name = settings.servername;
  return {
    servername: sniFor(name),
    ca: settings.ca,
    rejectUnauthorized: !settings.insecure,
    checkServerIdentity: (_host, cert) => tls.checkServerIdentity(name, cert),
  };
}

function tlsMessage(e: Error, settings: MailboxSettings): string {
  const code = (e as NodeJS.ErrnoException).code;
  const known = code ? describeVerifyError(code, settings.servername) : null;
  return `TLS handshake failed: ${known && known !== code ? known : errText(e)}`;
}

function connectReason(e: Error): FailureReason {
  const code = (e as NodeJS.ErrnoException).code;
  return code === 'ENOTFOUND' || code === 'EAI_AGAIN' ? 'dns' : 'connect';
}

function connectMessage(e: Error, host: string, port: number): string {
  const code = (e as NodeJS.ErrnoException).code;
  const where = net.isIPv6(host) ? `[${host}]:${port}` : `${host}:${port}`;
  if (code === 'ECONNREFUSED') return `connection refused by ${where}`;
  if (code === 'ENOTFOUND' || code === 'EAI_AGAIN') return `cannot resolve ${host} (${code})`;
  return `cannot connect to ${where}: ${errText(e)}`;
}

/** Rule 11: a configured value never carries a line break into a command. */
function oneLine(value: string): string {
  return value.replace(/[\r\n\0]+/g, '');
}

/** Refuse before connecting when the settings would send the password in the clear. */
export function plaintextRefusal(settings: MailboxSettings): ProbeError | null {
  const secure = settings.protocol === 'pop3s' || settings.protocol === 'imaps' || settings.starttls;
  if (secure || settings.allowPlaintext) return null;
  const upgrade = settings.protocol === 'pop3' ? 'STLS' : 'STARTTLS';
  return new ProbeError(
    'tls',
    PHASE,
    `refusing to send the mailbox password without TLS (${settings.protocol}:// without ${upgrade}); enable starttls, use ${settings.protocol}s://, or allow plaintext explicitly`,
  );
}

// ---------------------------------------------------------------------------------------------- client ---

interface Listed {
  n: number;
  size: number;
  uid: string | null;
}

/** POP3 as a MailboxClient. Keep one instance across polls: it remembers probe headers by UIDL. */
export class Pop3Client implements MailboxClient {
  private readonly remembered = new Map<string, Map<string, ProbeFields>>();
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
    if (!memory) this.remembered.set(key, (memory = new Map()));
    const connect = async (): Promise<View> => {
      const { wire, caps } = await openWire(settings, signal, clock, this.limits);
      return newView(wire, caps, clock.wallNow());
    };
    return new Pop3Session(await connect(), connect, memory, this.limits);
  }
}

/** Connect, TLS (implicit or STLS), greeting, CAPA, USER/PASS: a wire in the TRANSACTION state. */
async function openWire(
  settings: MailboxSettings,
  signal: AbortSignal,
  clock: Clock,
  limits: MailboxLimits,
): Promise<{ wire: Pop3Wire; caps: Set<string> | null }> {
  const wire = new Pop3Wire(signal, clock, limits);
  wire.redact([settings.password]);
  try {
    await wire.connect(settings.host, settings.port);
    if (settings.protocol === 'pop3s') await wire.startTls(settings);
    const hello = await wire.greeting();
    if (!hello.ok) throw new ProbeError('reply', PHASE, `server refused the session: -ERR ${wire.cleanText(hello.text)}`);
    let caps = await capabilities(wire);
    if (settings.protocol === 'pop3' && settings.starttls) caps = await upgrade(wire, settings, caps);
    if (!wire.encrypted && !settings.allowPlaintext) throw plaintextRefusal({ ...settings, starttls: false })!;
    await login(wire, settings);
    return { wire, caps };
  } catch (e) {
    wire.close();
    throw e;
  }
}

/** CAPA (RFC 2449): upper-cased first words, or null when the server does not know CAPA. */
async function capabilities(wire: Pop3Wire): Promise<Set<string> | null> {
  const r = await wire.request('CAPA', true);
  if (!r.ok) return null;
  return new Set(r.lines.map((l) => l.toString('utf8').trim().split(/\s+/)[0]!.toUpperCase()).filter((w) => w.length > 0));
}

/** STLS when offered (or when CAPA is unknown); without it, fail unless plaintext is allowed. */
async function upgrade(wire: Pop3Wire, settings: MailboxSettings, caps: Set<string> | null): Promise<Set<string> | null> {
  const missing = (why: string): Set<string> | null => {
    if (settings.allowPlaintext) return caps;
    throw new ProbeError('expectation', PHASE, `STLS required but ${why}`);
  };
  if (caps && !caps.has('STLS')) return missing('the server does not offer it (CAPA)');
  const r = await wire.request('STLS', false);
  if (!r.ok) return missing(`refused: -ERR ${wire.cleanText(r.text)}`);
  await wire.startTls(settings);
  // RFC 2595 4: capabilities may differ after the upgrade.
  return capabilities(wire);
}

async function login(wire: Pop3Wire, settings: MailboxSettings): Promise<void> {
  const user = await wire.request(`USER ${oneLine(settings.username)}`, false);
  if (!user.ok) throw new ProbeError('auth', PHASE, `authentication failed (USER): -ERR ${wire.cleanText(user.text)}`);
  const pass = await wire.request(`PASS ${oneLine(settings.password)}`, false, 'PASS ***');
  if (!pass.ok) throw new ProbeError('auth', PHASE, `authentication failed (PASS): -ERR ${wire.cleanText(pass.text)}`);
}

// --------------------------------------------------------------------------------------------- session ---

/** One logged-in connection and the maildrop as it saw it at login. */
interface View {
  wire: Pop3Wire;
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

function newView(wire: Pop3Wire, caps: Set<string> | null, openedAt: number): View {
  const top = caps === null ? null : caps.has('TOP');
  return { wire, openedAt, top, listing: null, deleted: new Set(), fields: new Map(), missed: new Set(), lastRead: null };
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
    private readonly memory: Map<string, ProbeFields>,
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
      if (!f || !f.ids.includes(probeId)) continue;
      const raw = await this.retrieve(m);
      if (!probeFieldsOf(raw).ids.includes(probeId)) {
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
    const { wire, deleted } = this.view;
    try {
      if (!wire.alive) {
        if (deleted.size > 0) throw new ProbeError('closed', PHASE, `connection lost before QUIT: ${deleted.size} deletion(s) not committed`);
        return;
      }
      const r = await wire.request('QUIT', false);
      if (!r.ok && deleted.size > 0) {
        throw new ProbeError('reply', PHASE, `QUIT refused, deletions not committed: -ERR ${wire.cleanText(r.text)}`);
      }
    } catch (e) {
      if (deleted.size > 0) throw e;
    } finally {
      wire.close();
    }
  }

  /** The maildrop listing, newest (highest number) first, without messages deleted in this view. */
  private async messages(): Promise<Listed[]> {
    const v = this.view;
    if (!v.listing) {
      const list = await v.wire.request('LIST', true);
      if (!list.ok) throw new ProbeError('reply', PHASE, `LIST refused: -ERR ${v.wire.cleanText(list.text)}`);
      const sizes = numberedLines(list.lines, 'LIST', v.wire);
      const uids = new Map<number, string>();
      const uidl = await v.wire.request('UIDL', true);
      if (uidl.ok) for (const [n, uid] of numberedLines(uidl.lines, 'UIDL', v.wire)) uids.set(n, uid);
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
      const r = await v.wire.request(`TOP ${m.n} 0`, true);
      if (r.ok) {
        v.top = true;
        return probeFieldsOf(joinLines(r.lines));
      }
      // TOP works here, so this one message is gone or unreadable (another session deleted it).
      if (v.top === true) return null;
      v.top = false;
    }
    if (m.size > this.limits.maxMessageBytes) return null;
    const r = await v.wire.request(`RETR ${m.n}`, true);
    if (!r.ok) return null;
    v.lastRead = { n: m.n, raw: joinLines(r.lines) };
    return probeFieldsOf(v.lastRead.raw);
  }

  private async retrieve(m: Listed): Promise<string> {
    const { wire, lastRead } = this.view;
    if (lastRead?.n === m.n) return lastRead.raw;
    if (m.size > this.limits.maxMessageBytes) {
      throw new ProbeError('protocol', PHASE, `message ${m.n} is ${m.size} bytes, over the ${this.limits.maxMessageBytes}-byte limit`);
    }
    const r = await wire.request(`RETR ${m.n}`, true);
    if (!r.ok) throw new ProbeError('reply', PHASE, `RETR ${m.n} refused: -ERR ${wire.cleanText(r.text)}`);
    return joinLines(r.lines);
  }

  private async dele(m: Listed): Promise<void> {
    const { wire, deleted } = this.view;
    const r = await wire.request(`DELE ${m.n}`, false);
    if (!r.ok) throw new ProbeError('reply', PHASE, `DELE ${m.n} refused: -ERR ${wire.cleanText(r.text)}`);
    deleted.add(m.n);
  }
}

/** `n value` lines of LIST and UIDL (RFC 1939 5). */
function numberedLines(lines: Buffer[], command: string, wire: Pop3Wire): Map<number, string> {
  const out = new Map<number, string>();
  for (const line of lines) {
    const text = line.toString('latin1');
    const m = /^\s*(\d{1,9})\s+(\S+)/.exec(text);
    if (!m || (command === 'LIST' && !/^\d{1,12}$/.test(m[2]!))) {
      throw new ProbeError('protocol', PHASE, `unreadable ${command} line: "${wire.cleanText(text)}"`);
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

// --------------------------------------------------------------------------------------------- headers ---

/**
 * The header fields of a message (or of a header block such as TOP n 0 or IMAP's HEADER.FIELDS), up to the first
 * empty line, unfolded (RFC 5322 2.2.3): lower-cased name and trimmed value, in order. Lines that are not fields
 * (an mbox "From " line) are skipped.
 */
export function readHeaderFields(text: string): Array<[string, string]> {
  const out: Array<[string, string]> = [];
  for (const line of text.split(/\r?\n/)) {
    if (line === '') break;
    const last = out[out.length - 1];
    if (line[0] === ' ' || line[0] === '\t') {
      if (last) last[1] += line;
      continue;
    }
    const colon = line.indexOf(':');
    if (colon <= 0) continue;
    out.push([line.slice(0, colon).trim().toLowerCase(), line.slice(colon + 1)]);
  }
  return out.map(([k, v]) => [k, v.trim()]);
}

/** What identifies a probe message: every X-Smtp-Probe-Id, X-Smtp-Probe-Target and Date value. */
export interface ProbeFields {
  ids: string[];
  targets: string[];
  dates: string[];
}

export function probeFieldsOf(headerText: string): ProbeFields {
  const f: ProbeFields = { ids: [], targets: [], dates: [] };
  for (const [name, value] of readHeaderFields(headerText)) {
    if (name === 'x-smtp-probe-id') f.ids.push(value);
    else if (name === 'x-smtp-probe-target') f.targets.push(value);
    else if (name === 'date') f.dates.push(value);
  }
  return f;
}

/**
 * An earlier probe message of this target: every X-Smtp-Probe-Target equals `target` (at least one), and it has
 * exactly one Date, readable, before `cutoffMs`. Anything less certain is left alone.
 */
export function isStaleProbe(f: ProbeFields, target: string, cutoffMs: number): boolean {
  if (f.targets.length === 0 || f.targets.some((t) => t !== target) || f.dates.length !== 1) return false;
  const when = parseMessageDate(f.dates[0]!);
  return when !== null && when < cutoffMs;
}

const MONTHS = ['jan', 'feb', 'mar', 'apr', 'may', 'jun', 'jul', 'aug', 'sep', 'oct', 'nov', 'dec'];
/** RFC 5322 4.3 obsolete zones; military and unknown ones count as -0000. */
const ZONES: Record<string, number> = { UT: 0, GMT: 0, Z: 0, EST: -5, EDT: -4, CST: -6, CDT: -5, MST: -7, MDT: -6, PST: -8, PDT: -7 };
const DATE_TIME =
  /^(?:[a-z]{3}\s*,\s*)?(\d{1,2})\s+([a-z]{3})[a-z]*\s+(\d{2,4})\s+(\d{1,2})\s*:\s*(\d{2})(?:\s*:\s*(\d{2}))?(?:\s+(?:([+-])(\d{2})(\d{2})|([a-z]{1,5})))?\s*$/i;

/** An RFC 5322 date-time (obsolete forms and comments included) as ms since the epoch, or null. */
export function parseMessageDate(text: string): number | null {
  const m = DATE_TIME.exec(text.replace(/\([^()]*\)/g, ' ').replace(/\s+/g, ' ').trim());
  if (!m) return null;
  const month = MONTHS.indexOf(m[2]!.toLowerCase());
  let year = Number(m[3]);
  if (m[3]!.length === 2) year += year < 50 ? 2000 : 1900;
  else if (m[3]!.length === 3) year += 1900;
  const [day, hour, minute, second] = [Number(m[1]), Number(m[4]), Number(m[5]), Number(m[6] ?? 0)];
  if (month < 0 || day < 1 || day > 31 || hour > 23 || minute > 59 || second > 60) return null;
  let offsetMin = 0;
  if (m[7]) offsetMin = (m[7] === '-' ? -1 : 1) * (Number(m[8]) * 60 + Number(m[9]));
  else if (m[10]) offsetMin = (ZONES[m[10].toUpperCase()] ?? 0) * 60;
  return Date.UTC(year, month, day, hour, minute, second) - offsetMin * 60_000;
}
