/**
 * One POP3 connection: one command at a time, its answer framed (framing.ts), lines nobody asked for held and
 * refused, TLS (pop3s, or STLS) with what came before the handshake discarded. Socket, deadline, terminal
 * failure and secrets: the net Connection it holds.
 */
import net from 'node:net';
import type tls from 'node:tls';
import type { Clock } from '../../core/clock.js';
import { ProbeError } from '../../core/errors.js';
import type { FailureReason } from '../../core/result.js';
import { Connection, errText } from '../../net/connection.js';
import { describeVerifyError, sniFor } from '../../net/tls.js';
import { MAILBOX_PHASE as PHASE, verifyOptions } from '../policy.js';
import type { MailboxLimits, MailboxSettings } from '../types.js';
import { Answer, LineFramer, type Pop3Reply } from './framing.js';

/** Server text quoted in an error message is cut here. */
const MAX_QUOTED = 200;

interface Pending {
  answer: Answer;
  resolve: (r: Pop3Reply) => void;
  reject: (e: ProbeError) => void;
}

export class Pop3Connection {
  /** What is in progress, named by failures: "connect", "greeting", "TOP 3 0", "PASS ***". */
  step = 'connect';
  private readonly framer: LineFramer;
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
      this.pending = { answer: new Answer(multi, limit), resolve, reject };
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
    if (!p) return this.holdEarly(line);
    const state = p.answer.push(line);
    if (state === 'done') {
      this.pending = null;
      p.resolve(p.answer.reply);
    } else if (state === 'not-status') {
      this.conn.fail(new ProbeError('protocol', PHASE, `not a POP3 answer to ${this.step}: "${this.cleanText(line.toString('utf8'))}"`));
    } else if (state === 'too-large') {
      this.conn.fail(new ProbeError('protocol', PHASE, `answer to ${this.step} is larger than the ${p.answer.limit}-byte limit`));
    }
  }

  /** A line while no command waits: kept for the next request to refuse (or STLS to discard), within bounds. */
  private holdEarly(line: Buffer): void {
    this.early.push(line);
    this.earlyBytes += line.length + 2;
    if (this.earlyBytes > this.limits.maxLineBytes) {
      this.conn.fail(new ProbeError('protocol', PHASE, `server sent more than ${this.limits.maxLineBytes} bytes nobody asked for (after ${this.step})`));
    }
  }
}

/** Verification against settings.servername, SNI unless it is an IP address; `insecure` turns verification off. */
export function tlsOptions(settings: MailboxSettings): tls.ConnectionOptions {
  return { servername: sniFor(settings.servername), ...verifyOptions(settings) };
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
