/** The pure parts shared by the POP3 and IMAP clients: line framing, header fields, dates, the cleanup rule. */
import { describe, expect, it } from 'vitest';
import { LineFramer, MailboxProtocolError } from '../../src/mailbox/pop3/framing.js';
import { isStaleProbe, parseMessageDate, probeFieldsOf, readHeaderFields } from '../../src/mailbox/probe-message.js';

describe('LineFramer', () => {
  it('splits on CRLF and bare LF, across chunks, a CRLF split between chunks included', () => {
    const f = new LineFramer(100);
    const out = [...f.push(Buffer.from('+OK one\r\n+OK t')), ...f.push(Buffer.from('wo\r')), ...f.push(Buffer.from('\nthree\n'))];
    expect(out.map((b) => b.toString())).toEqual(['+OK one', '+OK two', 'three']);
    expect(f.bufferedBytes).toBe(0);
  });

  it('a partial line over the limit throws at once, without waiting for its end', () => {
    const f = new LineFramer(10);
    expect(() => f.push(Buffer.from('x'.repeat(11)))).toThrow(MailboxProtocolError);
    // Exactly at the limit, plus the CR of its CRLF, is fine.
    expect(new LineFramer(10).push(Buffer.from(`${'y'.repeat(10)}\r`))).toEqual([]);
  });

  it('reset() drops the partial line and says how much it was', () => {
    const f = new LineFramer(100);
    f.push(Buffer.from('+OK\r\ninjected'));
    expect(f.reset()).toBe(8);
    expect(f.push(Buffer.from('\r\n')).map(String)).toEqual(['']);
  });
});

describe('readHeaderFields', () => {
  it('unfolds, lower-cases names, trims values, stops at the empty line', () => {
    const text = 'From: a@example.test\r\nX-Smtp-Probe-Id:\r\n  abc-123\r\nSubject: one\r\n\ttwo\r\n\r\nX-Smtp-Probe-Id: body\r\n';
    expect(readHeaderFields(text)).toEqual([
      ['from', 'a@example.test'],
      ['x-smtp-probe-id', 'abc-123'],
      ['subject', 'one\ttwo'],
    ]);
  });

  it('skips lines that are not fields (an mbox From_ line) and tolerates space before the colon', () => {
    expect(readHeaderFields('From someone Thu Nov 26\nX-Smtp-Probe-Target : mx1\n')).toEqual([['x-smtp-probe-target', 'mx1']]);
  });

  it('probeFieldsOf collects every id, target and Date, case-insensitively by name', () => {
    const f = probeFieldsOf('x-smtp-probe-id: a\r\nX-SMTP-PROBE-ID: b\r\nX-Smtp-Probe-Target: t\r\nDATE: Thu, 26 Nov 2026 03:20:00 +0000\r\n\r\n');
    expect(f).toEqual({ ids: ['a', 'b'], targets: ['t'], dates: ['Thu, 26 Nov 2026 03:20:00 +0000'] });
  });
});

describe('parseMessageDate', () => {
  it.each([
    ['Thu, 26 Nov 2026 03:20:00 +0000', '2026-11-26T03:20:00.000Z'],
    ['26 Nov 2026 03:20:00 +0100', '2026-11-26T02:20:00.000Z'],
    ['Wed, 25 Nov 2026 22:20 -0500', '2026-11-26T03:20:00.000Z'],
    ['Thu, 26 Nov 2026 03:20:00 GMT', '2026-11-26T03:20:00.000Z'],
    ['Wed, 25 Nov 2026 22:20:00 EST', '2026-11-26T03:20:00.000Z'],
    ['Thu, 26 Nov 2026 03:20:00 +0000 (UTC)', '2026-11-26T03:20:00.000Z'],
    ['Thu,  26  Nov  2026  03 : 20 : 00  +0000', '2026-11-26T03:20:00.000Z'],
    ['Thu, 26 Nov 26 03:20:00 +0000', '2026-11-26T03:20:00.000Z'],
    ['Fri, 26 Nov 99 03:20:00 +0000', '1999-11-26T03:20:00.000Z'],
    ['Thu, 26 Nov 2026 03:20:00 Q', '2026-11-26T03:20:00.000Z'],
  ])('%s', (text, iso) => {
    expect(new Date(parseMessageDate(text)!).toISOString()).toBe(iso);
  });

  it.each(['', 'yesterday', '2026-11-26T03:20:00Z', 'Thu, 26 Foo 2026 03:20:00 +0000', 'Thu, 26 Nov 2026 25:20:00 +0000', '32 Nov 2026 03:20 +0000'])(
    'not a date: %j',
    (text) => {
      expect(parseMessageDate(text)).toBeNull();
    },
  );
});

describe('isStaleProbe', () => {
  const cutoff = Date.parse('2026-11-26T00:00:00Z');
  const old = 'Wed, 25 Nov 2026 12:00:00 +0000';
  it.each([
    { what: 'target and old Date', f: { ids: [], targets: ['mx1'], dates: [old] }, want: true },
    { what: 'Date exactly at the cutoff', f: { ids: [], targets: ['mx1'], dates: ['Thu, 26 Nov 2026 00:00:00 +0000'] }, want: false },
    { what: 'another target', f: { ids: [], targets: ['mx10'], dates: [old] }, want: false },
    { what: 'no target', f: { ids: ['x'], targets: [], dates: [old] }, want: false },
    { what: 'two targets, one other', f: { ids: [], targets: ['mx1', 'mx2'], dates: [old] }, want: false },
    { what: 'no Date', f: { ids: [], targets: ['mx1'], dates: [] }, want: false },
    { what: 'two Dates', f: { ids: [], targets: ['mx1'], dates: [old, old] }, want: false },
    { what: 'unreadable Date', f: { ids: [], targets: ['mx1'], dates: ['soon'] }, want: false },
  ])('$what → $want', ({ f, want }) => {
    expect(isStaleProbe(f, 'mx1', cutoff)).toBe(want);
  });
});
