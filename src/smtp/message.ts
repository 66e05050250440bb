/**
 * The test message: RFC 5322 headers, CRLF line endings, lines within 998 octets, non-ASCII header text as RFC 2047
 * encoded words and a quoted-printable body when plain 7bit will not do; dot-stuffed (RFC 5321 4.5.2).
 */

import { createRequire } from 'node:module';
import { PROBE_ID_FIELD, PROBE_TARGET_FIELD } from '../core/probe-headers.js';

export interface MessageOptions {
  from: string;
  to: string[];
  subject: string;
  body: string;
  headers: Record<string, string>;
  /** Pad the body with text lines up to about this many bytes (benchmarks, SIZE limit checks). */
  size: number | null;
  messageId: string;
  probeId: string;
  /** The target's name: cleanup of earlier probe messages touches only this target's. */
  target?: string;
  date: Date;
}

/** Header and command values come from config or flags: no CR/LF may smuggle in another line. */
export function oneLine(value: string): string {
  return value.replace(/[\r\n]+/g, ' ');
}

/** RFC 5322 date-time, e.g. `Thu, 26 Nov 2026 03:20:00 +0000`. */
export function rfc5322Date(d: Date): string {
  return d.toUTCString().replace(/GMT$/, '+0000');
}

export function isAscii(s: string): boolean {
  return !/[^\x00-\x7f]/.test(s);
}

/** RFC 5322 2.1.1: at most 998 characters a line; 78 is the recommended fold width. */
const MAX_LINE = 998;
const FOLD_AT = 78;
/** Longest encoded word libmime makes (as nodemailer asks): with the field name it stays within FOLD_AT. */
const WORD_AT = 52;

/**
 * libmime and libqp (nodemailer's) are loaded on first use, synchronously through their CommonJS builds: libmime
 * pulls in iconv-lite and encoding-japanese at import, which costs the one-shot CLI start-up about 0.1 s of CPU,
 * and a plain ASCII message (the default) needs neither.
 */
const requireLazy = createRequire(import.meta.url);
let mimeLib: typeof import('libmime').default | undefined;
let qpLib: typeof import('libqp') | undefined;
const libmime = (): typeof import('libmime').default => (mimeLib ??= requireLazy('libmime') as typeof import('libmime').default);
const libqp = (): typeof import('libqp') => (qpLib ??= requireLazy('libqp') as typeof import('libqp'));

/** What changes from one run to the next: the date, the Message-ID and the probe ID. */
export type MessageRun = Pick<MessageOptions, 'date' | 'messageId' | 'probeId'>;

/** A padded body is kept for the next run only up to this size; a larger one is built each run (as it is sent). */
const MAX_KEPT_BODY = 64 * 1024;

/** Lines starting with "." doubled (RFC 5321 4.5.2), in text that starts at the start of a line. */
function stuffDots(text: string): string {
  return text.charCodeAt(0) === 0x2e || text.includes('\r\n.') ? text.replace(/(^|\r\n)\./g, '$1..') : text;
}

/** Header fields as lines: names cleaned of CR, LF, colons and white space, fields left without a name dropped. */
function fieldLines(fields: [string, string][]): string {
  return fields
    .map(([k, v]) => [oneLine(k).replace(/[:\s]/g, ''), v] as const)
    .filter(([k]) => k.length > 0)
    .map(([k, v]) => headerLine(k, v))
    .join('\r\n');
}

/**
 * The test message of one plan, built once: every header field but the three that change per run (MessageRun),
 * and the body, encoded, padded and dot-stuffed. A run renders its three fields and joins the parts. Field order:
 * Date, From, To, Subject, Message-ID, the probe ID, the target, Auto-Submitted, extra fields, the MIME fields.
 */
export class MessageTemplate {
  /** From, To and Subject; then the target, Auto-Submitted, extra and MIME fields. Each also dot-stuffed. */
  private readonly early: string;
  private readonly late: string;
  private readonly earlyStuffed: string;
  private readonly lateStuffed: string;
  /** Bytes of the fixed fields and of the line breaks between all fields (padding counts the whole header). */
  private readonly fixedHeadBytes: number;
  /** The body with CRLF line endings, quoted-printable when plain 7bit will not do; before padding. */
  private readonly text: string;
  private readonly size: number | null;
  /** The body of the last run (padded to suit its header length) and its DATA form, built on first use. */
  private body: { padTo: number; text: string; data: string | null } | null = null;

  constructor(o: Omit<MessageOptions, keyof MessageRun>) {
    let body = o.body.replace(/\r?\n|\r/g, '\r\n');
    if (!body.endsWith('\r\n')) body += '\r\n';
    const plain = isAscii(body) && body.split('\r\n').every((l) => l.length <= MAX_LINE);
    this.early = fieldLines([['From', o.from], ['To', o.to.join(', ')], ['Subject', o.subject]]);
    this.late = fieldLines([
      ...(o.target ? ([[PROBE_TARGET_FIELD, o.target]] as [string, string][]) : []),
      ['Auto-Submitted', 'auto-generated'],
      ...Object.entries(o.headers),
      ['MIME-Version', '1.0'],
      ['Content-Type', 'text/plain; charset=utf-8'],
      ['Content-Transfer-Encoding', plain ? '7bit' : 'quoted-printable'],
    ]);
    this.earlyStuffed = stuffDots(this.early);
    this.lateStuffed = stuffDots(this.late);
    this.fixedHeadBytes = Buffer.byteLength(this.early) + Buffer.byteLength(this.late) + 4 * 2;
    this.text = plain ? body : quotedPrintable(body);
    this.size = o.size;
  }

  /** The message of one run, as buildMessage gives it. */
  message(run: MessageRun): string {
    const [date, id, probe] = this.runFields(run);
    return `${date}\r\n${this.early}\r\n${id}\r\n${probe}\r\n${this.late}\r\n\r\n${this.bodyFor(date, id, probe).text}`;
  }

  /** The DATA payload of one run: dot-stuffed and terminated, the same bytes as dotStuff(message(run)). */
  data(run: MessageRun): string {
    const fields = this.runFields(run);
    const body = this.bodyFor(...fields);
    const [date, id, probe] = fields.map(stuffDots) as [string, string, string];
    if (body.data === null) {
      const stuffed = stuffDots(body.text);
      // The message ends with its body; an empty body leaves it ending with the blank line after the header.
      body.data = `${stuffed}${body.text === '' || stuffed.endsWith('\r\n') ? '' : '\r\n'}.\r\n`;
    }
    return `${date}\r\n${this.earlyStuffed}\r\n${id}\r\n${probe}\r\n${this.lateStuffed}\r\n\r\n${body.data}`;
  }

  private runFields(run: MessageRun): [string, string, string] {
    return [headerLine('Date', rfc5322Date(run.date)), headerLine('Message-ID', `<${run.messageId}>`), headerLine(PROBE_ID_FIELD, run.probeId)];
  }

  /**
   * The body for a header with these per-run fields: padding fills up to `size` counting the whole header, so it
   * depends on their length, which is the same run after run (a Date, a UUID Message-ID and probe ID).
   */
  private bodyFor(date: string, id: string, probe: string): { text: string; data: string | null } {
    const padTo = this.size === null ? -1 : this.size - this.fixedHeadBytes - Buffer.byteLength(date) - Buffer.byteLength(id) - Buffer.byteLength(probe) - 4;
    if (this.body?.padTo === padTo) return this.body;
    const made = { padTo, text: padTo < 0 ? this.text : pad(this.text, padTo), data: null };
    if (made.text.length <= MAX_KEPT_BODY) this.body = made;
    return made;
  }
}

/** The whole message (see MessageTemplate, which a plan keeps to build it run after run). */
export function buildMessage(o: MessageOptions): string {
  return new MessageTemplate(o).message(o);
}

/**
 * `Name: value` folded at whitespace within 78 characters (RFC 5322 2.2.3); non-ASCII words, and a value with a
 * word too long for any line, as RFC 2047 encoded words, which split where plain text cannot and decode back whole.
 * A value that is ASCII and fits one line never loads libmime.
 */
export function headerLine(name: string, value: string): string {
  const v = oneLine(value);
  if (isAscii(v) && name.length + 2 + v.length <= FOLD_AT) return `${name}: ${v}`;
  const mime = libmime();
  const line = mime.foldLines(`${name}: ${mime.encodeWords(v, 'Q', WORD_AT)}`, FOLD_AT);
  if (line.split('\r\n').every((l) => l.length <= MAX_LINE)) return line;
  return mime.foldLines(`${name}: ${mime.encodeWord(v, 'Q', WORD_AT)}`, FOLD_AT);
}

/** RFC 2045 6.7 quoted-printable of UTF-8 text: CRLF kept as line breaks, soft breaks keep lines within 76. */
function quotedPrintable(text: string): string {
  const qp = libqp();
  return qp.wrap(qp.encode(text), 76);
}

/** Fill with lines of at most 76 characters (the quoted-printable limit) until the body is `target` bytes long (never shortens). */
function pad(body: string, target: number): string {
  const line = 'smtp-probe padding line 0123456789 abcdefghijklmnopqrstuvwxyz ABCDEFGHIJKLMN';
  const parts = [body];
  let size = Buffer.byteLength(body);
  while (size < target) {
    const room = target - size - 2;
    if (room <= 0) break;
    // No white space at a line's end: a quoted-printable body may not carry it literally (RFC 2045 6.7 (3)).
    const piece = line.slice(0, Math.min(line.length, room)).trimEnd();
    parts.push(`${piece}\r\n`);
    size += piece.length + 2;
  }
  return parts.join('');
}

/** The DATA payload: lines starting with "." doubled, then the terminating CRLF.CRLF. */
export function dotStuff(message: string): string {
  const stuffed = stuffDots(message);
  return `${stuffed}${stuffed.endsWith('\r\n') ? '' : '\r\n'}.\r\n`;
}
