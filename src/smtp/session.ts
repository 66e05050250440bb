import net from 'node:net';
import tls from 'node:tls';
import type { Phase, TlsInfo } from '../core/result.js';
import { ProbeError } from '../core/errors.js';
import { DEFAULT_LIMITS, ReplyParser, ReplyProtocolError, quoteBytes, replyLines, type SmtpReply } from './reply.js';
import { describeTls, secureContextFor, sniFor, type TlsParams } from './tls.js';
import type { Transcript } from './trace.js';

export interface SessionOptions {
  /** The run's deadline (and shutdown): when it aborts, the phase running fails with `timeout`. */
  signal: AbortSignal;
  /** Longest wait for any single reply, connect or handshake. */
  phaseTimeoutMs: number;
  /** Wall-clock milliseconds, for certificate days left. */
  wallNow: () => number;
  transcript?: Transcript | null;
}

type Sock = net.Socket | tls.TLSSocket;

/** Replies tolerated after the STARTTLS 220 before the handshake (then discarded); more is a flood. */
const MAX_INJECTED_REPLIES = 64;
/** Shorter values are not redacted: replacing a one-letter "secret" would garble every record. */
const MIN_SECRET_LENGTH = 3;

/** Longest wait for a TLS 1.3 session ticket before sending the first command (see awaitTicket). */
const TICKET_WAIT_MS = 20;

interface Waiter {
  resolve: (r: SmtpReply) => void;
  reject: (e: ProbeError) => void;
}

/**
 * One SMTP connection. Commands are written whole, one write per command (or per pipelined group); replies are
 * framed by ReplyParser and handed out in order. A reply nobody asked for, bytes that are not SMTP, a closed or
 * reset connection, a phase timeout or the run's deadline all become a ProbeError naming the phase.
 */
export class SmtpSession {
  /** The phase in progress: named by timeouts and by closed-connection failures. */
  phase: Phase = 'connect';
  /** Replies the server still owes (greeting + commands written). Anything beyond is unsolicited. */
  private outstanding = 0;
  private socket: Sock | null = null;
  private parser = new ReplyParser();
  private queue: SmtpReply[] = [];
  private waiter: Waiter | null = null;
  private terminal: ProbeError | null = null;
  private readonly secrets: string[] = [];
  private readonly onAbort = (): void => {
    this.fail(new ProbeError('timeout', this.phase, `run deadline reached during ${this.phase}`));
  };

  constructor(private readonly opts: SessionOptions) {
    opts.signal.addEventListener('abort', this.onAbort, { once: true });
  }

  get encrypted(): boolean {
    return this.socket instanceof tls.TLSSocket;
  }

  get sawBareLf(): boolean {
    return this.parser.sawBareLf;
  }

  get isOpen(): boolean {
    return this.socket !== null && this.terminal === null && !this.socket.destroyed;
  }

  /** Open a TCP connection to one address. Rejects with reason `connect` or `timeout`. */
  async open(address: string, port: number, localAddress?: string): Promise<void> {
    // A new attempt (the next address of a host) starts clean unless the run's deadline has passed.
    this.terminal = null;
    this.queue = [];
    this.parser = new ReplyParser();
    this.checkAlive();
    const socket = net.connect({ host: address, port, localAddress, noDelay: true });
    await this.settle(socket, 'connect', 'connect', (e) => new ProbeError('connect', 'connect', connectMessage(e, address, port)));
    this.attach(socket);
    this.outstanding = 1; // the greeting
  }

  /**
   * TLS on the open connection: implicit TLS right after connect, or the upgrade after STARTTLS's 220. Input the
   * server sent before the handshake is discarded (RFC 3207 section 6); the number of bytes is returned.
   */
  async startTls(params: TlsParams, phase: 'tls' | 'tls_upgrade'): Promise<{ info: TlsInfo; discardedBytes: number }> {
    const raw = this.socket;
    if (!raw) throw new Error('startTls before open');
    this.checkAlive();
    this.phase = phase;
    const queued = this.queue.reduce((n, r) => n + replyLines(r).reduce((m, l) => m + Buffer.byteLength(l) + 2, 0), 0);
    const discardedBytes = this.parser.bufferedBytes + queued;
    this.detach(raw);
    this.parser.reset();
    this.queue = [];
    let context: tls.SecureContext;
    try {
      context = secureContextFor(params);
    } catch (e) {
      throw this.fail(new ProbeError('tls', phase, `unusable TLS settings (CA, certificate or key): ${errText(e as Error)}`));
    }
    const secure = tls.connect({
      socket: raw,
      host: params.servername,
      servername: sniFor(params.servername),
      secureContext: context,
      rejectUnauthorized: false,
    });
    secure.setNoDelay(true);
    let ticketArrived = (): void => undefined;
    const ticket = new Promise<void>((resolve) => (ticketArrived = resolve));
    // Resolve on the next turn: the event fires inside OpenSSL's read, and a write from there is lost.
    secure.once('session', () => setImmediate(ticketArrived));
    this.socket = secure;
    await this.settle(secure, 'secureConnect', phase, (e) => new ProbeError('tls', phase, `TLS handshake failed: ${errText(e)}`));
    this.attach(secure);
    if (secure.getProtocol() === 'TLSv1.3') await this.awaitTicket(ticket);
    return { info: describeTls(secure, params, this.opts.wallNow()), discardedBytes };
  }

  /**
   * TLS 1.3 servers send session tickets just after the handshake. A server with Nagle's algorithm on (Postfix)
   * then holds its next small write, the reply to our EHLO, until the tickets are acknowledged, and a client that
   * has already sent EHLO acknowledges only after its delayed-ACK timer: about 40 ms lost on every STARTTLS.
   * Waiting for the first ticket lets the EHLO carry that acknowledgement. Bounded for servers that send none.
   */
  private async awaitTicket(ticket: Promise<void>): Promise<void> {
    let timer: NodeJS.Timeout | undefined;
    const wait = new Promise<void>((resolve) => (timer = setTimeout(resolve, Math.min(TICKET_WAIT_MS, this.opts.phaseTimeoutMs))));
    await Promise.race([ticket, wait]);
    clearTimeout(timer);
  }

  /** Wait for the next complete reply. `timeoutMs` may shorten (never lengthen) the phase timeout. */
  read(phase: Phase, timeoutMs = this.opts.phaseTimeoutMs): Promise<SmtpReply> {
    this.phase = phase;
    const next = this.queue.shift();
    if (next) {
      this.outstanding -= 1;
      return Promise.resolve(next);
    }
    if (this.terminal) return Promise.reject(this.retag(this.terminal, phase));
    return new Promise<SmtpReply>((resolve, reject) => {
      const ms = Math.min(timeoutMs, this.opts.phaseTimeoutMs);
      const timer = setTimeout(() => {
        this.waiter = null;
        this.fail(new ProbeError('timeout', phase, `no reply within ${ms} ms during ${phase}`));
        reject(this.terminal!);
      }, ms);
      this.waiter = {
        resolve: (r) => {
          clearTimeout(timer);
          this.outstanding -= 1;
          resolve(r);
        },
        reject: (e) => {
          clearTimeout(timer);
          reject(this.retag(e, phase));
        },
      };
    });
  }

  /**
   * Write commands in one write (a pipelined group when more than one). `shown` replaces each line in the
   * transcript, for secrets. Never writes while a reply is still owed unless the caller pipelines on purpose.
   */
  send(lines: string[], phase: Phase, shown?: string[]): void {
    this.phase = phase;
    this.checkAlive();
    if (this.queue.length > 0) {
      throw this.fail(unsolicited(phase, this.queue[0]!));
    }
    lines.forEach((line, i) => this.opts.transcript?.add('C', shown?.[i] ?? line));
    this.socket!.write(lines.map((l) => `${l}\r\n`).join(''));
    this.outstanding += lines.length;
  }

  /** Write raw bytes that draw no reply of their own (message content before the final dot). */
  writeRaw(data: string | Buffer, shown: string): void {
    this.checkAlive();
    this.opts.transcript?.add('C', shown);
    this.socket!.write(data);
  }

  /** One command, one reply. */
  async command(line: string, phase: Phase, shown?: string): Promise<SmtpReply> {
    this.send([line], phase, shown === undefined ? undefined : [shown]);
    return this.read(phase);
  }

  /** Replies still owed for commands already written (pipelined groups). */
  get owed(): number {
    return this.outstanding;
  }

  /** Read and drop every reply still owed, e.g. the rest of a pipelined group after a failure. */
  async drain(phase: Phase, timeoutMs: number): Promise<void> {
    while (this.outstanding > 0) await this.read(phase, timeoutMs);
  }

  /** A reply is owed for a line written by writeRaw (the final dot). */
  expectReply(): void {
    this.outstanding += 1;
  }

  /** Tear down; idempotent. */
  close(): void {
    this.opts.signal.removeEventListener('abort', this.onAbort);
    const s = this.socket;
    if (s && !s.destroyed) {
      // Our own close is not the server closing on us: no failure to record (and no Error to build per run).
      this.detach(s);
      s.on('error', () => undefined);
      s.destroy();
    }
  }

  private checkAlive(): void {
    if (this.terminal) throw this.retag(this.terminal, this.phase);
    if (this.opts.signal.aborted) this.onAbort();
    if (this.terminal) throw this.terminal;
  }

  /** Keep the reason and message of a stored terminal error but name the phase now asking. */
  private retag(e: ProbeError, phase: Phase): ProbeError {
    return e.phase === phase || e.reason !== 'closed' ? e : new ProbeError(e.reason, phase, e.message, e.reply);
  }

  /** Record a terminal error, wake the waiter and drop the socket. Returns the error for throwing. */
  private fail(e: ProbeError): ProbeError {
    if (!this.terminal) this.terminal = e;
    const w = this.waiter;
    this.waiter = null;
    w?.reject(this.terminal);
    this.socket?.destroy();
    return this.terminal;
  }

  private readonly onData = (chunk: Buffer): void => {
    let replies: SmtpReply[];
    try {
      replies = this.parser.push(chunk);
    } catch (e) {
      const msg = e instanceof ReplyProtocolError ? e.message : String(e);
      this.fail(new ProbeError('protocol', this.phase, msg));
      return;
    }
    for (const r of replies) {
      r.lines = r.lines.map((l) => this.clean(l));
      for (const l of replyLines(r)) this.opts.transcript?.add('S', l);
      this.queue.push(r);
    }
    // After STARTTLS, replies beyond its 220 are injected input: startTls() discards and reports them (RFC 3207).
    const slack = this.phase === 'starttls' ? MAX_INJECTED_REPLIES : 0;
    if (this.queue.length > this.outstanding + slack) {
      this.fail(unsolicited(this.phase, this.queue[this.queue.length - 1]!));
      return;
    }
    const w = this.waiter;
    if (w && this.queue.length > 0) {
      this.waiter = null;
      w.resolve(this.queue.shift()!);
    }
  };

  /**
   * Values the server must not see echoed into records: a server that repeats the AUTH argument in its reply
   * (some do, in error messages) would otherwise put the secret into the transcript and failure message.
   */
  redact(values: string[]): void {
    for (const v of values) if (v.length >= MIN_SECRET_LENGTH && !this.secrets.includes(v)) this.secrets.push(v);
  }

  /** Server text as records may hold it: secrets replaced, control bytes escaped. */
  private clean(text: string): string {
    let out = text;
    for (const secret of this.secrets) out = out.split(secret).join('***');
    return quoteBytes(out, DEFAULT_LIMITS.maxLineBytes);
  }

  private readonly onError = (e: Error): void => {
    const code = (e as NodeJS.ErrnoException).code;
    const text = code === 'ECONNRESET' ? 'connection reset by the server' : `socket error: ${errText(e)}`;
    this.fail(new ProbeError('closed', this.phase, text));
  };

  private readonly onClose = (): void => {
    this.fail(new ProbeError('closed', this.phase, `server closed the connection during ${this.phase}`));
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

  /** Wait for a socket event under the phase timeout and the run deadline. */
  private settle(s: Sock, event: string, phase: Phase, onError: (e: Error) => ProbeError): Promise<void> {
    this.phase = phase;
    this.socket = s;
    return new Promise<void>((resolve, reject) => {
      const done = (err: ProbeError | null): void => {
        clearTimeout(timer);
        s.off(event, onOk);
        s.off('error', onErr);
        s.off('close', onClosed);
        this.waiter = null;
        if (err) {
          s.destroy();
          if (!this.terminal) this.terminal = err;
          reject(err);
        } else resolve();
      };
      const onOk = (): void => done(null);
      const onErr = (e: Error): void => done(onError(e));
      const onClosed = (): void => done(onError(new Error('connection closed')));
      const timer = setTimeout(
        () => done(new ProbeError('timeout', phase, `${phase} did not complete within ${this.opts.phaseTimeoutMs} ms`)),
        this.opts.phaseTimeoutMs,
      );
      // The run deadline reaches us through fail() → waiter.reject.
      this.waiter = { resolve: () => undefined, reject: (e) => done(e) };
      s.once(event, onOk);
      s.once('error', onErr);
      s.once('close', onClosed);
    });
  }
}

function unsolicited(phase: Phase, r: SmtpReply): ProbeError {
  return new ProbeError('protocol', phase, `server sent a reply nobody asked for: "${quoteBytes(replyLines(r)[0] ?? '')}"`, r);
}

function errText(e: Error): string {
  const code = (e as NodeJS.ErrnoException).code;
  return code && !e.message.includes(code) ? `${code} ${e.message}` : e.message;
}

function connectMessage(e: Error, address: string, port: number): string {
  const code = (e as NodeJS.ErrnoException).code;
  const host = net.isIPv6(address) ? `[${address}]:${port}` : `${address}:${port}`;
  if (code === 'ECONNREFUSED') return `connection refused by ${host}`;
  if (code === 'EHOSTUNREACH' || code === 'ENETUNREACH') return `${host} unreachable (${code})`;
  return `cannot connect to ${host}: ${errText(e)}`;
}
