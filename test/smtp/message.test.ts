import { describe, expect, it } from 'vitest';
import libmime from 'libmime';
import { buildMessage, dotStuff, isAscii, oneLine, rfc5322Date, type MessageOptions } from '../../src/smtp/message.js';

// 2026-11-26 is a Thursday (2026-01-01 is a Thursday; 26 Nov is day 330, 329 days later, 329 = 47 × 7).
const DATE = new Date(Date.UTC(2026, 10, 26, 3, 20, 0));

function options(over: Partial<MessageOptions> = {}): MessageOptions {
  return {
    from: 'smtp-probe@probe.example.test',
    to: ['postmaster@example.test'],
    subject: 'smtp-probe test message',
    body: 'This is a test message from smtp-probe.\n',
    headers: {},
    size: null,
    messageId: '1764127200000.abc123@probe.example.test',
    probeId: 'run-7f3a',
    date: DATE,
    ...over,
  };
}

/** Split at the first empty line (RFC 5322 2.1) into header lines (unfolded) and body. */
function split(msg: string): { headers: string[]; body: string } {
  const at = msg.indexOf('\r\n\r\n');
  expect(at).toBeGreaterThan(0);
  const head = msg.slice(0, at).replace(/\r\n[ \t]/g, ' ');
  return { headers: head.split('\r\n'), body: msg.slice(at + 4) };
}

function header(msg: string, name: string): string[] {
  return split(msg)
    .headers.filter((l) => l.toLowerCase().startsWith(`${name.toLowerCase()}:`))
    .map((l) => l.slice(name.length + 1).trim());
}

const BARE_LF = /(^|[^\r])\n/;
const BARE_CR = /\r(?!\n)/;

// RFC 5322 3.3 date-time, as produced for UTC (no obsolete forms, no comments).
const RFC5322_DATE =
  /^(Mon|Tue|Wed|Thu|Fri|Sat|Sun), \d{1,2} (Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec) \d{4} \d{2}:\d{2}:\d{2} [+-]\d{4}$/;

describe('rfc5322Date', () => {
  it.each([
    { date: DATE, want: /^Thu, 26 Nov 2026 03:20:00 \+0000$/ },
    { date: new Date(Date.UTC(2026, 0, 5, 23, 59, 59)), want: /^Mon, 0?5 Jan 2026 23:59:59 \+0000$/ },
    { date: new Date(Date.UTC(2000, 1, 29, 0, 0, 0)), want: /^Tue, 29 Feb 2000 00:00:00 \+0000$/ },
  ])('$date', ({ date, want }) => {
    const s = rfc5322Date(date);
    expect(s).toMatch(RFC5322_DATE);
    expect(s).toMatch(want);
  });
});

describe('buildMessage headers', () => {
  const msg = buildMessage(options());

  it.each([
    ['Date', /^Thu, 26 Nov 2026 03:20:00 \+0000$/],
    ['From', /^smtp-probe@probe\.example\.test$/],
    ['To', /^postmaster@example\.test$/],
    ['Subject', /^smtp-probe test message$/],
    ['Message-ID', /^<1764127200000\.abc123@probe\.example\.test>$/],
    ['X-Smtp-Probe-Id', /^run-7f3a$/],
    ['Auto-Submitted', /^auto-generated$/],
    ['MIME-Version', /^1\.0$/],
    ['Content-Type', /^text\/plain; charset=utf-8$/i],
    ['Content-Transfer-Encoding', /^7bit$/],
  ])('has exactly one %s header matching %s', (name, pattern) => {
    const values = header(msg, name);
    expect(values).toHaveLength(1);
    expect(values[0]).toMatch(pattern);
  });

  it('Date is RFC 5322 date-time', () => {
    expect(header(msg, 'Date')[0]).toMatch(RFC5322_DATE);
  });

  it('Message-ID is a single msg-id in angle brackets', () => {
    expect(header(msg, 'Message-ID')[0]).toMatch(/^<[^<>\s@]+@[^<>\s@]+>$/);
  });

  it('joins several recipients in To', () => {
    const m = buildMessage(options({ to: ['a@example.test', 'b@example.test'] }));
    expect(header(m, 'To')).toEqual(['a@example.test, b@example.test']);
  });

  it('adds custom headers', () => {
    const m = buildMessage(options({ headers: { 'X-Probe-Target': 'mx1', 'X-Env': 'prod' } }));
    expect(header(m, 'X-Probe-Target')).toEqual(['mx1']);
    expect(header(m, 'X-Env')).toEqual(['prod']);
  });

  it('every header line is "Name: value" with a printable ASCII field name (RFC 5322 2.2)', () => {
    for (const line of split(msg).headers) expect(line).toMatch(/^[\x21-\x39\x3b-\x7e]+: /);
  });
});

describe('buildMessage line endings', () => {
  it.each([
    { name: 'LF body', body: 'line one\nline two\n' },
    { name: 'CR body', body: 'line one\rline two\r' },
    { name: 'mixed body', body: 'a\r\nb\nc\rd\n\re' },
    { name: 'no trailing newline', body: 'just one line' },
    { name: 'empty body', body: '' },
  ])('CRLF everywhere: $name', ({ body }) => {
    const m = buildMessage(options({ body, headers: { 'X-A': 'b' } }));
    expect(m).not.toMatch(BARE_LF);
    expect(m).not.toMatch(BARE_CR);
    expect(m.endsWith('\r\n')).toBe(true);
  });

  it('keeps the body lines in order', () => {
    const { body } = split(buildMessage(options({ body: 'a\nb\r\nc\rd' })));
    expect(body).toBe('a\r\nb\r\nc\r\nd\r\n');
  });

  it('separates the header from the body with exactly one empty line', () => {
    const m = buildMessage(options({ body: 'first body line\n' }));
    expect(m).toContain('\r\n\r\nfirst body line\r\n');
    expect(m.indexOf('\r\n\r\n')).toBe(m.indexOf('\r\n\r\nfirst body line'));
  });
});

describe('buildMessage header injection', () => {
  const attacks = ['hi\r\nBcc: victim@example.test', 'hi\nBcc: victim@example.test', 'hi\rBcc: victim@example.test', 'hi\r\n\r\nbody'];

  it.each(attacks)('subject %j stays on one header line', (subject) => {
    const m = buildMessage(options({ subject }));
    const { headers } = split(m);
    expect(headers.some((l) => /^bcc:/i.test(l))).toBe(false);
    expect(header(m, 'Subject')).toHaveLength(1);
    expect(header(m, 'Subject')[0]).toContain('hi');
    expect(m).not.toMatch(BARE_LF);
    expect(m).not.toMatch(BARE_CR);
    // The header block still ends with buildMessage's own last header: nothing moved into the body.
    expect(header(m, 'Content-Transfer-Encoding')).toHaveLength(1);
    expect(split(m).body).toBe('This is a test message from smtp-probe.\r\n');
  });

  it.each(attacks)('custom header value %j stays on one line', (value) => {
    const m = buildMessage(options({ headers: { 'X-Note': value } }));
    expect(split(m).headers.some((l) => /^bcc:/i.test(l))).toBe(false);
    expect(header(m, 'X-Note')).toHaveLength(1);
    expect(m).not.toMatch(BARE_LF);
    expect(m).not.toMatch(BARE_CR);
  });

  it('a custom header name cannot carry a line break or a colon', () => {
    const m = buildMessage(options({ headers: { 'X-A\r\nBcc': 'victim@example.test', 'X-B: evil': 'v' } }));
    const { headers } = split(m);
    expect(headers.some((l) => /^bcc:/i.test(l))).toBe(false);
    expect(m).not.toMatch(BARE_LF);
    expect(m).not.toMatch(BARE_CR);
    for (const line of headers) expect(line).toMatch(/^[\x21-\x39\x3b-\x7e]+: /);
  });

  it('from and to cannot inject headers either', () => {
    const m = buildMessage(options({ from: 'a@example.test\r\nBcc: x@example.test', to: ['b@example.test\nBcc: y@example.test'] }));
    expect(split(m).headers.some((l) => /^bcc:/i.test(l))).toBe(false);
  });
});

describe('oneLine', () => {
  it.each([
    ['plain', 'plain'],
    ['a\r\nb', 'a b'],
    ['a\nb', 'a b'],
    ['a\rb', 'a b'],
    ['a\r\n\r\nb', 'a b'],
  ])('%j → %j', (input, want) => {
    expect(oneLine(input)).toBe(want);
  });
});

describe('dotStuff (RFC 5321 4.5.2)', () => {
  it.each([
    { name: 'no dots', input: 'a\r\nb\r\n', want: 'a\r\nb\r\n.\r\n' },
    { name: 'leading dot on the first line', input: '.hidden\r\n', want: '..hidden\r\n.\r\n' },
    { name: 'a line that is only a dot', input: 'a\r\n.\r\nb\r\n', want: 'a\r\n..\r\nb\r\n.\r\n' },
    { name: 'consecutive dot lines', input: '.\r\n.\r\n.\r\n', want: '..\r\n..\r\n..\r\n.\r\n' },
    { name: 'two leading dots', input: '..x\r\n', want: '...x\r\n.\r\n' },
    { name: 'dots not at line start untouched', input: 'a.b\r\nc .\r\n', want: 'a.b\r\nc .\r\n.\r\n' },
    { name: 'no trailing CRLF', input: 'last line', want: 'last line\r\n.\r\n' },
    { name: 'last line a dot, no trailing CRLF', input: 'a\r\n.', want: 'a\r\n..\r\n.\r\n' },
    { name: 'empty', input: '', want: '\r\n.\r\n' },
  ])('$name', ({ input, want }) => {
    expect(dotStuff(input)).toBe(want);
  });

  it('a built message with dot lines ends in CRLF.CRLF exactly once', () => {
    const msg = buildMessage(options({ body: '.\nQUIT\n.\r\nMAIL FROM:<x@example.test>\n..\n.' }));
    const data = dotStuff(msg);
    expect(data.endsWith('\r\n.\r\n')).toBe(true);
    expect(data.indexOf('\r\n.\r\n')).toBe(data.length - 5);
    // Un-stuffing (RFC 5321 4.5.2, receiver side) gives back the message.
    const unstuffed = data
      .slice(0, -3)
      .split('\r\n')
      .map((l) => (l.startsWith('.') ? l.slice(1) : l))
      .join('\r\n');
    expect(unstuffed).toBe(msg);
  });
});

describe('buildMessage size padding', () => {
  it.each([2_000, 10_000, 100_000, 1_000_000])('pads to about %i bytes', (size) => {
    const m = buildMessage(options({ size }));
    const bytes = Buffer.byteLength(m, 'utf8');
    expect(Math.abs(bytes - size)).toBeLessThanOrEqual(Math.max(100, size * 0.01));
    expect(m).not.toMatch(BARE_LF);
    expect(m).not.toMatch(BARE_CR);
    for (const line of m.split('\r\n')) expect(line.length).toBeLessThanOrEqual(998);
  });

  it('keeps the original body at the start of the padded body', () => {
    const { body } = split(buildMessage(options({ body: 'ORIGINAL BODY\n', size: 5_000 })));
    expect(body.startsWith('ORIGINAL BODY\r\n')).toBe(true);
  });

  it('never shortens a message bigger than the requested size', () => {
    const big = 'x'.repeat(70).concat('\n').repeat(100);
    const m = buildMessage(options({ body: big, size: 100 }));
    expect(split(m).body).toBe(big.replace(/\n/g, '\r\n'));
  });

  it('pads a non-ASCII body to about the requested size in bytes', () => {
    const body = 'Grüße aus Köln — ✓ 日本語\n'.repeat(200);
    const size = 20_000;
    const bytes = Buffer.byteLength(buildMessage(options({ body, size })), 'utf8');
    expect(Math.abs(bytes - size)).toBeLessThanOrEqual(Math.max(100, size * 0.01));
  });

  it('no padding when size is null', () => {
    const { body } = split(buildMessage(options({ body: 'short\n', size: null })));
    expect(body).toBe('short\r\n');
  });
});

describe('buildMessage content transfer encoding', () => {
  it.each([
    { body: 'plain ascii\n', want: '7bit' },
    { body: 'Grüße\n', want: 'quoted-printable' },
    { body: 'emoji 🚀\n', want: 'quoted-printable' },
    { body: 'DEL \x7f is still ascii\n', want: '7bit' },
  ])('$body → $want', ({ body, want }) => {
    expect(header(buildMessage(options({ body })), 'Content-Transfer-Encoding')).toEqual([want]);
  });

  it('a quoted-printable body decodes back to the UTF-8 text (RFC 2045 6.7)', () => {
    const text = `Grüße 🚀 = ${'x'.repeat(100)}`;
    const m = buildMessage(options({ body: `${text}\n` }));
    const body = m.slice(m.indexOf('\r\n\r\n') + 4);
    const decoded = Buffer.from(
      body.replace(/=\r\n/g, '').replace(/=([0-9A-F]{2})/g, (_, h: string) => String.fromCharCode(parseInt(h, 16))),
      'latin1',
    ).toString('utf8');
    expect(decoded).toBe(`${text}\r\n`);
    for (const line of body.split('\r\n')) expect(line.length).toBeLessThanOrEqual(76);
  });

  it.each([
    ['abc', true],
    ['\x00\x7f', true],
    ['\x80', false],
    ['é', false],
    ['', true],
  ])('isAscii(%j) → %s', (s, want) => {
    expect(isAscii(s)).toBe(want);
  });
});

describe('buildMessage line length (RFC 5322 2.1.1: at most 998 characters per line)', () => {
  it('a very long body line is broken up', () => {
    const m = buildMessage(options({ body: `${'word '.repeat(1000)}\n` }));
    for (const line of m.split('\r\n')) expect(line.length).toBeLessThanOrEqual(998);
  });

  it('a very long subject is folded', () => {
    const m = buildMessage(options({ subject: 'word '.repeat(400) }));
    for (const line of m.split('\r\n')) expect(line.length).toBeLessThanOrEqual(998);
    expect(header(m, 'Subject')[0]?.replace(/\s+/g, ' ').trim()).toBe('word '.repeat(400).trim());
  });
});

describe('buildMessage header encoding', () => {
  it('keeps the header section US-ASCII when the subject is not (RFC 5322 2.2 / RFC 2047)', () => {
    const m = buildMessage(options({ subject: 'Prüfung ✓' }));
    const head = m.slice(0, m.indexOf('\r\n\r\n'));
    expect(isAscii(head)).toBe(true);
  });
});

describe('buildMessage header folding and encoded words (RFC 5322 2.2.3, RFC 2047)', () => {
  /** The unfolded value of the one `name` field, its encoded words decoded (RFC 2047 6). */
  function decoded(msg: string, name: string): string {
    const values = header(msg, name);
    expect(values).toHaveLength(1);
    return libmime.decodeWords(values[0]!);
  }

  it.each([
    { name: 'short non-ASCII', value: 'Prüfung ✓' },
    { name: 'ASCII around non-ASCII', value: 'smtp-probe: Grüße aus Köln, all fine' },
    { name: 'long non-ASCII', value: 'Grüße aus Köln — ✓ 日本語 🚀 '.repeat(20).trim() },
  ])('$name: header lines within 78 characters, decoding gives the value back', ({ value }) => {
    const m = buildMessage(options({ subject: value, headers: { 'X-Note': value } }));
    const head = m.slice(0, m.indexOf('\r\n\r\n'));
    expect(isAscii(head)).toBe(true);
    for (const line of head.split('\r\n')) expect(line.length).toBeLessThanOrEqual(78);
    expect(decoded(m, 'Subject')).toBe(value);
    expect(decoded(m, 'X-Note')).toBe(value);
  });

  it('a word longer than a line is carried whole (encoded words, no space put into it), lines within 998', () => {
    const token = 'x'.repeat(2_000);
    const m = buildMessage(options({ headers: { 'X-Token': token } }));
    for (const line of m.split('\r\n')) expect(line.length).toBeLessThanOrEqual(998);
    expect(decoded(m, 'X-Token')).toBe(token);
  });

  it('a padded quoted-printable body keeps every line within 76 characters (RFC 2045 6.7 (5))', () => {
    const m = buildMessage(options({ body: 'Grüße\n', size: 5_000 }));
    expect(header(m, 'Content-Transfer-Encoding')).toEqual(['quoted-printable']);
    for (const line of split(m).body.split('\r\n')) {
      expect(line.length).toBeLessThanOrEqual(76);
      expect(line).not.toMatch(/[ \t]$/); // RFC 2045 6.7 (3): no literal white space ends an encoded line
    }
  });
});
