/**
 * IMAP through imapflow (nodemailer's author's IMAP client: SELECT/SEARCH/FETCH/EXPUNGE, STARTTLS with injection
 * guard, literal and line size limits), wrapped so that it behaves like our POP3 client: TLS verified against
 * settings.servername, no password over plaintext unless allowed, every wait ended by the AbortSignal (imapflow
 * knows no signal: the connection is closed when it fires), expected failures as ProbeError at `roundtrip`, no
 * logging at all (logger: false), the password never in an error.
 *
 * A session stays logged in: each `take()` looks again (NOOP on an already selected folder makes the server
 * announce new mail), in settings.folders or else INBOX then the Junk folder (special-use \Junk, or one of the
 * localized names imapflow knows). Deletion is \Deleted + UID EXPUNGE of exactly our UIDs (UIDPLUS). Without
 * UIDPLUS a plain EXPUNGE would also remove messages someone else marked \Deleted: then ours are only marked,
 * and searches skip \Deleted messages.
 */
import { ImapFlow, type FetchMessageObject, type ImapFlowOptions, type SearchObject } from 'imapflow';
import { systemClock, type Clock } from '../core/clock.js';
import { bounded } from '../core/deadline.js';
import { ProbeError } from '../core/errors.js';
import type { FailureReason } from '../core/result.js';
import { Redactor, credentialSecrets } from '../core/redact.js';
import { describeVerifyError, sniFor } from '../net/tls.js';
import { MAILBOX_LIMITS, MAILBOX_PHASE as PHASE, maxMessagesOf, oneLine, plaintextRefusal, verifyOptions } from './policy.js';
import {
  ID_FIELDS,
  PROBE_ID_FIELD,
  PROBE_TARGET_FIELD,
  STALE_FIELDS,
  hasProbeId,
  isStaleProbe,
  probeFieldsOf,
  type ProbeFields,
} from './probe-message.js';
import type { FoundMessage, MailboxClient, MailboxDeps, MailboxLimits, MailboxSession, MailboxSettings } from './types.js';

/** Messages matching the header search that are looked at in one folder (the id is unique: one, normally). */
const MAX_CANDIDATES = 10;
/** UIDs per FETCH during cleanup. */
const FETCH_BATCH = 200;
const DAY_MS = 86_400_000;

/** What imapflow puts on its errors, beyond message and code. */
interface ImapError extends Error {
  code?: string;
  authenticationFailed?: boolean;
  tlsFailed?: boolean;
  response?: string;
  responseText?: string;
  responseStatus?: string;
}

export class ImapClient implements MailboxClient {
  private readonly clock: Clock;
  private readonly limits: MailboxLimits;

  constructor(deps: MailboxDeps = {}) {
    this.clock = deps.clock ?? systemClock;
    this.limits = deps.limits ?? MAILBOX_LIMITS;
  }

  async open(settings: MailboxSettings, signal: AbortSignal, clock: Clock = this.clock): Promise<MailboxSession> {
    // imapflow logs in inside connect(): refuse plaintext before there is a connection at all.
    const refused = plaintextRefusal(settings);
    if (refused) throw refused;
    const session = new ImapSession(new ImapFlow(imapOptions(settings, this.limits)), settings, signal, clock, this.limits);
    await session.connect();
    return session;
  }
}

/** imapflow options for our settings: TLS policy, verification, limits, silence. */
function imapOptions(settings: MailboxSettings, limits: MailboxLimits): ImapFlowOptions {
  const secure = settings.protocol === 'imaps';
  return {
    host: settings.host,
    port: settings.port,
    secure,
    // STARTTLS required unless plaintext is allowed (then opportunistic); plain imap:// without starttls: none.
    doSTARTTLS: secure ? undefined : settings.starttls ? (settings.allowPlaintext ? undefined : true) : false,
    servername: sniFor(settings.servername),
    tls: verifyOptions(settings),
    auth: { user: oneLine(settings.username), pass: settings.password },
    logger: false,
    emitLogs: false,
    logRaw: false,
    disableAutoIdle: true,
    maxLineLength: limits.maxLineBytes + 2,
    maxLiteralSize: limits.maxMessageBytes,
    maxResponseSize: limits.maxMessageBytes + limits.maxLineBytes + 2,
  };
}

class ImapSession implements MailboxSession {
  /** The first thing that ended the connection (deadline, server, error): every later call rejects with it. */
  private failure: ProbeError | null = null;
  private closed = false;
  /** The Junk folder's path: undefined until looked up, null when there is none. */
  private junk: string | null | undefined;
  /** INBOX's message count at its last search: mail that came while another folder was selected shows as more. */
  private inboxSeen = -1;
  /** The password in every form a login sends it (LOGIN's quoted string, AUTHENTICATE PLAIN's base64...). */
  private readonly secrets = new Redactor();

  constructor(
    private readonly client: ImapFlow,
    private readonly settings: MailboxSettings,
    private readonly signal: AbortSignal,
    private readonly clock: Clock,
    private readonly limits: MailboxLimits,
  ) {
    const pass = settings.password;
    this.secrets.add([...credentialSecrets(settings.username, pass), pass.replace(/(["\\])/g, '\\$1')]);
    // Without a listener an 'error' event would throw out of the socket callback.
    client.on('error', (e: Error) => {
      this.failure ??= this.describe(e, 'the connection');
    });
  }

  async connect(): Promise<void> {
    try {
      await this.step('connect and login', () => this.client.connect());
    } catch (e) {
      this.client.close();
      throw e;
    }
  }

  async take(probeId: string): Promise<FoundMessage | null> {
    this.checkOpen();
    for (const folder of await this.folders()) {
      const found = await this.inFolder(folder, () => this.takeFrom(folder, probeId));
      if (found) return found;
    }
    return null;
  }

  async cleanup(target: string, olderThanMs: number): Promise<number> {
    this.checkOpen();
    let removed = 0;
    for (const folder of await this.folders()) removed += await this.inFolder(folder, () => this.cleanupIn(folder, target, olderThanMs));
    return removed;
  }

  /**
   * IDLE on INBOX until the server announces new mail (EXISTS), `ms` passes or the deadline fires. The next
   * command (the next SEARCH) ends IDLE. Without IDLE, or on any trouble, this is a plain wait.
   */
  async waitForMail(ms: number, signal: AbortSignal): Promise<void> {
    this.checkOpen();
    let wake: () => void = () => undefined;
    const news = new Promise<void>((resolve) => (wake = resolve));
    const woke = bounded(news, ms, signal, this.clock, () => undefined);
    const onExists = (): void => wake();
    try {
      if (!this.failure && this.client.usable && this.client.capabilities.has('IDLE')) {
        const lock = await this.client.getMailboxLock('INBOX');
        lock.release();
        if (this.messageCount() !== this.inboxSeen) wake(); // arrived while Junk was selected: look now
        else {
          this.client.on('exists', onExists);
          this.client.idle().catch(() => wake());
        }
      }
      await woke;
    } catch {
      await woke;
    } finally {
      this.client.off('exists', onExists);
    }
  }

  /** LOGOUT (bounded by the deadline), then the socket goes. Deletions are already expunged: never rejects. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    try {
      if (!this.failure && this.client.usable) await this.step('LOGOUT', () => this.client.logout());
    } catch {
      // Nothing was pending: a lost LOGOUT changes nothing.
    } finally {
      this.client.close();
    }
  }

  private messageCount(): number {
    const m = this.client.mailbox;
    return m === false ? -1 : m.exists;
  }

  private checkOpen(): void {
    if (this.closed) throw new Error('IMAP session used after close()');
  }

  private async takeFrom(folder: string, probeId: string): Promise<FoundMessage | null> {
    if (folder === 'INBOX') this.inboxSeen = this.messageCount();
    const uids = await this.search({ header: { [PROBE_ID_FIELD]: probeId } }, folder);
    const seenAt = this.clock.wallNow();
    for (const uid of newest(uids, MAX_CANDIDATES)) {
      const head = await this.fetchOne(uid, { uid: true, size: true, headers: [...ID_FIELDS] });
      // SEARCH HEADER matches substrings, case-insensitively: the header must equal the id.
      if (!head || !hasProbeId(fieldsOf(head), probeId)) continue;
      if ((head.size ?? 0) > this.limits.maxMessageBytes) {
        throw new ProbeError('protocol', PHASE, `message ${uid} in ${folder} is ${head.size} bytes, over the ${this.limits.maxMessageBytes}-byte limit`);
      }
      const full = await this.fetchOne(uid, { uid: true, source: true });
      if (!full || !full.source) continue;
      await this.remove([uid], folder);
      return { raw: full.source.toString('utf8'), folder, seenAt };
    }
    return null;
  }

  /** SENTBEFORE narrows by day (ignoring time and zone, so two days of margin); each Date is then checked exactly. */
  private async cleanupIn(folder: string, target: string, cutoffMs: number): Promise<number> {
    const sentBefore = new Date(cutoffMs + 2 * DAY_MS);
    // The newest leftovers only: a folder flooded with matches costs no more; the rest go on later runs.
    const uids = newest(await this.search({ header: { [PROBE_TARGET_FIELD]: target }, sentBefore }, folder), maxMessagesOf(this.settings));
    const stale: number[] = [];
    for (let i = 0; i < uids.length; i += FETCH_BATCH) {
      const batch = uids.slice(i, i + FETCH_BATCH).join(',');
      const msgs = await this.step(`FETCH in ${folder}`, () =>
        this.client.fetchAll(batch, { uid: true, headers: [...STALE_FIELDS] }, { uid: true }),
      );
      for (const m of msgs) if (isStaleProbe(fieldsOf(m), target, cutoffMs)) stale.push(m.uid);
    }
    if (stale.length > 0) await this.remove(stale, folder);
    return stale.length;
  }

  /** Folders to look in: settings.folders, else INBOX and the Junk folder when there is one. */
  private async folders(): Promise<readonly string[]> {
    if (this.settings.folders && this.settings.folders.length > 0) return this.settings.folders;
    if (this.junk === undefined) {
      const list = await this.step('LIST', () => this.client.list());
      this.junk = list.find((m) => m.specialUse === '\\Junk')?.path ?? null;
    }
    return this.junk ? ['INBOX', this.junk] : ['INBOX'];
  }

  /** SELECT the folder (NOOP when it already is, so that new mail shows) and run `work` under imapflow's lock. */
  private async inFolder<T>(folder: string, work: () => Promise<T>): Promise<T> {
    const current = this.client.mailbox;
    const wasSelected = current !== false && current.path === folder;
    const lock = await this.step(`SELECT ${folder}`, () => this.client.getMailboxLock(folder));
    try {
      if (wasSelected) await this.step(`NOOP in ${folder}`, () => this.client.noop());
      return await work();
    } finally {
      lock.release();
    }
  }

  private async search(query: SearchObject, folder: string): Promise<number[]> {
    const r = await this.step(`SEARCH in ${folder}`, () => this.client.search({ ...query, deleted: false }, { uid: true }));
    if (r === false || r === undefined) throw new ProbeError('reply', PHASE, `SEARCH in ${folder} refused by the server`);
    return r;
  }

  private fetchOne(uid: number, query: Parameters<ImapFlow['fetchOne']>[1]): Promise<FetchMessageObject | false> {
    return this.step(`FETCH ${uid}`, () => this.client.fetchOne(String(uid), query, { uid: true }));
  }

  /** \Deleted and UID EXPUNGE of exactly these UIDs; only \Deleted when EXPUNGE would take others' messages too. */
  private async remove(uids: number[], folder: string): Promise<void> {
    const set = uids.join(',');
    if (!this.client.capabilities.has('UIDPLUS')) {
      const marked = await this.step(`SEARCH in ${folder}`, () => this.client.search({ deleted: true }, { uid: true }));
      if (marked && marked.some((u) => !uids.includes(u))) {
        const ok = await this.step(`STORE in ${folder}`, () => this.client.messageFlagsAdd(set, ['\\Deleted'], { uid: true }));
        if (!ok) throw new ProbeError('reply', PHASE, `could not mark message(s) ${set} in ${folder} \\Deleted`);
        return;
      }
    }
    const ok = await this.step(`EXPUNGE in ${folder}`, () => this.client.messageDelete(set, { uid: true }));
    if (!ok) throw new ProbeError('reply', PHASE, `could not delete message(s) ${set} in ${folder}`);
  }

  /**
   * Run one imapflow call under the deadline: when the signal fires the connection is closed and the call
   * rejects with a timeout naming `what`. imapflow errors become ProbeErrors.
   */
  private async step<T>(what: string, work: () => Promise<T>): Promise<T> {
    if (this.failure) throw this.failure;
    if (this.signal.aborted) throw this.abort(what);
    let onAbort = (): void => undefined;
    const aborted = new Promise<never>((_resolve, reject) => {
      onAbort = () => reject(this.abort(what));
      this.signal.addEventListener('abort', onAbort, { once: true });
    });
    const running = work();
    running.catch(() => undefined); // rejects again after an abort closed the connection: already reported
    try {
      return await Promise.race([running, aborted]);
    } catch (e) {
      throw this.failure ?? this.describe(e, what);
    } finally {
      this.signal.removeEventListener('abort', onAbort);
    }
  }

  private abort(what: string): ProbeError {
    this.failure ??= new ProbeError('timeout', PHASE, `mailbox deadline reached during ${what}`);
    this.client.close();
    return this.failure;
  }

  /** An imapflow (or socket, or TLS) error as a ProbeError; server text cleaned and the password removed. */
  private describe(e: unknown, what: string): ProbeError {
    if (e instanceof ProbeError) return e;
    const err = e as ImapError;
    const code = err.code ?? '';
    const text = this.secrets.quote(err.responseText || err.response || err.message || String(e), 200);
    const where = `${this.settings.host}:${this.settings.port}`;
    const make = (reason: FailureReason, message: string): ProbeError => new ProbeError(reason, PHASE, this.secrets.mask(message));
    if (err.authenticationFailed) return make('auth', `authentication failed: ${text}`);
    if (code === 'ECONNREFUSED') return make('connect', `connection refused by ${where}`);
    if (code === 'EHOSTUNREACH' || code === 'ENETUNREACH') return make('connect', `${where} unreachable (${code})`);
    if (code === 'ENOTFOUND' || code === 'EAI_AGAIN') return make('dns', `cannot resolve ${this.settings.host} (${code})`);
    if (/TIMEOUT$/.test(code)) return make('timeout', `${what}: ${text} (${code})`);
    if (/does not support STARTTLS|STARTTLS is not possible/i.test(err.message ?? '')) {
      return make('expectation', `STARTTLS required but ${text}`);
    }
    if (code === 'STARTTLS_INJECTION') return make('tls', `STARTTLS: ${text}`);
    const verify = code ? describeVerifyError(code, this.settings.servername) : code;
    if (err.tlsFailed || verify !== code || /^ERR_(TLS|SSL)/.test(code)) {
      return make('tls', `TLS failed: ${verify !== code ? verify : text}`);
    }
    if (['LineTooLarge', 'LiteralTooLarge', 'ResponseTooLarge', 'TooManyTokens'].includes(code)) {
      return make('protocol', `${what}: server answer over the limits (${code}; messages up to ${this.limits.maxMessageBytes} bytes)`);
    }
    if (/^(NoConnection|EConnectionClosed|ClosedAfterConnect|StateLogout|ECONNRESET|EPIPE)/.test(code)) {
      return make('closed', `connection closed during ${what}${text ? `: ${text}` : ''}`);
    }
    if (err.responseStatus === 'NO' || err.responseStatus === 'BAD') return make('reply', `${what} refused: ${err.responseStatus} ${text}`);
    return make('protocol', `${what} failed: ${text}${code ? ` (${code})` : ''}`);
  }
}

/** The `n` highest UIDs (the newest messages), highest first. */
function newest(uids: readonly number[], n: number): number[] {
  return [...uids].sort((a, b) => b - a).slice(0, n);
}

/** The probe fields of a message fetched with its header fields (HEADER.FIELDS). */
function fieldsOf(m: FetchMessageObject): ProbeFields {
  return probeFieldsOf(m.headers?.toString('utf8') ?? '');
}
