import net from 'node:net';
import { TLSSocket } from 'node:tls';
import type tls from 'node:tls';
import type { Clock, TimerHandle } from '../core/clock.js';
import { bounded } from '../core/deadline.js';
import type { Phase, TlsInfo } from '../core/result.js';
import { ProbeError } from '../core/errors.js';
import { Connection, errText } from '../net/connection.js';
import { quoteBytes } from '../core/bytes.js';
import type { Secret } from '../core/redact.js';
import { replyLines, type SmtpReply } from '../core/reply.js';
import type { TlsParams } from '../core/tls.js';
import { DEFAULT_LIMITS, ReplyParser, ReplyProtocolError } from './reply.js';
import { convertPeerCertificateOnce, describeTls, secureContextFor, sniFor, type TlsHello } from '../net/tls.js';

export type { TlsHello } from '../net/tls.js';
import type { Transcript } from './trace.js';

export interface SessionOptions {
  /** The run's deadline (and shutdown): when it aborts, the phase running fails with `timeout`. */
  signal: AbortSignal;
  /** Longest wait for any single reply, connect or handshake. */
  phaseTimeoutMs: number;
  /** Timers (phase timeouts, the TLS ticket wait) and wall-clock time (certificate days left). */
  clock: Clock;
  transcript?: Transcript | null;
  /** Secrets known before the first byte (the credentials of the run): masked from the banner on. */
  secrets?: readonly Secret[];
  /** Called once, when the first bytes from the server arrive (a capacity run times the greeting's first byte). */
  onFirstByte?: () => void;
}

/** Replies tolerated after the STARTTLS 220 before the handshake (then discarded); more is a flood. */
const MAX_INJECTED_REPLIES = 64;

/** Longest wait for a TLS 1.3 session ticket before sending the first command (see awaitTicket). */
const TICKET_WAIT_MS = 20;

/** The read waiting for a reply: its phase, its timeout and when (clock.now()) that runs out. */
interface Waiter {
  resolve: (r: SmtpReply) => void;
  reject: (e: ProbeError) => void;
  phase: Phase;
  ms: number;
  until: number;
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
  private parser = this.newParser();
  private queue: SmtpReply[] = [];
  private waiter: Waiter | null = null;
  /** The one timer that watches the waiting read (see watch), and when it fires. */
  private timer: TimerHandle | null = null;
  private timerAt = 0;
  /** Socket, TLS, deadline, terminal failure, secrets. */
  private readonly conn: Connection;
  private firstByte: (() => void) | undefined;

  constructor(private readonly opts: SessionOptions) {
    this.firstByte = opts.onFirstByte;
    this.conn = new Connection({
      signal: opts.signal,
      clock: opts.clock,
      onData: (chunk) => this.receive(chunk),
      onFailure: (e) => this.wake(e),
      describe: () => ({ phase: this.phase, doing: this.phase }),
      deadlineError: () => new ProbeError('timeout', this.phase, `run deadline reached during ${this.phase}`),
    });
    this.conn.redact(opts.secrets ?? []);
  }

  /** Protocol errors quote server bytes through the connection: secrets masked before the quote is cut. */
  private newParser(): ReplyParser {
    return new ReplyParser(DEFAULT_LIMITS, (input, max) => this.conn.clean(input, max));
  }

  get sawBareLf(): boolean {
    return this.parser.sawBareLf;
  }

  get encrypted(): boolean {
    return this.conn.encrypted;
  }

  get isOpen(): boolean {
    return this.conn.isOpen;
  }

  /** Values replaced by *** in any server text that is kept (a server may echo an AUTH argument). */
  redact(values: readonly Secret[]): void {
    this.conn.redact(values);
  }

  /** Tear down; idempotent. */
  close(): void {
    this.timer?.cancel();
    this.timer = null;
    this.conn.close();
  }

  /** Open a TCP connection to one address. Rejects with reason `connect` or `timeout`. */
  async open(address: string, port: number, localAddress?: string): Promise<void> {
    // A new attempt (the next address of a host) starts clean unless the run's deadline has passed.
    this.queue = [];
    this.parser = this.newParser();
    this.phase = 'connect';
    await this.conn.connect(
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
  async startTls(
    params: TlsParams,
    phase: 'tls' | 'tls_upgrade',
    hello?: TlsHello,
  ): Promise<{ info: TlsInfo; discardedBytes: number; peer: tls.PeerCertificate | null; chain: () => Buffer[] }> {
    this.checkAlive();
    this.phase = phase;
    const queued = this.queue.reduce((n, r) => n + replyLines(r).reduce((m, l) => m + Buffer.byteLength(l) + 2, 0), 0);
    const discardedBytes = this.parser.bufferedBytes + queued;
    this.parser.reset();
    this.queue = [];
    let context: tls.SecureContext;
    try {
      // A posture probe's hello (only TLS 1.0, only weak suites) gets a context of its own, cached by that hello.
      context = secureContextFor(params, hello);
    } catch (e) {
      throw this.conn.fail(new ProbeError('tls', phase, `unusable TLS settings (CA, certificate or key): ${errText(e as Error)}`));
    }
    let ticketArrived = (): void => undefined;
    const ticket = new Promise<void>((resolve) => (ticketArrived = resolve));
    const secure = await this.conn.upgrade(
      { host: params.servername, servername: sniFor(params.servername), secureContext: context, rejectUnauthorized: false },
      (e) => new ProbeError('tls', phase, `TLS handshake failed: ${errText(e)}`),
      this.opts.phaseTimeoutMs,
      (s) => {
        convertPeerCertificateOnce(s);
        // Resolve on the next turn: the event fires inside OpenSSL's read, and a write from there is lost.
        s.once('session', () => setImmediate(ticketArrived));
      },
    );
    if (secure.getProtocol() === 'TLSv1.3') await this.awaitTicket(ticket);
    const leaf = secure.getPeerCertificate(false);
    const peer = leaf && Object.keys(leaf).length > 0 ? leaf : null;
    // The chain only on demand (DANE): converting every issuer on every handshake is what convertPeerCertificateOnce
    // keeps a check from paying for.
    return { info: describeTls(secure, params, this.opts.clock.wallNow()), discardedBytes, peer, chain: () => peerChain(secure) };
  }

  /**
   * TLS 1.3 servers send session tickets just after the handshake. A server with Nagle's algorithm on (Postfix)
   * then holds its next small write, the reply to our EHLO, until the tickets are acknowledged, and a client that
   * has already sent EHLO acknowledges only after its delayed-ACK timer: about 40 ms lost on every STARTTLS.
   * Waiting for the first ticket lets the EHLO carry that acknowledgement. Bounded for servers that send none.
   */
  private async awaitTicket(ticket: Promise<void>): Promise<void> {
    await bounded(ticket, Math.min(TICKET_WAIT_MS, this.opts.phaseTimeoutMs), undefined, this.opts.clock, () => undefined);
  }

  /** Wait for the next complete reply. `timeoutMs` may shorten (never lengthen) the phase timeout. */
  read(phase: Phase, timeoutMs = this.opts.phaseTimeoutMs): Promise<SmtpReply> {
    this.phase = phase;
    const next = this.queue.shift();
    if (next) {
      this.outstanding -= 1;
      return Promise.resolve(next);
    }
    const failed = this.conn.failure;
    if (failed) return Promise.reject(this.retag(failed, phase));
    const ms = Math.min(timeoutMs, this.opts.phaseTimeoutMs);
    return new Promise<SmtpReply>((resolve, reject) => {
      const until = this.opts.clock.now() + ms;
      this.waiter = { resolve, reject, phase, ms, until };
      this.watch(until);
    });
  }

  /**
   * One timer per session bounds the reads, not one set and cleared per read: it stays set from one read to the
   * next, is set sooner when a read must end sooner, and when it fires before the waiting read's time is up it is
   * set again for the rest. A session that gets its replies in time sets it once.
   */
  private watch(until: number): void {
    if (this.timer && this.timerAt <= until) return;
    this.timer?.cancel();
    this.timerAt = until;
    this.timer = this.opts.clock.setTimer(until - this.opts.clock.now(), this.onTimer);
  }

  private readonly onTimer = (): void => {
    this.timer = null;
    const w = this.waiter;
    if (!w) return;
    if (this.opts.clock.now() < w.until) return this.watch(w.until);
    this.waiter = null;
    w.reject(this.conn.fail(new ProbeError('timeout', w.phase, `no reply within ${w.ms} ms during ${w.phase}`)));
  };

  /**
   * Write commands in one write (a pipelined group when more than one). `shown` replaces each line in the
   * transcript, for secrets. Never writes while a reply is still owed unless the caller pipelines on purpose.
   */
  send(lines: string[], phase: Phase, shown?: string[]): void {
    this.phase = phase;
    this.checkAlive();
    if (this.queue.length > 0) {
      throw this.conn.fail(unsolicited(phase, this.queue[0]!));
    }
    const transcript = this.opts.transcript;
    if (transcript) lines.forEach((line, i) => transcript.add('C', this.conn.mask(shown?.[i] ?? line)));
    this.conn.write(lines.length === 1 ? `${lines[0]}\r\n` : lines.map((l) => `${l}\r\n`).join(''));
    this.outstanding += lines.length;
  }

  /** Write raw bytes that draw no reply of their own (message content before the final dot). */
  writeRaw(data: string | Buffer, shown: string): void {
    this.checkAlive();
    this.opts.transcript?.add('C', this.conn.mask(shown));
    this.conn.write(data);
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

  /** Throws the stored failure (naming the phase now running), or the deadline's. */
  private checkAlive(): void {
    const failed = this.conn.failure;
    if (failed) throw this.retag(failed, this.phase);
    this.conn.checkAlive();
  }

  /** Reject whoever waits for a reply with the terminal error. */
  private wake(e: ProbeError): void {
    const w = this.waiter;
    this.waiter = null;
    w?.reject(this.retag(e, w.phase));
  }

  /** Keep the reason and message of a stored terminal error but name the phase now asking. */
  private retag(e: ProbeError, phase: Phase): ProbeError {
    return e.phase === phase || e.reason !== 'closed' ? e : new ProbeError(e.reason, phase, e.message, e.reply);
  }

  /** Bytes from the server: framed into replies, handed to the waiter in order. */
  private receive(chunk: Buffer): void {
    if (this.firstByte) {
      const f = this.firstByte;
      this.firstByte = undefined;
      f();
    }
    let replies: readonly SmtpReply[];
    try {
      replies = this.parser.push(chunk);
    } catch (e) {
      const msg = e instanceof ReplyProtocolError ? e.message : String(e);
      this.conn.fail(new ProbeError('protocol', this.phase, msg));
      return;
    }
    const transcript = this.opts.transcript;
    for (const r of replies) {
      r.lines = this.conn.cleanLines(r.lines, DEFAULT_LIMITS.maxLineBytes);
      if (transcript) for (const l of replyLines(r)) transcript.add('S', l);
      this.queue.push(r);
    }
    // After STARTTLS, replies beyond its 220 are injected input: startTls() discards and reports them (RFC 3207).
    const slack = this.phase === 'starttls' ? MAX_INJECTED_REPLIES : 0;
    if (this.queue.length > this.outstanding + slack) {
      this.conn.fail(unsolicited(this.phase, this.queue[this.queue.length - 1]!));
      return;
    }
    const w = this.waiter;
    if (w && this.queue.length > 0) {
      this.waiter = null;
      this.outstanding -= 1;
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

/**
 * The peer's chain as DER, leaf first, each issuer after its subject (for DANE, RFC 7672): what the server sent,
 * with OpenSSL's completion from the trust store when it had one (a self-signed root ends the walk). Empty when
 * the server sent no certificate.
 */
export function peerChain(secure: tls.TLSSocket): Buffer[] {
  const chain: Buffer[] = [];
  // The prototype's method: the socket's own answers the leaf alone (convertPeerCertificateOnce).
  let cert: tls.DetailedPeerCertificate | null = TLSSocket.prototype.getPeerCertificate.call(secure, true) as tls.DetailedPeerCertificate;
  while (cert && cert.raw && chain.length < 16) {
    if (chain.some((c) => c.equals(cert!.raw))) break;
    chain.push(cert.raw);
    cert = cert.issuerCertificate ?? null;
  }
  return chain;
}
