/**
 * SMTP reply framing (RFC 5321 4.2): `ddd-text` continuation lines up to a final `ddd text` line, enhanced status
 * codes (RFC 3463), replies split across TCP segments, bounded memory for servers that flood.
 */
import { quoteBytes } from '../core/bytes.js';
import type { SmtpReply } from '../core/reply.js';

export interface ReplyLimits {
  /** Longest line accepted, in bytes, without its line ending. */
  maxLineBytes: number;
  /** Most lines in one multiline reply. */
  maxLines: number;
}

export const DEFAULT_LIMITS: ReplyLimits = { maxLineBytes: 4096, maxLines: 512 };

/**
 * How server bytes are quoted in an error: the session's, which masks its secrets before it escapes and cuts
 * (a server may echo an AUTH line in a malformed reply). Given the whole line, so a cut never splits a secret.
 */
export type QuoteFn = (input: Buffer | string, max?: number) => string;

/** Most characters of a line quoted in a protocol error. */
const QUOTED_CHARS = 120;

/** Bytes that are not an SMTP reply, or a reply over the limits. */
export class ReplyProtocolError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ReplyProtocolError';
  }
}

const LF = 0x0a;
const CR = 0x0d;
const ENHANCED = /^([245])\.(\d{1,3})\.(\d{1,3})(?=\s|$)/;

export function parseEnhancedCode(code: number, text: string): string | null {
  // Most replies have none: a byte check before the regex ("d." opens every enhanced code).
  if (text.charCodeAt(1) !== 0x2e) return null;
  const m = ENHANCED.exec(text);
  if (!m || Number(m[1]) !== Math.floor(code / 100)) return null;
  return `${m[1]}.${m[2]}.${m[3]}`;
}

/** What push() returns when no reply is complete: one shared empty list, not a new one per chunk. */
const NONE: readonly SmtpReply[] = Object.freeze([]);

/**
 * Incremental parser. `push()` takes bytes as they arrive and returns the replies they complete. Throws
 * ReplyProtocolError on bytes that are not SMTP or break the limits; after that the parser must not be reused.
 * Lines are framed in the chunk itself; only a line split across chunks is copied (its held part and the rest).
 */
export class ReplyParser {
  /** Set once the server has ended a line with a bare LF. */
  sawBareLf = false;
  /** Blank lines skipped between replies. */
  strayBlankLines = 0;
  private partial: Buffer | null = null;
  /** Text of the lines so far of an unfinished multiline reply. */
  private lines: string[] = [];
  private code = 0;

  constructor(
    private readonly limits: ReplyLimits = DEFAULT_LIMITS,
    private readonly quote: QuoteFn = quoteBytes,
  ) {}

  /** Bytes held that do not yet form a complete reply (RFC 3207: discarded at STARTTLS). */
  get bufferedBytes(): number {
    return (this.partial?.length ?? 0) + this.lines.reduce((n, l) => n + l.length + 6, 0);
  }

  /** Drop everything held, e.g. input that arrived before a TLS handshake. */
  reset(): void {
    this.partial = null;
    this.lines = [];
    this.code = 0;
  }

  push(chunk: Buffer): readonly SmtpReply[] {
    let out: SmtpReply[] | null = null;
    let buf = chunk;
    let start = 0;
    if (this.partial) {
      const lf = chunk.indexOf(LF);
      // The held part joined with the rest of its line only, or with the whole chunk when that does not end it.
      buf = Buffer.concat([this.partial, lf < 0 ? chunk : chunk.subarray(0, lf + 1)]);
      this.partial = null;
      if (lf >= 0) {
        const reply = this.frameLine(buf, 0, buf.length - 1);
        if (reply) out = [reply];
        buf = chunk;
        start = lf + 1;
      }
    }
    for (let lf = buf.indexOf(LF, start); lf >= 0; lf = buf.indexOf(LF, start)) {
      const reply = this.frameLine(buf, start, lf);
      if (reply) (out ??= []).push(reply);
      start = lf + 1;
    }
    if (start < buf.length) {
      // A held CR may be the first half of the line's CRLF: it does not count against the limit.
      this.checkLength(buf.length - start - (buf[buf.length - 1] === CR ? 1 : 0), buf, start);
      // Copy: a view would pin the caller's whole chunk and change if the caller reuses it.
      this.partial = Buffer.from(buf.subarray(start));
    }
    return out ?? NONE;
  }

  /** The line from `start` to the LF at `lf`: its CR dropped (a bare LF noted), its length checked, then taken. */
  private frameLine(buf: Buffer, start: number, lf: number): SmtpReply | null {
    let end = lf;
    if (end > start && buf[end - 1] === CR) end -= 1;
    else this.sawBareLf = true;
    this.checkLength(end - start, buf, start);
    return this.takeLine(buf, start, end);
  }

  private checkLength(len: number, buf: Buffer, start: number): void {
    if (len > this.limits.maxLineBytes) {
      throw new ReplyProtocolError(
        `reply line longer than ${this.limits.maxLineBytes} bytes: "${this.quote(buf.subarray(start, start + len), 60)}"`,
      );
    }
  }

  private takeLine(buf: Buffer, start: number, end: number): SmtpReply | null {
    if (end === start) {
      // A stray blank line between replies is tolerated (seen from real servers); inside a reply it is not.
      if (this.lines.length > 0) throw new ReplyProtocolError('blank line inside a multiline reply');
      this.strayBlankLines += 1;
      return null;
    }
    const code = parseCode(buf, start, end);
    const sep = end - start > 3 ? buf[start + 3] : 0x20;
    if (code === null || (sep !== 0x20 && sep !== 0x2d)) {
      throw new ReplyProtocolError(`not an SMTP reply: "${this.quote(buf.subarray(start, end), QUOTED_CHARS)}"`);
    }
    if (this.lines.length > 0 && code !== this.code) {
      const line = buf.toString('utf8', start, end);
      throw new ReplyProtocolError(`multiline reply changed code from ${this.code} to ${code}: "${this.quote(line)}"`);
    }
    // The code and separator are ASCII: the text after them decodes on its own.
    const text = end - start > 4 ? buf.toString('utf8', start + 4, end) : '';
    if (sep === 0x20 && this.lines.length === 0) return { code, enhancedCode: parseEnhancedCode(code, text), lines: [text] };
    this.code = code;
    this.lines.push(text);
    if (sep === 0x2d) {
      if (this.lines.length >= this.limits.maxLines) {
        throw new ReplyProtocolError(`multiline reply longer than ${this.limits.maxLines} lines`);
      }
      return null;
    }
    const lines = this.lines;
    this.lines = [];
    return { code, enhancedCode: parseEnhancedCode(code, lines[0] ?? ''), lines };
  }
}

/** A three-digit reply code 200-599 whose second digit is 0-5 (RFC 5321 4.2.1), or null. */
function parseCode(buf: Buffer, start: number, end: number): number | null {
  if (end - start < 3) return null;
  const a = (buf[start] ?? 0) - 0x30;
  const b = (buf[start + 1] ?? 0) - 0x30;
  const c = (buf[start + 2] ?? 0) - 0x30;
  if (a < 2 || a > 5 || b < 0 || b > 5 || c < 0 || c > 9) return null;
  return a * 100 + b * 10 + c;
}
