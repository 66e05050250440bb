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

export function buildMessage(o: MessageOptions): string {
  const headers: [string, string][] = [
    ['Date', rfc5322Date(o.date)],
    ['From', o.from],
    ['To', o.to.join(', ')],
    ['Subject', o.subject],
    ['Message-ID', `<${o.messageId}>`],
    [PROBE_ID_FIELD, o.probeId],
    ...(o.target ? ([[PROBE_TARGET_FIELD, o.target]] as [string, string][]) : []),
    ['Auto-Submitted', 'auto-generated'],
    ...Object.entries(o.headers),
  ];
  let body = o.body.replace(/\r?\n|\r/g, '\r\n');
  if (!body.endsWith('\r\n')) body += '\r\n';
  const plain = isAscii(body) && body.split('\r\n').every((l) => l.length <= MAX_LINE);
  const mime: [string, string][] = [
    ['MIME-Version', '1.0'],
    ['Content-Type', 'text/plain; charset=utf-8'],
    ['Content-Transfer-Encoding', plain ? '7bit' : 'quoted-printable'],
  ];
  const head = [...headers, ...mime]
    .map(([k, v]) => [oneLine(k).replace(/[:\s]/g, ''), v] as const)
    .filter(([k]) => k.length > 0)
    .map(([k, v]) => headerLine(k, v))
    .join('\r\n');
  let text = plain ? body : quotedPrintable(body);
  if (o.size !== null) text = pad(text, o.size - Buffer.byteLength(head) - 4);
  return `${head}\r\n\r\n${text}`;
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
  const stuffed = message.replace(/(^|\r\n)\./g, '$1..');
  return `${stuffed}${stuffed.endsWith('\r\n') ? '' : '\r\n'}.\r\n`;
}
