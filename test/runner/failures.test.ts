import net from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { makePlan, makeSend } from '../../src/plan/build.js';
import { closeAll } from '../helpers/cleanup.js';
import { startFakeMx } from '../helpers/fake-mx.js';
import { runCheck, runWithRetries, systemDeps } from '../../src/runner/run.js';
import { localPlan, phaseNames, phaseSum, probe } from '../helpers/plans.js';
import { banner, ehloSteps, quitSteps, reply, startScriptedServer, type ScriptStep } from '../helpers/scripted-server.js';

afterEach(closeAll);

const oneRecipient = makeSend({ from: 'probe@example.test', to: ['a@example.test'] });
const twoRecipients = makeSend({ from: 'probe@example.test', to: ['a@example.test', 'b@example.test'] });

/** A port nobody listens on: bind, read the port, close. */
async function closedPort(): Promise<number> {
  const srv = net.createServer();
  await new Promise<void>((r) => srv.listen(0, '127.0.0.1', () => r()));
  const { port } = srv.address() as net.AddressInfo;
  await new Promise<void>((r) => srv.close(() => r()));
  return port;
}

/** Greeting and a plain EHLO (no PIPELINING, so commands come one at a time). */
const opening = (caps: string[] = ['8BITMIME', 'ENHANCEDSTATUSCODES']): ScriptStep[] => [banner(), ...ehloSteps(caps)];

describe('dns', () => {
  const named = (port: number) =>
    makePlan({ host: 'mx.example.test', port, tls: 'none', ehlo: 'probe.example.test', phaseTimeoutMs: 300, timeoutMs: 5000 });

  it('a name that does not resolve: dns / dns', async () => {
    const lookup = async (): Promise<string[]> => {
      throw Object.assign(new Error('getaddrinfo ENOTFOUND mx.example.test'), { code: 'ENOTFOUND' });
    };
    const r = await runCheck(named(25), { ...systemDeps(), lookup });
    expect(r.failure).toMatchObject({ phase: 'dns', reason: 'dns', code: null });
    expect(r.failure?.message).toMatch(/mx\.example\.test/);
  });

  it('a name with no addresses: dns / dns', async () => {
    const r = await runCheck(named(25), { ...systemDeps(), lookup: async () => [] });
    expect(r.failure).toMatchObject({ phase: 'dns', reason: 'dns' });
  });

  it('a lookup that never answers: timeout at dns within phaseTimeoutMs', async () => {
    const t0 = performance.now();
    const r = await runCheck(named(25), { ...systemDeps(), lookup: () => new Promise<string[]>(() => undefined) });
    expect(r.failure).toMatchObject({ phase: 'dns', reason: 'timeout' });
    expect(performance.now() - t0).toBeLessThan(300 + 1500);
  });

  it('the first address refuses, the next one answers: ok, the address used is recorded', async () => {
    const s = await startScriptedServer([...opening(), ...reply(/^NOOP$/, '250 ok'), ...quitSteps]);
    const r = await runCheck(named(s.port), { ...systemDeps(), lookup: async () => ['127.0.0.2', '127.0.0.1'] });
    expect(r.failure).toBeNull();
    expect(phaseNames(r).slice(0, 2)).toEqual(['dns', 'connect']);
    expect(r.phases.find((p) => p.phase === 'connect')).toMatchObject({ ok: true, address: '127.0.0.1' });
  });

  it('every address refuses: connect / connect', async () => {
    const port = await closedPort();
    const r = await runCheck(named(port), { ...systemDeps(), lookup: async () => ['127.0.0.2', '127.0.0.1'] });
    expect(r.failure).toMatchObject({ phase: 'connect', reason: 'connect' });
  });
});

describe('failure at connect and banner', () => {
  it('connection refused: connect / connect', async () => {
    const port = await closedPort();
    const r = await probe(localPlan(port));
    expect(r.ok).toBe(false);
    expect(r.failure).toMatchObject({ phase: 'connect', reason: 'connect', code: null, enhancedCode: null });
    expect(r.failure?.message).toMatch(/refused/);
    expect(r.phases.at(-1)).toMatchObject({ phase: 'connect', ok: false });
  });

  it('banner 554: banner / reply, and QUIT is still sent', async () => {
    const s = await startScriptedServer([{ send: '554 5.3.2 no SMTP service here\r\n' }, ...quitSteps]);
    const r = await probe(localPlan(s.port));
    expect(r.failure).toMatchObject({ phase: 'banner', reason: 'reply', code: 554, enhancedCode: '5.3.2' });
    expect(r.failure?.message).toContain('554 5.3.2 no SMTP service here');
    expect(s.commands()).toEqual(['QUIT']);
  });

  it('no banner at all: timeout at banner after phaseTimeoutMs, well before timeoutMs', async () => {
    const s = await startScriptedServer([{ silence: true }]);
    const r = await probe(localPlan(s.port, { phaseTimeoutMs: 300, timeoutMs: 10_000 }));
    expect(r.failure).toMatchObject({ phase: 'banner', reason: 'timeout', code: null });
    expect(r.wallMs).toBeGreaterThanOrEqual(250);
    expect(r.wallMs).toBeLessThan(300 + 2000);
    expect(r.durationMs).toBeLessThan(300 + 2000);
    expect(Math.abs(r.durationMs - phaseSum(r))).toBeLessThan(20);
  });

  it('server accepts and closes at once: closed at banner', async () => {
    const s = await startScriptedServer([{ close: true }]);
    const r = await probe(localPlan(s.port));
    expect(r.failure).toMatchObject({ phase: 'banner', reason: 'closed' });
  });

  it('a shutdown signal ends the run like the deadline does, promptly', async () => {
    const s = await startScriptedServer([{ silence: true }]);
    const shutdown = new AbortController();
    setTimeout(() => shutdown.abort(), 100);
    const t0 = performance.now();
    const r = await runCheck(localPlan(s.port, { phaseTimeoutMs: 5000, timeoutMs: 10_000 }), systemDeps(shutdown.signal));
    expect(r.failure).toMatchObject({ phase: 'banner', reason: 'timeout' });
    expect(performance.now() - t0).toBeLessThan(100 + 1500);
  });

  it('an already aborted shutdown signal: the run ends at once without rejecting', async () => {
    const s = await startScriptedServer([banner(), { silence: true }]);
    const r = await runCheck(localPlan(s.port), systemDeps(AbortSignal.abort()));
    expect(r.ok).toBe(false);
    expect(r.failure?.reason).toBe('timeout');
  });

  it('banner slower than the run deadline: timeout at banner, total duration bounded by timeoutMs', async () => {
    const s = await startScriptedServer([{ delay: 3000 }, banner(), { silence: true }]);
    const r = await probe(localPlan(s.port, { phaseTimeoutMs: 5000, timeoutMs: 400 }));
    expect(r.failure).toMatchObject({ phase: 'banner', reason: 'timeout' });
    expect(r.wallMs).toBeLessThan(400 + 1500);
    expect(r.durationMs).toBeLessThan(400 + 1500);
  });

  it('each reply in time but the run as a whole too slow: timeout at whatever phase was running', async () => {
    const s = await startScriptedServer([
      { delay: 150 }, banner(),
      { expect: /^EHLO/ }, { delay: 150 }, { send: '250 mx.example.test\r\n' },
      { expect: /^NOOP/ }, { delay: 150 }, { send: '250 ok\r\n' },
      { expect: /^NOOP/ }, { delay: 150 }, { send: '250 ok\r\n' },
      ...quitSteps,
    ]);
    const r = await probe(localPlan(s.port, { phaseTimeoutMs: 1000, timeoutMs: 380, steps: ['banner', 'ehlo', 'noop', 'noop', 'quit'] }));
    expect(r.failure).toMatchObject({ reason: 'timeout' });
    expect(['ehlo', 'noop']).toContain(r.failure?.phase);
    expect(r.wallMs).toBeLessThan(380 + 1500);
  });
});

describe('retries', () => {
  it('a failed first attempt and a good second one: ok, attempts 2, the first failure kept as a warning', async () => {
    const s = await startScriptedServer([], {
      scriptFor: (i) => (i === 0 ? [{ send: '421 4.3.2 try again later\r\n' }, { close: true }] : [...opening(), ...reply(/^NOOP$/, '250 ok'), ...quitSteps]),
    });
    const r = await runWithRetries(localPlan(s.port), systemDeps(), 2, 10);
    expect(r.ok).toBe(true);
    expect(r.attempts).toBe(2);
    expect(s.connections).toHaveLength(2);
    expect(r.warnings.join('\n')).toMatch(/attempt 1 failed at banner/);
  });
});

describe('failure at ehlo / helo', () => {
  it('EHLO refused with 502, HELO accepted: ok with a warning', async () => {
    const s = await startScriptedServer([
      banner(),
      ...reply(/^EHLO probe\.example\.test$/, '502 5.5.1 EHLO not implemented'),
      ...reply(/^HELO probe\.example\.test$/, '250 mx.example.test'),
      ...reply(/^NOOP$/, '250 ok'),
      ...quitSteps,
    ]);
    const r = await probe(localPlan(s.port));
    expect(r.failure).toBeNull();
    expect(r.ok).toBe(true);
    expect(phaseNames(r)).toEqual(['connect', 'banner', 'ehlo', 'helo', 'noop', 'quit']);
    expect(r.phases.find((p) => p.phase === 'ehlo')).toMatchObject({ ok: false, code: 502 });
    expect(r.phases.find((p) => p.phase === 'helo')).toMatchObject({ ok: true, code: 250 });
    expect(r.warnings.join('\n')).toMatch(/EHLO/);
  });

  it('EHLO refused and STARTTLS required: starttls / expectation', async () => {
    const s = await startScriptedServer([
      banner(),
      ...reply(/^EHLO /, '500 5.5.1 unrecognized command'),
      ...reply(/^HELO /, '250 mx.example.test'),
      ...quitSteps,
    ]);
    const r = await probe(localPlan(s.port, { tls: 'starttls' }));
    expect(r.failure).toMatchObject({ phase: 'starttls', reason: 'expectation' });
    expect(s.commands()).not.toContain('STARTTLS');
  });

  it('EHLO and HELO both refused: helo / reply', async () => {
    const s = await startScriptedServer([
      banner(),
      ...reply(/^EHLO /, '502 5.5.1 no'),
      ...reply(/^HELO /, '550 5.7.1 go away'),
      ...quitSteps,
    ]);
    const r = await probe(localPlan(s.port));
    expect(r.failure).toMatchObject({ phase: 'helo', reason: 'reply', code: 550, enhancedCode: '5.7.1' });
  });

  it('EHLO 421: ehlo / reply', async () => {
    const s = await startScriptedServer([banner(), ...reply(/^EHLO/, '421 4.3.2 shutting down'), { close: true }]);
    const r = await probe(localPlan(s.port));
    expect(r.failure).toMatchObject({ phase: 'ehlo', reason: 'reply', code: 421, enhancedCode: '4.3.2' });
    expect(s.commands()).not.toContain('HELO probe.example.test');
  });

  it('a required capability missing: ehlo / expectation', async () => {
    const s = await startScriptedServer([...opening(['8BITMIME']), ...quitSteps]);
    const r = await probe(localPlan(s.port, { requireCapabilities: ['PIPELINING'] }));
    expect(r.failure).toMatchObject({ phase: 'ehlo', reason: 'expectation', code: 250 });
    expect(r.failure?.message).toMatch(/PIPELINING/);
  });

  it('a banner pattern not matched: banner / expectation', async () => {
    const s = await startScriptedServer([banner('220 mx.example.test ESMTP Exim'), ...quitSteps]);
    const r = await probe(localPlan(s.port, { bannerPattern: /Postfix/ }));
    expect(r.failure).toMatchObject({ phase: 'banner', reason: 'expectation', code: 220 });
  });
});

describe('failure at starttls', () => {
  it('STARTTLS required but not offered: starttls / expectation (fake-mx with hideSTARTTLS)', async () => {
    const mx = await startFakeMx({ hideSTARTTLS: true });
    const r = await probe(localPlan(mx.port, { tls: 'starttls' }));
    expect(r.failure).toMatchObject({ phase: 'starttls', reason: 'expectation' });
    expect(r.tls).toBeNull();
  });

  it('STARTTLS offered but answered 454: starttls / reply', async () => {
    const s = await startScriptedServer([
      ...opening(['STARTTLS']),
      ...reply(/^STARTTLS$/, '454 4.7.0 TLS not available due to temporary reason'),
      ...quitSteps,
    ]);
    const r = await probe(localPlan(s.port, { tls: 'starttls' }));
    expect(r.failure).toMatchObject({ phase: 'starttls', reason: 'reply', code: 454, enhancedCode: '4.7.0' });
  });
});

describe('failure in the mail transaction', () => {
  it('pipelined group with MAIL refused: mail / reply; the owed replies are read, no RSET, then QUIT', async () => {
    const s = await startScriptedServer([
      ...opening(['PIPELINING']),
      ...reply(/^MAIL FROM:/, '550 5.7.1 sender rejected'),
      ...reply(/^RCPT TO:/, '503 5.5.1 need MAIL first'),
      ...reply(/^DATA$/, '503 5.5.1 need RCPT first'),
      ...quitSteps,
    ]);
    const r = await probe(localPlan(s.port, { send: oneRecipient }));
    expect(r.failure).toMatchObject({ phase: 'mail', reason: 'reply', code: 550 });
    expect(s.commands().slice(1)).toEqual(['MAIL FROM:<probe@example.test>', 'RCPT TO:<a@example.test>', 'DATA', 'QUIT']);
    expect(r.warnings).toEqual([]);
  });

  it('pipelined group, RCPT refused but DATA answered 354 anyway: the connection is closed, no message content sent', async () => {
    const s = await startScriptedServer([
      ...opening(['PIPELINING']),
      ...reply(/^MAIL FROM:/, '250 ok'),
      ...reply(/^RCPT TO:/, '550 5.1.1 no such user'),
      ...reply(/^DATA$/, '354 go ahead'),
      { silence: true },
    ]);
    const r = await probe(localPlan(s.port, { send: oneRecipient }));
    expect(r.failure).toMatchObject({ phase: 'rcpt', reason: 'reply', code: 550 });
    await s.conn.whenClosed();
    expect(s.commands().slice(-1)).toEqual(['DATA']);
    expect(s.conn.lines.at(-1)?.text).toBe('DATA');
  });

  it('MAIL 550: mail / reply; no RCPT or DATA follows', async () => {
    const s = await startScriptedServer([...opening(), ...reply(/^MAIL FROM:/, '550 5.7.1 sender rejected'), ...quitSteps]);
    const r = await probe(localPlan(s.port, { send: oneRecipient }));
    expect(r.failure).toMatchObject({ phase: 'mail', reason: 'reply', code: 550, enhancedCode: '5.7.1' });
    expect(s.commands().filter((c) => /^(RCPT|DATA)/.test(c))).toEqual([]);
    expect(s.commands().at(-1)).toBe('QUIT');
  });

  it('RCPT 550 for the second of two recipients: rcpt / reply; DATA never sent, RSET and QUIT are', async () => {
    const s = await startScriptedServer([
      ...opening(),
      ...reply(/^MAIL FROM:/, '250 2.1.0 ok'),
      ...reply(/^RCPT TO:<a@/, '250 2.1.5 ok'),
      ...reply(/^RCPT TO:<b@/, '550 5.1.1 no such user'),
      ...reply(/^RSET$/, '250 2.0.0 ok'),
      ...quitSteps,
    ]);
    const r = await probe(localPlan(s.port, { send: twoRecipients }));
    expect(r.failure).toMatchObject({ phase: 'rcpt', reason: 'reply', code: 550, enhancedCode: '5.1.1' });
    const rcpts = r.phases.filter((p) => p.phase === 'rcpt');
    expect(rcpts).toMatchObject([
      { ok: true, code: 250, recipient: 'a@example.test' },
      { ok: false, code: 550, recipient: 'b@example.test' },
    ]);
    expect(s.commands()).not.toContain('DATA');
    expect(s.commands().slice(-2)).toEqual(['RSET', 'QUIT']);
    expect(s.errors()).toEqual([]);
  });

  it('RCPT 550 for one of two recipients against fake-mx (pipelined): no message is delivered', async () => {
    const mx = await startFakeMx({ rcptRules: [{ match: /^b@/, code: 550, message: '5.1.1 No such user' }] });
    const r = await probe(localPlan(mx.port, { send: twoRecipients }));
    expect(r.failure).toMatchObject({ phase: 'rcpt', reason: 'reply', code: 550, enhancedCode: '5.1.1' });
    await new Promise((res) => setTimeout(res, 50));
    expect(mx.received).toEqual([]);
  });

  it('DATA 554: data / reply; RSET and QUIT follow', async () => {
    const s = await startScriptedServer([
      ...opening(),
      ...reply(/^MAIL FROM:/, '250 2.1.0 ok'),
      ...reply(/^RCPT TO:/, '250 2.1.5 ok'),
      ...reply(/^DATA$/, '554 5.5.1 no valid recipients'),
      ...reply(/^RSET$/, '250 2.0.0 ok'),
      ...quitSteps,
    ]);
    const r = await probe(localPlan(s.port, { send: oneRecipient }));
    expect(r.failure).toMatchObject({ phase: 'data', reason: 'reply', code: 554, enhancedCode: '5.5.1' });
    expect(s.commands().slice(-2)).toEqual(['RSET', 'QUIT']);
    expect(s.conn.lines.some((l) => l.inData)).toBe(false);
  });

  it('DATA answered 250 instead of 354: data / expectation; no content sent', async () => {
    const s = await startScriptedServer([
      ...opening(),
      ...reply(/^MAIL FROM:/, '250 2.1.0 ok'),
      ...reply(/^RCPT TO:/, '250 2.1.5 ok'),
      ...reply(/^DATA$/, '250 2.0.0 huh'),
      ...reply(/^RSET$/, '250 2.0.0 ok'),
      ...quitSteps,
    ]);
    const r = await probe(localPlan(s.port, { send: oneRecipient }));
    expect(r.failure).toMatchObject({ phase: 'data', reason: 'expectation', code: 250 });
    expect(s.commands().slice(-3)).toEqual(['DATA', 'RSET', 'QUIT']);
  });

  it('message refused after the dot with 552: message / reply', async () => {
    const s = await startScriptedServer([
      ...opening(),
      ...reply(/^MAIL FROM:/, '250 2.1.0 ok'),
      ...reply(/^RCPT TO:/, '250 2.1.5 ok'),
      ...reply(/^DATA$/, '354 go ahead'),
      { data: true },
      { send: '552 5.3.4 message too big for this system\r\n' },
      ...quitSteps,
    ]);
    const r = await probe(localPlan(s.port, { send: oneRecipient }));
    expect(r.failure).toMatchObject({ phase: 'message', reason: 'reply', code: 552, enhancedCode: '5.3.4' });
    expect(s.commands().at(-1)).toBe('QUIT');
  });

  it('message refused by fake-mx after the dot: message / reply', async () => {
    const mx = await startFakeMx({ rejectMessage: { code: 552, message: '5.3.4 Message too big' } });
    const r = await probe(localPlan(mx.port, { send: oneRecipient }));
    expect(r.failure).toMatchObject({ phase: 'message', reason: 'reply', code: 552, enhancedCode: '5.3.4' });
  });

  it('a message over the advertised SIZE is refused at MAIL by fake-mx: mail / reply 552', async () => {
    const mx = await startFakeMx({ size: 1000 });
    const r = await probe(localPlan(mx.port, { send: makeSend({ from: 'probe@example.test', to: ['a@example.test'], size: 5000 }) }));
    expect(r.capabilities?.SIZE).toBe('1000');
    expect(r.failure).toMatchObject({ phase: 'mail', reason: 'reply', code: 552 });
    expect(mx.received).toEqual([]);
  });
});

describe('failure at noop and quit', () => {
  it('NOOP 502: noop / reply', async () => {
    const s = await startScriptedServer([...opening(), ...reply(/^NOOP$/, '502 5.5.1 not implemented'), ...quitSteps]);
    const r = await probe(localPlan(s.port));
    expect(r.failure).toMatchObject({ phase: 'noop', reason: 'reply', code: 502, enhancedCode: '5.5.1' });
  });

  it('QUIT unanswered: ok with a warning, bounded wait', async () => {
    const s = await startScriptedServer([...opening(), ...reply(/^NOOP$/, '250 ok'), { expect: /^QUIT$/ }, { silence: true }]);
    const r = await probe(localPlan(s.port, { phaseTimeoutMs: 400, timeoutMs: 10_000 }));
    expect(r.failure).toBeNull();
    expect(r.ok).toBe(true);
    expect(r.warnings.join('\n')).toMatch(/QUIT/);
    expect(r.phases.at(-1)).toMatchObject({ phase: 'quit', ok: true });
    expect(r.wallMs).toBeLessThan(400 + 1500);
  });

  it('server closes instead of answering QUIT: ok with a warning', async () => {
    const s = await startScriptedServer([...opening(), ...reply(/^NOOP$/, '250 ok'), { expect: /^QUIT$/ }, { close: true }]);
    const r = await probe(localPlan(s.port));
    expect(r.failure).toBeNull();
    expect(r.ok).toBe(true);
    expect(r.warnings.join('\n')).toMatch(/closed/);
    expect(r.wallMs).toBeLessThan(1000 + 1500);
  });
});
