import { afterEach, describe, expect, it } from 'vitest';
import { makeSend } from '../../src/plan/build.js';
import { closeAll } from '../helpers/cleanup.js';
import { CONTROL_CHARS, localPlan, probe } from '../helpers/plans.js';
import { banner, ehloSteps, multiline, quitSteps, reply, startScriptedServer, type ScriptStep } from '../helpers/scripted-server.js';

afterEach(closeAll);

const rest: ScriptStep[] = [...reply(/^NOOP$/, '250 ok'), ...quitSteps];

describe('bytes that are not SMTP', () => {
  it('an SSH banner: protocol at banner, the first bytes quoted and sanitised', async () => {
    const s = await startScriptedServer([{ send: 'SSH-2.0-OpenSSH_9.2p1 Debian-2\x00\x1b[0m\r\n' }, { silence: true }]);
    const r = await probe(localPlan(s.port));
    expect(r.failure).toMatchObject({ phase: 'banner', reason: 'protocol', code: null });
    expect(r.failure?.message).toContain('SSH-2.0-OpenSSH_9.2p1');
    expect(r.failure?.message).not.toMatch(CONTROL_CHARS);
  });

  it('an HTTP response: protocol at banner', async () => {
    const s = await startScriptedServer([
      { send: 'HTTP/1.1 400 Bad Request\r\nContent-Type: text/html\r\nContent-Length: 11\r\n\r\n<html>\r\n' },
      { close: true },
    ]);
    const r = await probe(localPlan(s.port));
    expect(r.failure).toMatchObject({ phase: 'banner', reason: 'protocol' });
    expect(r.failure?.message).toContain('HTTP/1.1 400 Bad Request');
  });

  it('a TLS record where the banner should be (plain SMTP against smtps): protocol or timeout at banner, sanitised', async () => {
    const s = await startScriptedServer([{ send: Buffer.from([0x16, 0x03, 0x03, 0x00, 0x2a, 0x02, 0x00, 0x00, 0x26, 0x0a]) }, { silence: true }]);
    const r = await probe(localPlan(s.port, { phaseTimeoutMs: 300 }));
    expect(r.ok).toBe(false);
    expect(r.failure?.phase).toBe('banner');
    expect(['protocol', 'timeout']).toContain(r.failure?.reason);
    expect(r.failure?.message).not.toMatch(CONTROL_CHARS);
  });

  it('one line of 1 MB without a newline: protocol at banner, quickly, and the client stops reading', async () => {
    const total = 64 * 1024 * 1024;
    const s = await startScriptedServer([{ flood: total, line: 'x' }]);
    const r = await probe(localPlan(s.port, { phaseTimeoutMs: 5000, timeoutMs: 10_000 }));
    expect(r.failure).toMatchObject({ phase: 'banner', reason: 'protocol' });
    expect(r.failure?.message).toMatch(/longer than/);
    expect(r.failure?.message.length).toBeLessThan(500);
    // Failed on the bytes, not by waiting out the 5 s phase timeout.
    expect(r.wallMs).toBeLessThan(5000);
    await s.conn.whenClosed();
    // The client closed the connection instead of buffering: the server could not push all 64 MB.
    expect(s.conn.sentBytes).toBeLessThan(total);
  });

  it('1 MB of banner text with a newline only at the end: protocol at banner', async () => {
    const s = await startScriptedServer([{ send: `220 ${'a'.repeat(1024 * 1024)}\r\n` }, { silence: true }]);
    const r = await probe(localPlan(s.port));
    expect(r.failure).toMatchObject({ phase: 'banner', reason: 'protocol' });
  });

  it('an endless multiline reply: protocol at banner, and the client stops reading', async () => {
    const total = 64 * 1024 * 1024;
    const s = await startScriptedServer([{ flood: total, line: '220-still going\r\n' }]);
    const r = await probe(localPlan(s.port, { phaseTimeoutMs: 5000, timeoutMs: 10_000 }));
    expect(r.failure).toMatchObject({ phase: 'banner', reason: 'protocol' });
    expect(r.failure?.message).toMatch(/lines/);
    // Failed on the bytes, not by waiting out the 5 s phase timeout.
    expect(r.wallMs).toBeLessThan(5000);
    await s.conn.whenClosed();
    expect(s.conn.sentBytes).toBeLessThan(total);
  });

  it('an endless EHLO reply: protocol at ehlo', async () => {
    const s = await startScriptedServer([banner(), { expect: /^EHLO/ }, { flood: 16 * 1024 * 1024, line: '250-X-FEATURE\r\n' }]);
    const r = await probe(localPlan(s.port));
    expect(r.failure).toMatchObject({ phase: 'ehlo', reason: 'protocol' });
  });

  it('a multiline reply that changes its code: protocol', async () => {
    const s = await startScriptedServer([banner(), { expect: /^EHLO/ }, { send: '250-mx.example.test\r\n550 oops\r\n' }, { silence: true }]);
    const r = await probe(localPlan(s.port));
    expect(r.failure).toMatchObject({ phase: 'ehlo', reason: 'protocol' });
  });
});

describe('endless input that is not a reply', () => {
  it('an endless stream of blank lines: fails at banner (protocol or timeout), bounded', async () => {
    const s = await startScriptedServer([{ flood: 64 * 1024 * 1024, line: '\r\n' }]);
    const r = await probe(localPlan(s.port, { phaseTimeoutMs: 500, timeoutMs: 2000 }));
    expect(r.ok).toBe(false);
    expect(r.failure?.phase).toBe('banner');
    expect(['protocol', 'timeout']).toContain(r.failure?.reason);
    expect(r.wallMs).toBeLessThan(2000 + 1500);
  });
});

describe('odd but valid framing', () => {
  it('capabilities in lower case are honoured (PIPELINING, DSN)', async () => {
    const s = await startScriptedServer([
      banner(),
      ...ehloSteps(['pipelining', 'dsn']),
      ...reply(/^MAIL/, '250 ok'),
      ...reply(/^RCPT TO:<a@example\.test> NOTIFY=NEVER$/, '250 ok'),
      ...reply(/^DATA$/, '354 go'),
      { data: true },
      { send: '250 ok\r\n' },
      ...rest,
    ]);
    const r = await probe(localPlan(s.port, { send: makeSend({ from: 'p@example.test', to: ['a@example.test'] }) }));
    expect(r.failure).toBeNull();
    expect(s.errors()).toEqual([]);
    const group = s.conn.lines.filter((l) => /^(MAIL|RCPT|DATA)/.test(l.text));
    expect(new Set(group.map((l) => l.chunk)).size).toBe(1);
  });

  it('replies split byte by byte across TCP segments: ok', async () => {
    const slow = (text: string): ScriptStep => ({ send: text, chunkBytes: 1, gapMs: 1 });
    const s = await startScriptedServer([
      slow('220 mx.example.test ESMTP\r\n'),
      { expect: /^EHLO/ },
      slow(multiline(250, ['mx.example.test', 'PIPELINING', 'SIZE 1000'])),
      { expect: /^NOOP$/ },
      slow('250 2.0.0 ok\r\n'),
      { expect: /^QUIT$/ },
      slow('221 2.0.0 bye\r\n'),
      { close: true },
    ]);
    const r = await probe(localPlan(s.port, { phaseTimeoutMs: 3000 }));
    expect(r.failure).toBeNull();
    expect(r.capabilities).toEqual({ PIPELINING: '', SIZE: '1000' });
    expect(r.phases.find((p) => p.phase === 'quit')?.code).toBe(221);
    expect(r.warnings).toEqual([]);
  });

  it('bare LF line endings: ok with a warning', async () => {
    const s = await startScriptedServer([
      { send: '220 mx.example.test ESMTP\n' },
      { expect: /^EHLO/ },
      { send: '250-mx.example.test\n250 SIZE 1000\n' },
      { expect: /^NOOP$/ },
      { send: '250 ok\n' },
      { expect: /^QUIT$/ },
      { send: '221 bye\n' },
      { close: true },
    ]);
    const r = await probe(localPlan(s.port));
    expect(r.failure).toBeNull();
    expect(r.capabilities).toEqual({ SIZE: '1000' });
    expect(r.warnings.join('\n')).toMatch(/bare LF/);
  });

  it('stray blank lines between replies: ok', async () => {
    const s = await startScriptedServer([
      { send: '220 mx.example.test ESMTP\r\n\r\n' },
      { expect: /^EHLO/ },
      { send: '\r\n250-mx.example.test\r\n250 8BITMIME\r\n\r\n' },
      ...rest,
    ]);
    const r = await probe(localPlan(s.port));
    expect(r.failure).toBeNull();
    expect(r.capabilities).toEqual({ '8BITMIME': '' });
  });

  it('a reply split in the middle of its CRLF: ok', async () => {
    const s = await startScriptedServer([
      { send: '220 mx.example.test ESMTP\r' },
      { delay: 20 },
      { send: '\n' },
      ...ehloSteps(['8BITMIME']),
      ...rest,
    ]);
    const r = await probe(localPlan(s.port));
    expect(r.failure).toBeNull();
    expect(r.warnings).toEqual([]);
  });
});

describe('control bytes in replies', () => {
  it('NUL, ESC and BEL in a refusal are escaped in failure.message', async () => {
    const s = await startScriptedServer([{ send: '554 5.3.2 no\x00service\x1b[31m here\x07\r\n' }, ...quitSteps]);
    const r = await probe(localPlan(s.port));
    expect(r.failure).toMatchObject({ phase: 'banner', reason: 'reply', code: 554, enhancedCode: '5.3.2' });
    expect(r.failure?.message).toMatch(/^554 5\.3\.2 no/);
    expect(r.failure?.message).toContain('service');
    expect(r.failure?.message).not.toMatch(CONTROL_CHARS);
  });

  it('control bytes in a multiline refusal are escaped too', async () => {
    const s = await startScriptedServer([banner(), { expect: /^EHLO/ }, { send: '421-4.7.0 bye\x00\r\n421 4.7.0 \x1b]0;owned\x07\r\n' }, { close: true }]);
    const r = await probe(localPlan(s.port));
    expect(r.failure).toMatchObject({ phase: 'ehlo', reason: 'reply', code: 421 });
    expect(r.failure?.message).not.toMatch(CONTROL_CHARS);
  });
});

describe('replies at the wrong time', () => {
  it('a reply nobody asked for (two greetings at once): protocol', async () => {
    const s = await startScriptedServer([{ send: '220 mx.example.test ESMTP\r\n220 again\r\n' }, { silence: true }]);
    const r = await probe(localPlan(s.port));
    expect(r.failure?.reason).toBe('protocol');
    expect(['banner', 'ehlo']).toContain(r.failure?.phase);
    expect(r.failure?.message).toContain('220 again');
  });

  it('an extra reply after the EHLO reply: protocol', async () => {
    const s = await startScriptedServer([banner(), { expect: /^EHLO/ }, { send: '250 mx.example.test\r\n250 surprise\r\n' }, { silence: true }]);
    const r = await probe(localPlan(s.port));
    expect(r.failure).toMatchObject({ reason: 'protocol' });
    expect(r.failure?.message).toContain('250 surprise');
  });

  it('connection reset in the middle of a multiline reply: closed at ehlo', async () => {
    const s = await startScriptedServer([banner(), { expect: /^EHLO/ }, { send: '250-mx.example.test\r\n250-PIPEL' }, { delay: 20 }, { reset: true }]);
    const r = await probe(localPlan(s.port));
    expect(r.failure).toMatchObject({ phase: 'ehlo', reason: 'closed' });
  });

  it('server closes right after the banner: closed at ehlo', async () => {
    const s = await startScriptedServer([banner(), { close: true }]);
    const r = await probe(localPlan(s.port));
    expect(r.failure).toMatchObject({ phase: 'ehlo', reason: 'closed' });
    expect(r.phases.find((p) => p.phase === 'banner')).toMatchObject({ ok: true, code: 220 });
  });

  it('server closes in the middle of the DATA exchange: closed at message, nothing retried', async () => {
    const s = await startScriptedServer([
      banner(),
      ...ehloSteps(['8BITMIME']),
      ...reply(/^MAIL/, '250 ok'),
      ...reply(/^RCPT/, '250 ok'),
      ...reply(/^DATA$/, '354 go'),
      { data: true },
      { close: true },
    ]);
    const r = await probe(localPlan(s.port, { send: makeSend({ from: 'p@example.test', to: ['a@example.test'] }) }));
    expect(r.failure).toMatchObject({ phase: 'message', reason: 'closed' });
    expect(s.connections).toHaveLength(1);
  });
});
