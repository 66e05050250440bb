import net from 'node:net';
import type tls from 'node:tls';
import type { Phase, TlsInfo } from '../core/result.js';
import { ProbeError } from '../core/errors.js';
import { Wire, errText } from '../net/wire.js';
import { quoteBytes } from '../core/bytes.js';
import { replyLines, type SmtpReply } from '../core/reply.js';
import type { TlsParams } from '../core/tls.js';
import { DEFAULT_LIMITS, ReplyParser, ReplyProtocolError } from './reply.js';
import { describeTls, secureContextFor, sniFor } from '../net/tls.js';
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

/** Replies tolerated after the STARTTLS 220 before the handshake (then discarded); more is a flood. */
const MAX_INJECTED_REPLIES = 64;

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
export class SmtpSession extends Wire {
  /** The phase in progress: named by timeouts and by closed-connection failures. */
  phase: Phase = 'connect';
  /** Replies the server still owes (greeting + commands written). Anything beyond is unsolicited. */
  private outstanding = 0;
  private parser = new ReplyParser();
  private queue: SmtpReply[] = [];
  private waiter: Waiter | null = null;

  constructor(private readonly opts: SessionOptions) {
    super(opts.signal);
  }

  protected get failurePhase(): Phase {
    return this.phase;
  }

  protected get doing(): string {
    return this.phase;
  }

  protected deadlineError(): ProbeError {
    return new ProbeError('timeout', this.phase, `run deadline reached during ${this.phase}`);
  }

  protected wake(e: ProbeError): void {
    const w = this.waiter;
    this.waiter = null;
    w?.reject(e);
  }

  get sawBareLf(): boolean {
    return this.parser.sawBareLf;
  }

  /** Open a TCP connection to one address. Rejects with reason `connect` or `timeout`. */
  async open(address: string, port: number, localAddress?: string): Promise<void> {
    // A new attempt (the next address of a host) starts clean unless the run's deadline has passed.
    this.terminal = null;
    this.queue = [];
    this.parser = new ReplyParser();
    this.phase = 'connect';
    await this.openSocket(
      address,
      port,
      localAddress,
      (e) => new ProbeError('connect', 'connect', connectMessage(e, address, port)),
      this.opts.phaseTimeoutMs,
    );
    this.outstanding = 1; // the greeting
  }

  /**
   * TLS on the open connection: implicit TLS right after connect, or the upgrade after STARTTLS's 220. Input the
   * server sent before the handshake is discarded (RFC 3207 section 6); the number of bytes is returned.
   */
  async startTls(params: TlsParams, phase: 'tls' | 'tls_upgrade'): Promise<{ info: TlsInfo; discardedBytes: number }> {
    this.checkAlive();
    this.phase = phase;
    const queued = this.queue.reduce((n, r) => n + replyLines(r).reduce((m, l) => m + Buffer.byteLength(l) + 2, 0), 0);
    const discardedBytes = this.parser.bufferedBytes + queued;
    this.parser.reset();
    this.queue = [];
    let context: tls.SecureContext;
    try {
      context = secureContextFor(params);
    } catch (e) {
      throw this.fail(new ProbeError('tls', phase, `unusable TLS settings (CA, certificate or key): ${errText(e as Error)}`));
    }
    let ticketArrived = (): void => undefined;
    const ticket = new Promise<void>((resolve) => (ticketArrived = resolve));
    const secure = await this.upgrade(
      { host: params.servername, servername: sniFor(params.servername), secureContext: context, rejectUnauthorized: false },
      (e) => new ProbeError('tls', phase, `TLS handshake failed: ${errText(e)}`),
      this.opts.phaseTimeoutMs,
      // Resolve on the next turn: the event fires inside OpenSSL's read, and a write from there is lost.
      (s) => s.once('session', () => setImmediate(ticketArrived)),
    );
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

  protected override checkAlive(): void {
    if (this.terminal) throw this.retag(this.terminal, this.phase);
    super.checkAlive();
  }

  /** Keep the reason and message of a stored terminal error but name the phase now asking. */
  private retag(e: ProbeError, phase: Phase): ProbeError {
    return e.phase === phase || e.reason !== 'closed' ? e : new ProbeError(e.reason, phase, e.message, e.reply);
  }

  protected handleData(chunk: Buffer): void {
    let replies: SmtpReply[];
    try {
      replies = this.parser.push(chunk);
    } catch (e) {
      const msg = e instanceof ReplyProtocolError ? e.message : String(e);
      this.fail(new ProbeError('protocol', this.phase, msg));
      return;
    }
    for (const r of replies) {
      r.lines = r.lines.map((l) => this.clean(l, DEFAULT_LIMITS.maxLineBytes));
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
  }
}

function unsolicited(phase: Phase, r: SmtpReply): ProbeError {
  return new ProbeError('protocol', phase, `server sent a reply nobody asked for: "${quoteBytes(replyLines(r)[0] ?? '')}"`, r);
}

function connectMessage(e: Error, address: string, port: number): string {
  const code = (e as NodeJS.ErrnoException).code;
  const host = net.isIPv6(address) ? `[${address}]:${port}` : `${address}:${port}`;
  if (code === 'ECONNREFUSED') return `connection refused by ${host}`;
  if (code === 'EHOSTUNREACH' || code === 'ENETUNREACH') return `${host} unreachable (${code})`;
  return `cannot connect to ${host}: ${errText(e)}`;
}
