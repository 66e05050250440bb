/** The test message: RFC 5322 headers, CRLF line endings, dot-stuffed (RFC 5321 4.5.2), bounded size. */

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

export function buildMessage(o: MessageOptions): string {
  const headers: [string, string][] = [
    ['Date', rfc5322Date(o.date)],
    ['From', o.from],
    ['To', o.to.join(', ')],
    ['Subject', o.subject],
    ['Message-ID', `<${o.messageId}>`],
    ['X-Smtp-Probe-Id', o.probeId],
    ['Auto-Submitted', 'auto-generated'],
    ['MIME-Version', '1.0'],
    ['Content-Type', 'text/plain; charset=utf-8'],
    ['Content-Transfer-Encoding', isAscii(o.body) ? '7bit' : '8bit'],
    ...Object.entries(o.headers),
  ];
  const head = headers.map(([k, v]) => `${oneLine(k).replace(/[:\s]/g, '')}: ${oneLine(v)}`).join('\r\n');
  let body = o.body.replace(/\r?\n|\r/g, '\r\n');
  if (!body.endsWith('\r\n')) body += '\r\n';
  if (o.size !== null) body = pad(body, o.size - head.length - 2);
  return `${head}\r\n\r\n${body}`;
}

/** Fill with 76-character lines until the body is `target` bytes long (never shortens). */
function pad(body: string, target: number): string {
  const line = 'smtp-probe padding line 0123456789 abcdefghijklmnopqrstuvwxyz ABCDEFGHIJKLMNOP';
  let out = body;
  while (out.length < target) {
    const room = target - out.length - 2;
    if (room <= 0) break;
    out += `${line.slice(0, Math.min(line.length, room))}\r\n`;
  }
  return out;
}

/** The DATA payload: lines starting with "." doubled, then the terminating CRLF.CRLF. */
export function dotStuff(message: string): string {
  const stuffed = message.replace(/(^|\r\n)\./g, '$1..');
  return `${stuffed}${stuffed.endsWith('\r\n') ? '' : '\r\n'}.\r\n`;
}

export function isAscii(s: string): boolean {
  return !/[^\x00-\x7f]/.test(s);
}
