/**
 * POP3 bytes into answers (RFC 1939 3): lines (CRLF or bare LF) of bounded length; a status line `+OK` / `-ERR`;
 * for a multi-line answer after +OK, lines up to a lone "." with the leading dot of the others removed, bounded
 * in total. Nothing here knows which command is running or what the session does with the answer.
 */
import { quoteBytes } from '../../core/bytes.js';

/** Bytes that are not POP3, or over the limits. */
export class MailboxProtocolError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'MailboxProtocolError';
  }
}

/** How server bytes are quoted in an error: the connection's, which masks secrets before it escapes and cuts. */
export type QuoteFn = (input: Buffer | string, max?: number) => string;

/** Splits input into lines (CRLF or bare LF), without their endings, holding at most `maxLineBytes` of a partial line. */
export class LineFramer {
  private partial: Buffer | null = null;

  constructor(
    private readonly maxLineBytes: number,
    private readonly quote: QuoteFn = quoteBytes,
  ) {}

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
        `server line longer than ${this.maxLineBytes} bytes: "${this.quote(buf.subarray(start, start + len), 60)}"`,
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

/** `+OK text` / `-ERR text` (RFC 1939 3), or null. */
function parseStatus(line: Buffer): { ok: boolean; text: string } | null {
  const text = line.toString('utf8');
  const m = /^(\+OK|-ERR)(?:[ \t](.*))?$/s.exec(text);
  if (!m) return null;
  return { ok: m[1] === '+OK', text: m[2] ?? '' };
}

/** Where an answer stands after a line: more to come, complete, a first line that is no status, or over its limit. */
type AnswerState = 'more' | 'done' | 'not-status' | 'too-large';

/** One answer being read, line by line: its status, then (multi-line after +OK) its data up to the lone ".". */
export class Answer {
  private status: { ok: boolean; text: string } | null = null;
  private readonly lines: Buffer[] = [];
  private bytes = 0;

  /**
   * `limit`: most bytes of data lines after unstuffing, line endings counted. `sink`: each data line is handed
   * to it as it comes (a subarray of the input: copy what is kept) and none is held, so `reply.lines` stays empty.
   */
  constructor(
    private readonly multi: boolean,
    readonly limit: number,
    private readonly sink?: (line: Buffer) => void,
  ) {}

  push(line: Buffer): AnswerState {
    if (this.status === null) {
      this.status = parseStatus(line);
      if (!this.status) return 'not-status';
      return this.status.ok && this.multi ? 'more' : 'done';
    }
    if (line.length === 1 && line[0] === 0x2e) return 'done';
    const data = line[0] === 0x2e ? line.subarray(1) : line;
    this.bytes += data.length + 2;
    if (this.bytes > this.limit) return 'too-large';
    if (this.sink) this.sink(data);
    else this.lines.push(data);
    return 'more';
  }

  /** The answer, once push() has said 'done'. */
  get reply(): Pop3Reply {
    if (!this.status) throw new Error('POP3 answer read before its status line');
    return { ok: this.status.ok, text: this.status.text, lines: this.lines };
  }
}
