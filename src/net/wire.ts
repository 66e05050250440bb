import net from 'node:net';
import tls from 'node:tls';
import type { Phase } from '../core/result.js';
import { ProbeError } from '../core/errors.js';
import { quoteBytes } from '../core/bytes.js';

export type Sock = net.Socket | tls.TLSSocket;

/** Empty values are not redacted (they would match everywhere). */
const MIN_SECRET_LENGTH = 1;

/**
 * One client connection of a line protocol (SMTP, POP3): the socket and its TLS upgrade, waits bounded by a
 * deadline signal (and optionally a per-wait timeout), a terminal failure that wakes whoever waits, and secrets
 * scrubbed from server text. Subclasses frame the bytes (`handleData`) and keep their own waiters (`wake`).
 */
export abstract class Wire {
  protected socket: Sock | null = null;
  protected terminal: ProbeError | null = null;
  /** Whatever waits for a socket event (connect, handshake): failed by fail(). */
  private settling: ((e: ProbeError) => void) | null = null;
  private readonly secrets: string[] = [];
  private readonly onAbort = (): void => {
    this.fail(this.deadlineError());
  };

  constructor(protected readonly signal: AbortSignal) {
    signal.addEventListener('abort', this.onAbort, { once: true });
  }

  /** The phase failures are reported in. */
  protected abstract get failurePhase(): Phase;
  /** What is in progress, for messages: "banner", "TOP 3 0". */
  protected abstract get doing(): string;
  /** The error when the deadline signal fires. */
  protected abstract deadlineError(): ProbeError;
  /** Bytes from the server. */
  protected abstract handleData(chunk: Buffer): void;
  /** Reject whoever waits for an answer with the terminal error. */
  protected abstract wake(e: ProbeError): void;

  get encrypted(): boolean {
    return this.socket instanceof tls.TLSSocket;
  }

  get isOpen(): boolean {
    return this.socket !== null && this.terminal === null && !this.socket.destroyed;
  }

  /** Values replaced by *** in any server text that is kept (a server may echo an AUTH argument). */
  redact(values: string[]): void {
    for (const v of values) if (v.length >= MIN_SECRET_LENGTH && !this.secrets.includes(v)) this.secrets.push(v);
  }

  /** Server text as records may hold it: secrets replaced, control bytes escaped, length capped. */
  protected clean(text: string, max: number): string {
    let out = text;
    for (const s of this.secrets) out = out.split(s).join('***');
    return quoteBytes(out, max);
  }

  /** Tear down; idempotent. Our own close is no failure: handlers go first, so no error is built. */
  close(): void {
    this.signal.removeEventListener('abort', this.onAbort);
    const s = this.socket;
    if (s && !s.destroyed) {
      this.detach(s);
      s.on('error', () => undefined);
      s.destroy();
    }
  }

  /** A TCP connection; `onError` turns a socket error into the failure to report. */
  protected async openSocket(
    host: string,
    port: number,
    localAddress: string | undefined,
    onError: (e: Error) => ProbeError,
    timeoutMs?: number,
  ): Promise<void> {
    this.checkAlive();
    const socket = net.connect({ host, port, localAddress, noDelay: true });
    await this.settle(socket, 'connect', onError, timeoutMs);
    this.attach(socket);
  }

  /**
   * TLS over the open connection; the caller has dropped what it buffered. `before` sees the TLS socket before
   * the handshake (to listen for session tickets). Returns the secure socket.
   */
  protected async upgrade(
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

  protected checkAlive(): void {
    if (!this.terminal && this.signal.aborted) this.onAbort();
    if (this.terminal) throw this.terminal;
  }

  /** Record a terminal error, wake whoever waits and drop the socket. Returns the error for throwing. */
  protected fail(e: ProbeError): ProbeError {
    if (!this.terminal) this.terminal = e;
    this.wake(this.terminal);
    const s = this.settling;
    this.settling = null;
    s?.(this.terminal);
    this.socket?.destroy();
    return this.terminal;
  }

  private readonly onData = (chunk: Buffer): void => this.handleData(chunk);

  private readonly onError = (e: Error): void => {
    const code = (e as NodeJS.ErrnoException).code;
    const text = code === 'ECONNRESET' ? 'connection reset by the server' : `socket error: ${errText(e)}`;
    this.fail(new ProbeError('closed', this.failurePhase, `${text} during ${this.doing}`));
  };

  private readonly onClose = (): void => {
    this.fail(new ProbeError('closed', this.failurePhase, `server closed the connection during ${this.doing}`));
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
        if (timer) clearTimeout(timer);
        s.off(event, onOk);
        s.off('error', onErr);
        s.off('close', onClosed);
        this.settling = null;
        if (!err) return resolve();
        s.destroy();
        if (!this.terminal) this.terminal = err;
        reject(this.terminal);
      };
      const onOk = (): void => done(null);
      const onErr = (e: Error): void => done(onError(e));
      const onClosed = (): void => done(onError(new Error('connection closed')));
      const timer =
        timeoutMs === undefined
          ? null
          : setTimeout(
              () => done(new ProbeError('timeout', this.failurePhase, `${this.doing} did not complete within ${timeoutMs} ms`)),
              timeoutMs,
            );
      this.settling = (e) => done(e);
      s.once(event, onOk);
      s.once('error', onErr);
      s.once('close', onClosed);
    });
  }
}

export function errText(e: Error): string {
  const code = (e as NodeJS.ErrnoException).code;
  return code && !e.message.includes(code) ? `${code} ${e.message}` : e.message;
}
