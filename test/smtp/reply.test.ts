import { describe, expect, it } from 'vitest';
import {
  DEFAULT_LIMITS,
  ReplyParser,
  ReplyProtocolError,
  parseEnhancedCode,
  type ReplyLimits,
} from '../../src/smtp/reply.js';
import { quoteBytes } from '../../src/core/bytes.js';
import { replyLines, replyText, type SmtpReply } from '../../src/core/reply.js';

const b = (s: string): Buffer => Buffer.from(s, 'latin1');

/** Feed the chunks in order and collect every reply they complete. */
function feed(chunks: (string | Buffer)[], limits?: ReplyLimits): { replies: SmtpReply[]; parser: ReplyParser } {
  const parser = new ReplyParser(limits);
  const replies: SmtpReply[] = [];
  for (const c of chunks) replies.push(...parser.push(typeof c === 'string' ? b(c) : c));
  return { replies, parser };
}

function parseAll(input: string, limits?: ReplyLimits): SmtpReply[] {
  return feed([input], limits).replies;
}

/** The error thrown when `input` is pushed, or a test failure when nothing is thrown. */
function errorFor(chunks: (string | Buffer)[], limits?: ReplyLimits): ReplyProtocolError {
  try {
    feed(chunks, limits);
  } catch (e) {
    expect(e).toBeInstanceOf(ReplyProtocolError);
    return e as ReplyProtocolError;
  }
  throw new Error(`expected a ReplyProtocolError for ${JSON.stringify(chunks.join(''))}`);
}

const EHLO_MULTI =
  '250-mail.example.test Hello client.example.test [192.0.2.7]\r\n' +
  '250-PIPELINING\r\n' +
  '250-SIZE 10240000\r\n' +
  '250-STARTTLS\r\n' +
  '250-AUTH PLAIN LOGIN\r\n' +
  '250-ENHANCEDSTATUSCODES\r\n' +
  '250 8BITMIME\r\n';

const EHLO_MULTI_EXPECTED: SmtpReply = {
  code: 250,
  enhancedCode: null,
  lines: [
    'mail.example.test Hello client.example.test [192.0.2.7]',
    'PIPELINING',
    'SIZE 10240000',
    'STARTTLS',
    'AUTH PLAIN LOGIN',
    'ENHANCEDSTATUSCODES',
    '8BITMIME',
  ],
};

describe('ReplyParser: complete replies', () => {
  const cases: { name: string; input: string; want: SmtpReply[] }[] = [
    {
      name: 'single-line banner',
      input: '220 mail.example.test ESMTP Postfix\r\n',
      want: [{ code: 220, enhancedCode: null, lines: ['mail.example.test ESMTP Postfix'] }],
    },
    {
      name: 'single line with enhanced code',
      input: '250 2.1.0 Ok\r\n',
      want: [{ code: 250, enhancedCode: '2.1.0', lines: ['2.1.0 Ok'] }],
    },
    {
      name: 'code alone, no text (RFC 5321 4.2: textstring is optional)',
      input: '250\r\n',
      want: [{ code: 250, enhancedCode: null, lines: [''] }],
    },
    {
      name: 'code and a space, no text',
      input: '354 \r\n',
      want: [{ code: 354, enhancedCode: null, lines: [''] }],
    },
    { name: 'multiline EHLO', input: EHLO_MULTI, want: [EHLO_MULTI_EXPECTED] },
    {
      name: 'multiline with enhanced code on the first line',
      input: '550-5.7.1 Relaying denied\r\n550-5.7.1 see https://example.test/relay\r\n550 5.7.1 bye\r\n',
      want: [
        {
          code: 550,
          enhancedCode: '5.7.1',
          lines: ['5.7.1 Relaying denied', '5.7.1 see https://example.test/relay', '5.7.1 bye'],
        },
      ],
    },
    {
      name: 'continuation line with no text',
      input: '250-\r\n250 done\r\n',
      want: [{ code: 250, enhancedCode: null, lines: ['', 'done'] }],
    },
    {
      name: 'several replies in one chunk',
      input: '250 2.1.0 Ok\r\n250 2.1.5 Ok\r\n354 End data with <CR><LF>.<CR><LF>\r\n',
      want: [
        { code: 250, enhancedCode: '2.1.0', lines: ['2.1.0 Ok'] },
        { code: 250, enhancedCode: '2.1.5', lines: ['2.1.5 Ok'] },
        { code: 354, enhancedCode: null, lines: ['End data with <CR><LF>.<CR><LF>'] },
      ],
    },
    {
      name: 'a multiline and a single-line reply back to back',
      input: `${EHLO_MULTI}221 2.0.0 Bye\r\n`,
      want: [EHLO_MULTI_EXPECTED, { code: 221, enhancedCode: '2.0.0', lines: ['2.0.0 Bye'] }],
    },
    {
      name: 'UTF-8 text is decoded',
      input: '250 caf\u00c3\u00a9 ok\r\n', // the UTF-8 bytes of "café" written as latin1 code units
      want: [{ code: 250, enhancedCode: null, lines: ['café ok'] }],
    },
    {
      name: 'every valid first digit 2..5 and second digit 0..5',
      input: '211 a\r\n334 VXNlcm5hbWU6\r\n421 4.3.2 busy\r\n559 x\r\n',
      want: [
        { code: 211, enhancedCode: null, lines: ['a'] },
        { code: 334, enhancedCode: null, lines: ['VXNlcm5hbWU6'] },
        { code: 421, enhancedCode: '4.3.2', lines: ['4.3.2 busy'] },
        { code: 559, enhancedCode: null, lines: ['x'] },
      ],
    },
  ];

  it.each(cases)('$name', ({ input, want }) => {
    const { replies, parser } = feed([input]);
    expect(replies).toEqual(want);
    expect(parser.sawBareLf).toBe(false);
    expect(parser.strayBlankLines).toBe(0);
    expect(parser.bufferedBytes).toBe(0);
  });

  it('returns nothing until the final line arrives, and holds the partial reply', () => {
    const parser = new ReplyParser();
    expect(parser.push(b('250-PIPELINING\r\n250-SIZE 100\r\n'))).toEqual([]);
    expect(parser.bufferedBytes).toBeGreaterThan(0);
    expect(parser.push(b('250 OK'))).toEqual([]);
    expect(parser.push(b('\r\n'))).toEqual([{ code: 250, enhancedCode: null, lines: ['PIPELINING', 'SIZE 100', 'OK'] }]);
    expect(parser.bufferedBytes).toBe(0);
  });
});

describe('ReplyParser: replies split across chunks', () => {
  const inputs = [
    EHLO_MULTI,
    '250 2.1.0 Ok\r\n',
    '220 banner\r\n\r\n250-a\r\n250 b\r\n',
    '550-5.7.1 one\r\n550 5.7.1 two\r\n221 2.0.0 bye\r\n',
    '250 caf\u00c3\u00a9\r\n', // a multi-byte UTF-8 character may be split between its bytes
  ];

  it.each(inputs)('one byte at a time gives the same result: %j', (input) => {
    const whole = feed([input]);
    const bytes = b(input);
    const chunks: Buffer[] = [];
    for (let i = 0; i < bytes.length; i++) chunks.push(bytes.subarray(i, i + 1));
    const split = feed(chunks);
    expect(split.replies).toEqual(whole.replies);
    expect(split.parser.sawBareLf).toBe(false);
    expect(split.parser.strayBlankLines).toBe(whole.parser.strayBlankLines);
  });

  it.each(inputs)('every 2-chunk split gives the same result: %j', (input) => {
    const whole = feed([input]).replies;
    expect(whole.length).toBeGreaterThan(0);
    const bytes = b(input);
    for (let i = 0; i <= bytes.length; i++) {
      const { replies, parser } = feed([bytes.subarray(0, i), bytes.subarray(i)]);
      expect(replies, `split at ${i}`).toEqual(whole);
      expect(parser.sawBareLf, `split at ${i}`).toBe(false);
    }
  });

  it('a CRLF split between two chunks is not a bare LF', () => {
    const { replies, parser } = feed(['250 ok\r', '\n']);
    expect(replies).toEqual([{ code: 250, enhancedCode: null, lines: ['ok'] }]);
    expect(parser.sawBareLf).toBe(false);
  });

  it('copies what it keeps: the caller may reuse its chunk buffer', () => {
    // Not every source hands out fresh buffers; a held partial line must not change when the chunk is overwritten.
    const parser = new ReplyParser();
    const chunk = b('250 hello');
    parser.push(chunk);
    chunk.fill(0x21);
    expect(parser.push(b('\r\n'))).toEqual([{ code: 250, enhancedCode: null, lines: ['hello'] }]);
  });
});

describe('ReplyParser: line endings and blank lines', () => {
  it('accepts a bare LF and flags it', () => {
    const { replies, parser } = feed(['250-a\n250 b\n']);
    expect(replies).toEqual([{ code: 250, enhancedCode: null, lines: ['a', 'b'] }]);
    expect(parser.sawBareLf).toBe(true);
  });

  it('flags a bare LF even when only one line of many has it', () => {
    const { replies, parser } = feed(['250-a\r\n250-b\n250 c\r\n']);
    expect(replies).toEqual([{ code: 250, enhancedCode: null, lines: ['a', 'b', 'c'] }]);
    expect(parser.sawBareLf).toBe(true);
  });

  it('skips and counts stray blank lines between replies', () => {
    const { replies, parser } = feed(['\r\n220 hi\r\n\r\n\n250 ok\r\n']);
    expect(replies.map((r) => r.code)).toEqual([220, 250]);
    expect(parser.strayBlankLines).toBe(3);
  });

  it('rejects a blank line inside a multiline reply', () => {
    const err = errorFor(['250-a\r\n\r\n250 b\r\n']);
    expect(err.message).toMatch(/blank/i);
  });

  it('rejects a code change in the middle of a multiline reply', () => {
    const err = errorFor(['250-a\r\n251 b\r\n']);
    expect(err.message).toContain('250');
    expect(err.message).toContain('251');
  });

  it('rejects a code change even when the class stays the same and the line is a continuation', () => {
    errorFor(['250-a\r\n252-b\r\n250 c\r\n']);
  });
});

describe('ReplyParser: bytes that are not SMTP', () => {
  const notSmtp = [
    'SSH-2.0-OpenSSH_9.6\r\n',
    'HTTP/1.1 400 Bad Request\r\n',
    'abc\r\n',
    '199 x\r\n',
    '600 x\r\n',
    '2x0 x\r\n',
    '250x\r\n',
    '260 x\r\n', // second digit must be 0-5 (RFC 5321 4.2)
    '25\r\n',
    '-250 x\r\n',
    ' 250 x\r\n',
    '250\tx\r\n',
    '\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03\r\n', // a TLS ClientHello-ish record
  ];

  it.each(notSmtp)('rejects %j with ReplyProtocolError', (input) => {
    const err = errorFor([input]);
    expect(err.name).toBe('ReplyProtocolError');
    expect(err).toBeInstanceOf(Error);
  });

  it.each(notSmtp)('rejects %j fed one byte at a time', (input) => {
    const bytes = b(input);
    errorFor([...bytes].map((x) => Buffer.from([x])));
  });

  it('quotes the offending bytes in the message', () => {
    const err = errorFor(['SSH-2.0-OpenSSH_9.6\r\n']);
    expect(err.message).toContain('SSH-2.0-OpenSSH_9.6');
  });

  it('escapes control bytes in the message', () => {
    const err = errorFor(['\x1b[31mEVIL\x00\x07\rLINE\r\n']);
    expect(err.message).toContain('\\x1b');
    expect(err.message).toContain('\\x00');
    expect(err.message).toContain('\\x07');
    expect(err.message).toContain('\\r');
    // eslint-disable-next-line no-control-regex
    expect(err.message).not.toMatch(/[\x00-\x08\x0a-\x1f\x7f]/);
  });

  it('truncates a long offending line in the message', () => {
    const junk = `NOT SMTP ${'A'.repeat(3000)}END-MARKER`;
    const err = errorFor([`${junk}\r\n`]);
    expect(err.message).toContain('NOT SMTP');
    expect(err.message).not.toContain('END-MARKER');
    expect(err.message.length).toBeLessThan(300);
  });

  it('escapes control bytes in the code-change message too', () => {
    const err = errorFor(['250-a\r\n251 \x1b]0;pwned\x07\r\n']);
    // eslint-disable-next-line no-control-regex
    expect(err.message).not.toMatch(/[\x00-\x08\x0a-\x1f\x7f]/);
  });
});

describe('ReplyParser: limits', () => {
  const small: ReplyLimits = { maxLineBytes: 64, maxLines: 5 };

  it('accepts a line of exactly maxLineBytes', () => {
    const line = `250 ${'x'.repeat(small.maxLineBytes - 4)}`;
    expect(line.length).toBe(small.maxLineBytes);
    expect(parseAll(`${line}\r\n`, small)).toHaveLength(1);
  });

  it('accepts a line of exactly maxLineBytes in every 2-chunk split (the limit excludes the CRLF)', () => {
    const input = b(`250 ${'x'.repeat(small.maxLineBytes - 4)}\r\n`);
    for (let i = 0; i <= input.length; i++) {
      const { replies } = feed([input.subarray(0, i), input.subarray(i)], small);
      expect(replies, `split at ${i}`).toHaveLength(1);
    }
  });

  it('rejects a line of maxLineBytes + 1', () => {
    const err = errorFor([`250 ${'x'.repeat(small.maxLineBytes - 3)}\r\n`], small);
    expect(err.message).toMatch(/longer than 64/);
  });

  it('rejects an over-long line that arrives without a newline', () => {
    errorFor([`250 ${'x'.repeat(small.maxLineBytes)}`], small);
  });

  it('rejects an over-long line that trickles in one byte at a time, as soon as it passes the limit', () => {
    const parser = new ReplyParser(small);
    let fed = 0;
    expect(() => {
      for (;;) {
        parser.push(b(fed === 0 ? '2' : 'x'));
        fed += 1;
        expect(parser.bufferedBytes).toBeLessThanOrEqual(small.maxLineBytes + 1);
        if (fed > 10_000) break;
      }
    }).toThrow(ReplyProtocolError);
    expect(fed).toBeLessThanOrEqual(small.maxLineBytes + 1);
  });

  it.each([
    { name: 'default limits', limits: DEFAULT_LIMITS },
    { name: 'a limit above the chunk size', limits: { maxLineBytes: 200_000, maxLines: 512 } },
  ])('10 MB without a newline in 64 KiB chunks throws early and stays bounded ($name)', ({ limits }) => {
    const total = 10 * 1024 * 1024;
    const chunkSize = 64 * 1024;
    const chunk = Buffer.alloc(chunkSize, 0x61);
    chunk.write('250 ', 0, 'latin1');
    const parser = new ReplyParser(limits);
    let consumed = 0;
    let thrown: unknown = null;
    while (consumed < total) {
      try {
        parser.push(consumed === 0 ? chunk : Buffer.alloc(chunkSize, 0x61));
      } catch (e) {
        thrown = e;
        break;
      }
      consumed += chunkSize;
      expect(parser.bufferedBytes).toBeLessThanOrEqual(limits.maxLineBytes);
    }
    expect(thrown).toBeInstanceOf(ReplyProtocolError);
    expect(consumed).toBeLessThan(total);
    expect(consumed).toBeLessThanOrEqual(limits.maxLineBytes + chunkSize);
  });

  it('10 MB of continuation lines in 64 KiB chunks throws early and stays bounded', () => {
    const line = `250-${'y'.repeat(1000)}\r\n`;
    const flood = b(line.repeat(Math.ceil((10 * 1024 * 1024) / line.length)));
    const parser = new ReplyParser();
    const bound = DEFAULT_LIMITS.maxLines * (DEFAULT_LIMITS.maxLineBytes + 8) + DEFAULT_LIMITS.maxLineBytes;
    let consumed = 0;
    let thrown: unknown = null;
    for (let off = 0; off < flood.length; off += 64 * 1024) {
      try {
        parser.push(flood.subarray(off, off + 64 * 1024));
      } catch (e) {
        thrown = e;
        break;
      }
      consumed += 64 * 1024;
      expect(parser.bufferedBytes).toBeLessThanOrEqual(bound);
    }
    expect(thrown).toBeInstanceOf(ReplyProtocolError);
    expect((thrown as Error).message).toMatch(/lines/);
    expect(consumed).toBeLessThan(flood.length);
  });

  it('accepts a reply of exactly maxLines lines and rejects one more', () => {
    const reply = (n: number): string =>
      Array.from({ length: n }, (_, i) => `250${i === n - 1 ? ' ' : '-'}line${i}\r\n`).join('');
    expect(parseAll(reply(small.maxLines), small)[0]?.lines).toHaveLength(small.maxLines);
    expect(errorFor([reply(small.maxLines + 1)], small).message).toMatch(/lines/);
  });

  it('rejects a reply of 10,000 lines with the default limits', () => {
    const lines = Array.from({ length: 10_000 }, (_, i) => `250-X${i}\r\n`).join('');
    errorFor([`${lines}250 end\r\n`]);
  });
});

describe('ReplyParser.reset', () => {
  it('drops a held partial line', () => {
    const parser = new ReplyParser();
    parser.push(b('250 injected-before-tls'));
    expect(parser.bufferedBytes).toBeGreaterThan(0);
    parser.reset();
    expect(parser.bufferedBytes).toBe(0);
    expect(parser.push(b('220 2.0.0 Ready\r\n'))).toEqual([
      { code: 220, enhancedCode: '2.0.0', lines: ['2.0.0 Ready'] },
    ]);
  });

  it('drops held lines of an unfinished multiline reply, so a different code may follow', () => {
    const parser = new ReplyParser();
    parser.push(b('250-PIPELINING\r\n250-STARTTLS\r\n'));
    parser.reset();
    expect(parser.bufferedBytes).toBe(0);
    expect(parser.push(b('220 go ahead\r\n'))).toEqual([{ code: 220, enhancedCode: null, lines: ['go ahead'] }]);
  });
});

describe('parseEnhancedCode', () => {
  it.each([
    { code: 250, text: '2.1.0 Ok', want: '2.1.0' },
    { code: 550, text: '5.1.1 <x@example.test>: Recipient address rejected', want: '5.1.1' },
    { code: 452, text: '4.5.3 Too many recipients', want: '4.5.3' },
    { code: 535, text: '5.7.8 Error: authentication failed', want: '5.7.8' },
    { code: 250, text: '2.0.0', want: '2.0.0' },
    { code: 554, text: '5.123.456 three digits each', want: '5.123.456' },
    { code: 550, text: '2.1.0 Ok', want: null }, // class must match the reply code
    { code: 250, text: '5.1.0 Ok', want: null },
    { code: 250, text: 'Ok', want: null },
    { code: 250, text: '', want: null },
    { code: 250, text: '3.1.0 Ok', want: null }, // RFC 3463: class is 2, 4 or 5
    { code: 250, text: '2.1 Ok', want: null },
    { code: 250, text: '2.1.0.3 Ok', want: null },
    { code: 250, text: '2.1.0000 Ok', want: null },
    { code: 250, text: '2.1234.0 Ok', want: null },
    { code: 250, text: '2.1.0Ok', want: null },
    { code: 250, text: 'Ok 2.1.0', want: null },
    { code: 250, text: '2.a.0 Ok', want: null },
  ])('($code, $text) → $want', ({ code, text, want }) => {
    expect(parseEnhancedCode(code, text)).toBe(want);
  });

  it.each([
    ['250 2.1.0 Ok\r\n', '2.1.0'],
    ['550 2.1.0\r\n', null],
    ['250 Ok\r\n', null],
    ['550 5.1.1 no such user\r\n', '5.1.1'],
  ])('through the parser: %j → %s', (input, want) => {
    expect(parseAll(input)[0]?.enhancedCode).toBe(want);
  });
});

describe('replyLines and replyText', () => {
  const multi: SmtpReply = { code: 250, enhancedCode: null, lines: ['mail.example.test', 'PIPELINING', 'SIZE 100'] };

  it('replyLines rebuilds the wire lines with - and space', () => {
    expect(replyLines(multi)).toEqual(['250-mail.example.test', '250-PIPELINING', '250 SIZE 100']);
  });

  it('replyLines for a single line', () => {
    expect(replyLines({ code: 221, enhancedCode: '2.0.0', lines: ['2.0.0 Bye'] })).toEqual(['221 2.0.0 Bye']);
  });

  it('replyLines of an empty-text reply has no trailing space', () => {
    expect(replyLines({ code: 250, enhancedCode: null, lines: [''] })).toEqual(['250']);
  });

  it('replyLines round-trips through the parser', () => {
    const wire = `${replyLines(multi).join('\r\n')}\r\n`;
    expect(parseAll(wire)).toEqual([multi]);
  });

  it('replyText joins the lines on one line', () => {
    expect(replyText({ code: 535, enhancedCode: '5.7.8', lines: ['5.7.8 Error: authentication failed'] })).toBe(
      '535 5.7.8 Error: authentication failed',
    );
    expect(replyText(multi)).toBe('250 mail.example.test PIPELINING SIZE 100');
    expect(replyText({ code: 250, enhancedCode: null, lines: [''] })).toBe('250');
  });
});

describe('quoteBytes', () => {
  it.each([
    { input: 'plain text', want: 'plain text' },
    { input: 'a\r\nb', want: 'a\\r\\nb' },
    { input: 'tab\there', want: 'tab\\there' },
    { input: '\x00\x01\x1b\x7f', want: '\\x00\\x01\\x1b\\x7f' },
    { input: b('\x85\x9f'), want: '\\x85\\x9f' }, // C1 controls
    { input: b('caf\xe9'), want: 'café' }, // latin1 printable kept
  ])('$input → $want', ({ input, want }) => {
    expect(quoteBytes(input)).toBe(want);
  });

  it('caps the length and marks the cut', () => {
    const out = quoteBytes('x'.repeat(500), 20);
    expect(out.startsWith('x'.repeat(20))).toBe(true);
    // Something after the kept 20 characters shows the cut; the whole stays near the cap.
    expect(out.length).toBeGreaterThan(20);
    expect(out.length).toBeLessThanOrEqual(24);
  });

  it('does not mark a string that fits', () => {
    expect(quoteBytes('x'.repeat(20), 20)).toBe('x'.repeat(20));
  });
});

describe('ReplyParser: every split of pipelined replies (the framer keeps no state but its partial line)', () => {
  const PIPELINED =
    '250 2.1.0 Ok\r\n250-first\r\n250-caf\u00c3\u00a9\r\n250 2.1.5 last\r\n\r\n354 End data with <CR><LF>.<CR><LF>\r\n221 2.0.0 Bye\r\n';

  it('every split into three chunks gives the replies of the whole', () => {
    const whole = feed([PIPELINED]);
    expect(whole.replies.map((r) => r.code)).toEqual([250, 250, 354, 221]);
    const bytes = b(PIPELINED);
    for (let i = 0; i <= bytes.length; i++) {
      for (let j = i; j <= bytes.length; j++) {
        const { replies, parser } = feed([bytes.subarray(0, i), bytes.subarray(i, j), bytes.subarray(j)]);
        expect(replies, `split at ${i}, ${j}`).toEqual(whole.replies);
        expect(parser.sawBareLf, `split at ${i}, ${j}`).toBe(false);
        expect(parser.strayBlankLines, `split at ${i}, ${j}`).toBe(1);
        expect(parser.bufferedBytes, `split at ${i}, ${j}`).toBe(0);
      }
    }
  });

  it('a bare LF is seen at every split, also when it ends a held partial line', () => {
    const bytes = b('250-a\r\n250-b\n250 c\r\n');
    for (let i = 0; i <= bytes.length; i++) {
      const { replies, parser } = feed([bytes.subarray(0, i), bytes.subarray(i)]);
      expect(replies, `split at ${i}`).toEqual([{ code: 250, enhancedCode: null, lines: ['a', 'b', 'c'] }]);
      expect(parser.sawBareLf, `split at ${i}`).toBe(true);
    }
  });

  it('each reply has lines of its own', () => {
    const [first, second] = parseAll('250 one\r\n250 two\r\n');
    first!.lines.push('changed');
    expect(second!.lines).toEqual(['two']);
    const parser = new ReplyParser();
    const [a] = parser.push(b('250 a\r\n'));
    const [c] = parser.push(b('250 c\r\n'));
    expect(a!.lines).not.toBe(c!.lines);
    expect(c!.lines).toEqual(['c']);
  });
});

describe('ReplyParser: the limits at every split', () => {
  const small: ReplyLimits = { maxLineBytes: 20, maxLines: 3 };

  /** The error message for these bytes split at `i` (with a partial line held), or null when none is thrown. */
  function errorAt(bytes: Buffer, i: number): string | null {
    try {
      feed([bytes.subarray(0, i), bytes.subarray(i)], small);
      return null;
    } catch (e) {
      expect(e).toBeInstanceOf(ReplyProtocolError);
      return (e as Error).message;
    }
  }

  it.each([
    { name: 'one line too many', input: '250-a\r\n250-b\r\n250-c\r\n250 d\r\n', want: /longer than 3 lines/ },
    { name: 'a code change', input: '250-a\r\n251 caf\u00c3\u00a9\r\n', want: /from 250 to 251: "251 café"/ },
    { name: 'bytes that are not SMTP', input: '250 ok\r\nSSH-2.0-x\r\n', want: /not an SMTP reply: "SSH-2.0-x"/ },
  ])('$name: the same error wherever the bytes are split', ({ input, want }) => {
    const bytes = b(input);
    const whole = errorAt(bytes, bytes.length);
    expect(whole).toMatch(want);
    for (let i = 0; i <= bytes.length; i++) expect(errorAt(bytes, i), `split at ${i}`).toBe(whole);
  });

  it.each([
    { name: 'a line one byte over the limit', input: `250 ${'x'.repeat(17)}\r\n` },
    { name: 'a line over the limit after a complete reply', input: `250 ok\r\n250-${'y'.repeat(30)}\r\n` },
  ])('$name: refused at every split, quoting what has arrived of it (more than the limit)', ({ input }) => {
    const bytes = b(input);
    for (let i = 0; i <= bytes.length; i++) {
      expect(errorAt(bytes, i), `split at ${i}`).toMatch(/^reply line longer than 20 bytes: "250[ -][xy]{17,30}"$/);
    }
  });

  it('a line of exactly the limit passes at every split, its CR held apart from its LF included', () => {
    const bytes = b(`250 ${'x'.repeat(16)}\r\n250 next\r\n`);
    for (let i = 0; i <= bytes.length; i++) expect(errorAt(bytes, i), `split at ${i}`).toBeNull();
  });
});

describe('quoteBytes: text that needs no escaping comes back as it is', () => {
  it.each(['', 'x', 'mail.example.test ESMTP', 'caf\u00e9 \u2713 \u{1f600}', '~'.repeat(80)])('%j', (text) => {
    expect(quoteBytes(text)).toBe(text);
  });

  it('bytes: printable Latin-1 comes back as it is', () => {
    const bytes = Buffer.from([0x20, 0x41, 0x7e, 0xa0, 0xe9, 0xff]);
    expect(quoteBytes(bytes)).toBe(bytes.toString('latin1'));
  });

  it('the cap counts UTF-16 units and cuts between code points', () => {
    expect(quoteBytes('\u{1f600}'.repeat(3), 4)).toBe('\u{1f600}\u{1f600}…');
    expect(quoteBytes('ab\u{1f600}', 3)).toBe('ab\u{1f600}');
    expect(quoteBytes('abcd', 3)).toBe('abc…');
    expect(quoteBytes('abc', 3)).toBe('abc');
  });
});
