import net from 'node:net';
import tls from 'node:tls';
import type { Clock } from '../core/clock.js';
import type { Phase } from '../core/result.js';
import { ProbeError } from '../core/errors.js';
import { quoteBytes } from '../core/bytes.js';
import { Redactor, type Secret } from '../core/redact.js';

export type Sock = net.Socket | tls.TLSSocket;

/** What a protocol session (SMTP, POP3) tells the connection it holds. */
export interface ConnectionOptions {
  /** The deadline (and shutdown): when it aborts, the connection fails with `deadlineError()`. */
  signal: AbortSignal;
  /** Timers of the waits bounded by a `timeoutMs`. */
  clock: Clock;
  /** Bytes from the server: the session frames them. */
  onData: (chunk: Buffer) => void;
  /** The connection has failed for good: reject whoever waits for an answer with `e`. */
  onFailure: (e: ProbeError) => void;
  /** For failure messages: the phase they are reported in, and what is in progress ("banner", "TOP 3 0"). */
  describe: () => { phase: Phase; doing: string };
  /** The error when the deadline signal fires. */
  deadlineError: () => ProbeError;
}

/**
 * One client connection of a line protocol, held by its session: the socket and its TLS upgrade, waits bounded
 * by the deadline signal (and optionally a per-wait timeout), a terminal failure that wakes whoever waits, and
 * secrets scrubbed from server text. The session frames the bytes (`onData`) and keeps its own waiters.
 */
export class Connection {
  private socket: Sock | null = null;
  private terminal: ProbeError | null = null;
  /** Whatever waits for a socket event (connect, handshake): failed by fail(). */
  private settling: ((e: ProbeError) => void) | null = null;
  /**
   * The session's secrets: masked in server text and in every failure this connection records. Made with the
   * first secret: a Redactor's scan table (64 KiB) is not worth building for the many runs that have none.
   */
  private secrets: Redactor | null = null;
  private readonly onAbort = (): void => {
    this.fail(this.opts.deadlineError());
  };

  constructor(private readonly opts: ConnectionOptions) {
    opts.signal.addEventListener('abort', this.onAbort, { once: true });
  }

  get encrypted(): boolean {
    return this.socket instanceof tls.TLSSocket;
  }

  get isOpen(): boolean {
    return this.socket !== null && this.terminal === null && !this.socket.destroyed;
  }

  /** The failure that ended the connection, or null while it lives. */
  get failure(): ProbeError | null {
    return this.terminal;
  }

  /** Values replaced by *** in any server text that is kept (a server may echo an AUTH argument). */
  redact(values: readonly Secret[]): void {
    if (values.length > 0) (this.secrets ??= new Redactor()).add(values);
  }

  /** Server text as records may hold it: secrets replaced, then control bytes escaped and length capped. */
  clean(text: string | Buffer, max?: number): string {
    return this.secrets ? this.secrets.quote(text, max) : quoteBytes(text, max);
  }

  /** The lines of one reply, cleaned: masked as one text (a secret split across lines is caught), then quoted. */
  cleanLines(lines: readonly string[], max: number): string[] {
    return (this.secrets ? this.secrets.maskLines(lines) : lines).map((l) => quoteBytes(l, max));
  }

  /** Text we wrote or built (a transcript line, a message): secrets replaced, nothing quoted. */
  mask(text: string): string {
    return this.secrets ? this.secrets.mask(text) : text;
  }

  /** The failure with its message masked: what a connection records never carries a secret. */
  private scrub(e: ProbeError): ProbeError {
    const message = this.secrets ? this.secrets.mask(e.message) : e.message;
    return message === e.message ? e : new ProbeError(e.reason, e.phase, message, e.reply);
  }

  /** Tear down; idempotent. Our own close is no failure: handlers go first, so no error is built. */
  close(): void {
    this.opts.signal.removeEventListener('abort', this.onAbort);
    const s = this.socket;
    if (s && !s.destroyed) {
      this.detach(s);
      s.on('error', () => undefined);
      s.destroy();
    }
  }

  /**
   * A TCP connection; `onError` turns a socket error into the failure to report. Each connect is a new attempt
   * (the next address of a host): the failure of the one before is forgotten, unless the deadline has passed.
   */
  async connect(
    host: string,
    port: number,
    localAddress: string | undefined,
    onError: (e: Error) => ProbeError,
    timeoutMs?: number,
  ): Promise<void> {
    this.terminal = null;
    this.checkAlive();
    const socket = net.connect({ host, port, localAddress, noDelay: true });
    await this.settle(socket, 'connect', onError, timeoutMs);
    this.attach(socket);
  }

  /**
   * TLS over the open connection; the session has dropped what it buffered. `before` sees the TLS socket before
   * the handshake (to listen for session tickets). Returns the secure socket.
   */
  async upgrade(
    options: tls.ConnectionOptions,
    onError: (e: Error) => ProbeError,
    timeoutMs?: number,
    before?: (s: tls.TLSSocket) => void,
  ): Promise<tls.TLSSocket> {
    const raw = this.socket;
    if (!raw) throw new Error('TLS before connect');
    this.checkAlive();
    this.detach(raw);
    let secure: tls.TLSSocket;
    try {
      secure = tls.connect({ ...options, socket: raw });
    } catch (e) {
      throw this.fail(onError(e as Error));
    }
    secure.setNoDelay(true);
    before?.(secure);
    await this.settle(secure, 'secureConnect', onError, timeoutMs);
    this.attach(secure);
    return secure;
  }

  /** Bytes to the server. */
  write(data: string | Buffer): void {
    if (!this.socket) throw new Error('write before connect');
    this.socket.write(data);
  }

  /** Throws the terminal failure, or the deadline's when it has passed unnoticed. */
  checkAlive(): void {
    if (!this.terminal && this.opts.signal.aborted) this.onAbort();
    if (this.terminal) throw this.terminal;
  }

  /** Record a terminal error, wake whoever waits and drop the socket. Returns the error for throwing. */
  fail(e: ProbeError): ProbeError {
    if (!this.terminal) this.terminal = this.scrub(e);
    this.opts.onFailure(this.terminal);
    const s = this.settling;
    this.settling = null;
    s?.(this.terminal);
    this.socket?.destroy();
    return this.terminal;
  }

  private readonly onData = (chunk: Buffer): void => this.opts.onData(chunk);

  private readonly onError = (e: Error): void => {
    const code = (e as NodeJS.ErrnoException).code;
    const text = code === 'ECONNRESET' ? 'connection reset by the server' : `socket error: ${errText(e)}`;
    const { phase, doing } = this.opts.describe();
    this.fail(new ProbeError('closed', phase, `${text} during ${doing}`));
  };

  private readonly onClose = (): void => {
    const { phase, doing } = this.opts.describe();
    this.fail(new ProbeError('closed', phase, `server closed the connection during ${doing}`));
  };

  private attach(s: Sock): void {
    this.socket = s;
    s.on('data', this.onData);
    s.on('error', this.onError);
    s.on('close', this.onClose);
  }

  private detach(s: Sock): void {
    s.off('data', this.onData);
    s.off('error', this.onError);
    s.off('close', this.onClose);
  }

  /** Wait for a socket event under the deadline (and `timeoutMs` when given). */
  private settle(s: Sock, event: string, onError: (e: Error) => ProbeError, timeoutMs?: number): Promise<void> {
    this.socket = s;
    return new Promise<void>((resolve, reject) => {
      const done = (err: ProbeError | null): void => {
        timer?.cancel();
        s.off(event, onOk);
        s.off('error', onErr);
        s.off('close', onClosed);
        this.settling = null;
        if (!err) return resolve();
        s.destroy();
        if (!this.terminal) this.terminal = this.scrub(err);
        reject(this.terminal);
      };
      const onOk = (): void => done(null);
      const onErr = (e: Error): void => done(onError(e));
      const onClosed = (): void => done(onError(new Error('connection closed')));
      const timer = timeoutMs === undefined ? null : this.opts.clock.setTimer(timeoutMs, () => done(this.timedOut(timeoutMs)));
      this.settling = (e) => done(e);
      s.once(event, onOk);
      s.once('error', onErr);
      s.once('close', onClosed);
    });
  }

  private timedOut(ms: number): ProbeError {
    const { phase, doing } = this.opts.describe();
    return new ProbeError('timeout', phase, `${doing} did not complete within ${ms} ms`);
  }
}

/** A socket error as text: its code, then its message (once). */
export function errText(e: Error): string {
  const code = (e as NodeJS.ErrnoException).code;
  return code && !e.message.includes(code) ? `${code} ${e.message}` : e.message;
}
