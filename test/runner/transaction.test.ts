import { afterEach, describe, expect, it } from 'vitest';
import { makeSend } from '../../src/plan/build.js';
import { closeAll } from '../helpers/cleanup.js';
import { startFakeMx } from '../helpers/fake-mx.js';
import { authPlan, localPlan, phaseNames, phaseSum, probe, trustedTls } from '../helpers/plans.js';
import { banner, ehloSteps, quitSteps, reply, startScriptedServer, type ScriptStep } from '../helpers/scripted-server.js';

afterEach(closeAll);

/** Split a received message into a header map (lower-case names, last wins) and its body. */
function parseMessage(text: string): { headers: Record<string, string>; body: string } {
  const split = text.indexOf('\r\n\r\n');
  expect(split).toBeGreaterThan(0);
  const headers: Record<string, string> = {};
  for (const line of text.slice(0, split).split('\r\n')) {
    const colon = line.indexOf(':');
    headers[line.slice(0, colon).toLowerCase()] = line.slice(colon + 1).trim();
  }
  return { headers, body: text.slice(split + 4) };
}

describe('a full transaction against fake-mx', () => {
  it('runs banner..quit with STARTTLS, AUTH and two recipients, and the message arrives intact', async () => {
    const mx = await startFakeMx({ users: { 'probe@example.test': 'pw-0123' } });
    const body = 'first line\n.\n.leading dot\r\n..two dots\n...\nlast line';
    const r = await probe(
      localPlan(mx.port, {
        tls: 'starttls',
        tlsParams: trustedTls(),
        auth: authPlan('probe@example.test', 'pw-0123'),
        send: makeSend({
          from: 'probe@example.test',
          to: ['a@example.test', 'b@example.test'],
          subject: 'probe check',
          body,
          headers: { 'X-Extra': 'yes' },
        }),
      }),
    );

    expect(r.failure).toBeNull();
    expect(r.ok).toBe(true);
    expect(phaseNames(r)).toEqual([
      'connect', 'banner', 'ehlo', 'starttls', 'tls_upgrade', 'ehlo_tls', 'auth', 'mail', 'rcpt', 'rcpt', 'data', 'message', 'noop', 'quit',
    ]);
    expect(r.phases.every((p) => p.ok)).toBe(true);
    expect(r.phases.filter((p) => p.phase === 'rcpt').map((p) => p.recipient)).toEqual(['a@example.test', 'b@example.test']);
    expect(r.phases.find((p) => p.phase === 'message')?.code).toBe(250);
    expect(r.tls?.verified).toBe(true);
    expect(r.warnings).toEqual([]);

    expect(mx.received).toHaveLength(1);
    const got = mx.received[0]!;
    expect(got.mailFrom).toBe('probe@example.test');
    expect(got.rcptTo).toEqual(['a@example.test', 'b@example.test']);
    expect(got.user).toBe('probe@example.test');
    expect(got.secure).toBe(true);

    // CRLF everywhere: no bare LF and no bare CR in what went over the wire.
    expect(got.text).not.toMatch(/(^|[^\r])\n/);
    expect(got.text).not.toMatch(/\r(?!\n)/);

    const { headers, body: received } = parseMessage(got.text);
    expect(headers['x-smtp-probe-id']).toBe(r.probeId);
    expect(r.messageId).toBeTruthy();
    expect(headers['message-id']).toBe(`<${r.messageId}>`);
    expect(headers.from).toBe('probe@example.test');
    expect(headers.to).toBe('a@example.test, b@example.test');
    expect(headers.subject).toBe('probe check');
    expect(headers['auto-submitted']).toBe('auto-generated');
    expect(headers['x-extra']).toBe('yes');
    const date = Date.parse(headers.date ?? '');
    expect(Number.isNaN(date)).toBe(false);
    expect(Math.abs(date - Date.now())).toBeLessThan(60_000);
    // Dot-stuffing round-trips: lines starting with "." (and a lone ".") arrive as written.
    expect(received).toBe('first line\r\n.\r\n.leading dot\r\n..two dots\r\n...\r\nlast line\r\n');
  });

  it('phases add up to about durationMs', async () => {
    const mx = await startFakeMx();
    const r = await probe(
      localPlan(mx.port, {
        tls: 'starttls',
        tlsParams: trustedTls(),
        send: makeSend({ from: 'probe@example.test', to: ['a@example.test'] }),
      }),
    );
    expect(r.failure).toBeNull();
    const sum = phaseSum(r);
    expect(sum).toBeLessThanOrEqual(r.durationMs + 0.01);
    expect(r.durationMs - sum).toBeLessThan(Math.max(10, r.durationMs * 0.1));
    expect(r.durationMs).toBeLessThanOrEqual(r.wallMs + 0.01);
  });

  it('phases add up to about durationMs when the run fails, too', async () => {
    const mx = await startFakeMx({ rcptRules: [{ match: /^nobody@/, code: 550, message: '5.1.1 No such user' }] });
    const r = await probe(localPlan(mx.port, { send: makeSend({ from: 'probe@example.test', to: ['nobody@example.test'] }) }));
    expect(r.failure).toMatchObject({ phase: 'rcpt', reason: 'reply', code: 550, enhancedCode: '5.1.1' });
    const sum = phaseSum(r);
    expect(sum).toBeLessThanOrEqual(r.durationMs + 0.01);
    expect(r.durationMs - sum).toBeLessThan(Math.max(10, r.durationMs * 0.1));
  });

  it('uses NOTIFY=NEVER on RCPT when fake-mx advertises DSN', async () => {
    const mx = await startFakeMx({ dsn: true });
    const r = await probe(localPlan(mx.port, { send: makeSend({ from: 'probe@example.test', to: ['a@example.test', 'b@example.test'] }) }));
    expect(r.failure).toBeNull();
    expect(r.capabilities).toHaveProperty('DSN');
    expect(mx.received[0]?.rcptArgs).toEqual([{ NOTIFY: 'NEVER' }, { NOTIFY: 'NEVER' }]);
  });
});

/** A plain transaction with one-line replies; `caps` decides what EHLO advertises. */
function transaction(caps: string[]): ScriptStep[] {
  return [
    banner(),
    ...ehloSteps(caps),
    ...reply(/^MAIL FROM:<probe@example\.test>/, '250 2.1.0 ok'),
    ...reply(/^RCPT TO:<a@example\.test>/, '250 2.1.5 ok'),
    ...reply(/^RCPT TO:<b@example\.test>/, '250 2.1.5 ok'),
    ...reply(/^DATA$/, '354 go ahead'),
    { data: true },
    { send: '250 2.0.0 queued\r\n' },
    ...reply(/^NOOP$/, '250 2.0.0 ok'),
    ...quitSteps,
  ];
}

const twoRecipients = makeSend({ from: 'probe@example.test', to: ['a@example.test', 'b@example.test'] });

describe('configured values cannot inject commands or headers', () => {
  it('CR/LF in the EHLO name does not add a command', async () => {
    const s = await startScriptedServer([banner(), { expect: /^EHLO probe\.example\.test/ }, { send: '250 mx.example.test\r\n' }, ...reply(/^NOOP$/, '250 ok'), ...quitSteps]);
    await probe(localPlan(s.port, { ehlo: 'probe.example.test\r\nRSET' }));
    expect(s.errors()).toEqual([]);
    expect(s.commands()).not.toContain('RSET');
    expect(s.commands()).toHaveLength(3);
  });

  it('CR/LF in the subject and extra headers stay on one line', async () => {
    const mx = await startFakeMx();
    const r = await probe(
      localPlan(mx.port, {
        send: makeSend({
          from: 'probe@example.test',
          to: ['a@example.test'],
          subject: 'hello\r\nBcc: victim@elsewhere.example',
          headers: { 'X-Note': 'one\nX-Injected: yes' },
        }),
      }),
    );
    expect(r.failure).toBeNull();
    const got = mx.received[0]!;
    expect(got.rcptTo).toEqual(['a@example.test']);
    const head = got.text.slice(0, got.text.indexOf('\r\n\r\n'));
    expect(head).not.toMatch(/^bcc:/im);
    expect(head).not.toMatch(/^x-injected:/im);
    expect(head).toMatch(/^Subject: hello Bcc: victim@elsewhere\.example$/m);
  });

  it('CR/LF in a recipient does not smuggle in another RCPT', async () => {
    const s = await startScriptedServer(transaction(['8BITMIME']).map((step) =>
      'expect' in step && String(step.expect).includes('b@example') ? { expect: /^RCPT TO:<b@example\.test/ } : step,
    ));
    await probe(localPlan(s.port, { send: makeSend({ from: 'probe@example.test', to: ['a@example.test>\r\nRCPT TO:<evil@elsewhere.example', 'b@example.test'] }) }));
    expect(s.commands().filter((c) => c.startsWith('RCPT'))).toHaveLength(2);
    expect(s.commands().some((c) => /^RCPT TO:<evil@/.test(c))).toBe(false);
  });
});

describe('RCPT parameters and PIPELINING against a scripted server', () => {
  it('adds NOTIFY=NEVER to every RCPT when DSN is advertised', async () => {
    const s = await startScriptedServer(transaction(['DSN', '8BITMIME']));
    const r = await probe(localPlan(s.port, { send: twoRecipients }));
    expect(r.failure).toBeNull();
    expect(s.errors()).toEqual([]);
    const rcpts = s.commands().filter((c) => c.startsWith('RCPT'));
    expect(rcpts).toEqual(['RCPT TO:<a@example.test> NOTIFY=NEVER', 'RCPT TO:<b@example.test> NOTIFY=NEVER']);
  });

  it('sends no NOTIFY when DSN is not advertised', async () => {
    const s = await startScriptedServer(transaction(['8BITMIME']));
    const r = await probe(localPlan(s.port, { send: twoRecipients }));
    expect(r.failure).toBeNull();
    const rcpts = s.commands().filter((c) => c.startsWith('RCPT'));
    expect(rcpts).toEqual(['RCPT TO:<a@example.test>', 'RCPT TO:<b@example.test>']);
  });

  it('with PIPELINING advertised, MAIL, the RCPTs and DATA arrive in one write before any reply', async () => {
    const s = await startScriptedServer(transaction(['PIPELINING', '8BITMIME']));
    const r = await probe(localPlan(s.port, { send: twoRecipients }));
    expect(r.failure).toBeNull();
    expect(s.errors()).toEqual([]);
    const group = s.conn.lines.filter((l) => /^(MAIL|RCPT|DATA)/.test(l.text));
    expect(group.map((l) => l.text.split(/[ :]/)[0])).toEqual(['MAIL', 'RCPT', 'RCPT', 'DATA']);
    expect(new Set(group.map((l) => l.chunk)).size).toBe(1);
    expect(new Set(group.map((l) => l.writesBefore)).size).toBe(1);
    expect(r.phases.filter((p) => ['mail', 'rcpt', 'data'].includes(p.phase)).every((p) => p.ok)).toBe(true);
  });

  it('without PIPELINING, each envelope command waits for the reply to the previous one', async () => {
    const s = await startScriptedServer(transaction(['8BITMIME']));
    const r = await probe(localPlan(s.port, { send: twoRecipients }));
    expect(r.failure).toBeNull();
    expect(s.errors()).toEqual([]);
    const group = s.conn.lines.filter((l) => /^(MAIL|RCPT|DATA)/.test(l.text));
    expect(group).toHaveLength(4);
    for (let i = 1; i < group.length; i += 1) {
      expect(group[i]!.writesBefore).toBeGreaterThan(group[i - 1]!.writesBefore);
      expect(group[i]!.chunk).toBeGreaterThan(group[i - 1]!.chunk);
    }
  });

  it('phases add up to about durationMs when pipelined', async () => {
    const s = await startScriptedServer(transaction(['PIPELINING']));
    const r = await probe(localPlan(s.port, { send: twoRecipients }));
    expect(r.failure).toBeNull();
    const sum = phaseSum(r);
    expect(sum).toBeLessThanOrEqual(r.durationMs + 0.01);
    expect(r.durationMs - sum).toBeLessThan(Math.max(10, r.durationMs * 0.1));
  });
});
