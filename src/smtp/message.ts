/**
 * The test message: RFC 5322 headers, CRLF line endings, lines within 998 octets, non-ASCII header text as RFC 2047
 * encoded words and a quoted-printable body when plain 7bit will not do; dot-stuffed (RFC 5321 4.5.2).
 */

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

/** `Name: value`, non-ASCII as encoded words, folded at whitespace so no line passes 78 characters where avoidable. */
export function headerLine(name: string, value: string): string {
  const v = oneLine(value);
  if (!isAscii(v)) return `${name}: ${encodedWords(v)}`;
  if (name.length + 2 + v.length <= FOLD_AT) return `${name}: ${v}`;
  const words = v.split(' ');
  const lines: string[] = [];
  let line = `${name}:`;
  for (const w of words) {
    if (line.length + 1 + w.length > FOLD_AT && line.trim().length > name.length + 1) {
      lines.push(line);
      line = '';
    }
    line += ` ${w}`;
  }
  lines.push(line);
  return lines.map((l) => hardWrap(l)).join('\r\n');
}

/** A folded line that still has no whitespace to break at is cut (continuation lines start with a space). */
function hardWrap(line: string): string {
  if (line.length <= MAX_LINE) return line;
  const parts: string[] = [];
  for (let i = 0; i < line.length; i += MAX_LINE - 1) parts.push(line.slice(i, i + MAX_LINE - 1));
  return parts.join('\r\n ');
}

/** RFC 2047 B-encoded words of at most 75 characters, never splitting a UTF-8 sequence. */
function encodedWords(value: string): string {
  const words: string[] = [];
  let chunk = '';
  const maxBytes = 45; // base64 of 45 bytes is 60 characters: with "=?utf-8?B?" and "?=" 72
  for (const ch of value) {
    if (Buffer.byteLength(chunk + ch) > maxBytes) {
      words.push(chunk);
      chunk = '';
    }
    chunk += ch;
  }
  if (chunk) words.push(chunk);
  return words.map((w) => `=?utf-8?B?${Buffer.from(w, 'utf8').toString('base64')}?=`).join('\r\n ');
}

/** RFC 2045 6.7 quoted-printable: UTF-8 bytes, soft line breaks keep every line within 76 characters. */
export function quotedPrintable(text: string): string {
  return text
    .split('\r\n')
    .map((line) => {
      const bytes = Buffer.from(line, 'utf8');
      let out = '';
      let width = 0;
      bytes.forEach((b, i) => {
        const last = i === bytes.length - 1;
        const literal = (b >= 33 && b <= 126 && b !== 61) || ((b === 32 || b === 9) && !last);
        const enc = literal ? String.fromCharCode(b) : `=${b.toString(16).toUpperCase().padStart(2, '0')}`;
        if (width + enc.length > 75) {
          out += '=\r\n';
          width = 0;
        }
        out += enc;
        width += enc.length;
      });
      return out;
    })
    .join('\r\n');
}

/** Fill with 76-character lines until the body is `target` bytes long (never shortens). */
function pad(body: string, target: number): string {
  const line = 'smtp-probe padding line 0123456789 abcdefghijklmnopqrstuvwxyz ABCDEFGHIJKLMNOP';
  const parts = [body];
  let size = Buffer.byteLength(body);
  while (size < target) {
    const room = target - size - 2;
    if (room <= 0) break;
    const piece = line.slice(0, Math.min(line.length, room));
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
