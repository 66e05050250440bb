/**
 * One POP3 connection: one command at a time, its answer framed (framing.ts), lines nobody asked for held and
 * refused, TLS (pop3s, or STLS) with what came before the handshake discarded. Socket, deadline, terminal
 * failure and secrets: the net Connection it holds.
 */
import net from 'node:net';
import type tls from 'node:tls';
import type { Clock } from '../../core/clock.js';
import { ProbeError } from '../../core/errors.js';
import type { Secret } from '../../core/redact.js';
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
  /** The command as failures name it. */
  shown: string;
  resolve: (r: Pop3Reply) => void;
  reject: (e: ProbeError) => void;
}

/** One command of a pipelined batch (RFC 2449 PIPELINING): its line, and whether its answer is multi-line. */
export interface Pipelined {
  line: string;
  multi: boolean;
}

export class Pop3Connection {
  /** What is in progress, named by failures: "connect", "greeting", "TOP 3 0", "PASS ***". */
  step = 'connect';
  private readonly framer: LineFramer;
  private pending: Pending | null = null;
  /** Answers still to come after `pending`, in order (a pipelined batch). */
  private queued: Pending[] = [];
  /** Lines nobody asked for; discarded at STLS (RFC 2595 4), a protocol error otherwise. */
  private early: Buffer[] = [];
  private earlyBytes = 0;
  private readonly conn: Connection;

  constructor(
    signal: AbortSignal,
    clock: Clock,
    private readonly limits: MailboxLimits,
  ) {
    // The whole line goes to the quote, masked before it is cut (a server may echo PASS in an over-long line).
    this.framer = new LineFramer(limits.maxLineBytes, (input, max) => this.conn.clean(input, max));
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
  redact(values: readonly Secret[]): void {
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
    return this.await(false, this.limits.maxLineBytes, 'greeting');
  }

  /**
   * Send one command and read its answer. `multi`: a +OK is followed by lines up to a lone "." (at most
   * `limit` bytes after unstuffing). `shown` names the command in errors (secrets left out).
   */
  request(line: string, multi: boolean, shown = line, limit = this.limits.maxMessageBytes, sink?: (line: Buffer) => void): Promise<Pop3Reply> {
    this.checkIdle(shown);
    this.step = shown;
    this.conn.write(`${line}\r\n`);
    return this.await(multi, limit, shown, sink);
  }

  /**
   * Several commands in one write, their answers read in order (only when the server lists PIPELINING). One
   * promise per command; each answer is bounded like request()'s. Secrets never go through here.
   */
  pipeline(commands: readonly Pipelined[]): Promise<Pop3Reply>[] {
    if (commands.length === 0) return [];
    this.checkIdle(commands[0]!.line);
    this.step = commands[0]!.line;
    this.conn.write(commands.map((c) => `${c.line}\r\n`).join(''));
    const answers = commands.map((c) => this.await(c.multi, this.limits.maxMessageBytes, c.line));
    // After a failure the caller stops at the first rejection; the later ones are the same error.
    for (const a of answers) a.catch(() => undefined);
    return answers;
  }

  private checkIdle(shown: string): void {
    this.conn.checkAlive();
    if (this.pending || this.queued.length > 0) throw new Error(`POP3 command ${shown} while ${this.step} is outstanding`);
    if (this.early.length > 0) {
      throw this.conn.fail(new ProbeError('protocol', PHASE, `server sent a line nobody asked for: "${this.cleanText(this.early[0]!.toString('utf8'))}"`));
    }
  }

  /** Queue the wait for the next answer; it becomes `pending` when the answers before it are done. */
  private await(multi: boolean, limit: number, shown: string, sink?: (line: Buffer) => void): Promise<Pop3Reply> {
    return new Promise<Pop3Reply>((resolve, reject) => {
      const p: Pending = { answer: new Answer(multi, limit, sink), shown, resolve, reject };
      if (this.pending === null && this.queued.length === 0) this.pending = p;
      else this.queued.push(p);
    });
  }

  /** Reject whoever waits for an answer with the terminal error. */
  private wake(e: ProbeError): void {
    const waiting = [...(this.pending ? [this.pending] : []), ...this.queued];
    this.pending = null;
    this.queued = [];
    for (const p of waiting) p.reject(e);
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
      this.pending = this.queued.shift() ?? null;
      if (this.pending) this.step = this.pending.shown;
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
function tlsOptions(settings: MailboxSettings): tls.ConnectionOptions {
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
