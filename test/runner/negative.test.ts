import { afterEach, describe, expect, it } from 'vitest';
import { makeSend } from '../../src/plan/build.js';
import { closeAll } from '../helpers/cleanup.js';
import { startFakeMx } from '../helpers/fake-mx.js';
import { exp, localPlan, phaseNames, probe } from '../helpers/plans.js';
import { banner, ehloSteps, quitSteps, reply, startScriptedServer, type ScriptStep } from '../helpers/scripted-server.js';

afterEach(closeAll);

const relayTest = makeSend({ from: 'probe@example.test', to: ['someone@elsewhere.example'] });

/** MAIL accepted, RCPT answered with `rcpt`; then whatever the client does next, answered sensibly. */
function relayScript(caps: string[], rcpt: string): ScriptStep[] {
  return [
    banner(),
    ...ehloSteps(caps),
    ...reply(/^MAIL FROM:/, '250 2.1.0 ok'),
    ...reply(/^RCPT TO:/, rcpt),
    ...reply(/^RSET$/, '250 2.0.0 flushed'),
    ...quitSteps,
  ];
}

for (const caps of [['8BITMIME'], ['PIPELINING', '8BITMIME']]) {
  const label = caps.includes('PIPELINING') ? 'with PIPELINING' : 'without PIPELINING';

  describe(`negative RCPT check (expect rcpt=5xx), ${label}`, () => {
    it('relay refused: ok; DATA never sent; RSET and QUIT are', async () => {
      const s = await startScriptedServer(relayScript(caps, '554 5.7.1 Relay access denied'));
      const r = await probe(localPlan(s.port, { send: relayTest, expect: { rcpt: exp('5xx') } }));
      expect(r.failure).toBeNull();
      expect(r.ok).toBe(true);
      expect(r.phases.find((p) => p.phase === 'rcpt')).toMatchObject({ ok: true, code: 554, enhancedCode: '5.7.1' });
      expect(s.commands()).not.toContain('DATA');
      expect(s.commands()).toEqual(['EHLO probe.example.test', 'MAIL FROM:<probe@example.test>', 'RCPT TO:<someone@elsewhere.example>', 'RSET', 'QUIT']);
      expect(s.errors()).toEqual([]);
    });

    it('relay accepted: fails with reason expectation; the server never sees DATA, sees RSET and QUIT', async () => {
      const s = await startScriptedServer(relayScript(caps, '250 2.1.5 ok'));
      const r = await probe(localPlan(s.port, { send: relayTest, expect: { rcpt: exp('5xx') } }));
      expect(r.ok).toBe(false);
      expect(r.failure).toMatchObject({ phase: 'rcpt', reason: 'expectation', code: 250 });
      expect(r.failure?.message).toMatch(/5xx/);
      expect(s.commands()).not.toContain('DATA');
      expect(s.commands().slice(-2)).toEqual(['RSET', 'QUIT']);
      expect(s.conn.lines.some((l) => l.inData)).toBe(false);
    });
  });
}

describe('negative RCPT check against fake-mx', () => {
  it('relay refused by fake-mx (localDomains): ok, nothing delivered', async () => {
    const mx = await startFakeMx({ localDomains: ['example.test'] });
    const r = await probe(localPlan(mx.port, { send: relayTest, expect: { rcpt: exp('5xx') } }));
    expect(r.failure).toBeNull();
    expect(r.phases.find((p) => p.phase === 'rcpt')).toMatchObject({ ok: true, code: 554, enhancedCode: '5.7.1' });
    expect(phaseNames(r)).not.toContain('data');
    expect(phaseNames(r)).toContain('rset');
    expect(mx.received).toEqual([]);
  });

  it('an open relay (fake-mx accepts anything): fails with expectation, nothing delivered', async () => {
    const mx = await startFakeMx();
    const r = await probe(localPlan(mx.port, { send: relayTest, expect: { rcpt: exp('5xx') } }));
    expect(r.failure).toMatchObject({ phase: 'rcpt', reason: 'expectation', code: 250 });
    await new Promise((res) => setTimeout(res, 50));
    expect(mx.received).toEqual([]);
  });

  it('an enhanced-code expectation: expect rcpt=5.7.1 passes on 554 5.7.1', async () => {
    const mx = await startFakeMx({ localDomains: ['example.test'] });
    const r = await probe(localPlan(mx.port, { send: relayTest, expect: { rcpt: exp('5.7.1') } }));
    expect(r.failure).toBeNull();
  });

  it('two recipients, each refused as expected: ok', async () => {
    const mx = await startFakeMx({ localDomains: ['example.test'] });
    const r = await probe(
      localPlan(mx.port, {
        send: makeSend({ from: 'probe@example.test', to: ['x@elsewhere.example', 'y@elsewhere.example'] }),
        expect: { rcpt: exp('5xx') },
      }),
    );
    expect(r.failure).toBeNull();
    expect(r.phases.filter((p) => p.phase === 'rcpt')).toMatchObject([{ ok: true, code: 554 }, { ok: true, code: 554 }]);
  });

  it('two recipients, the second accepted although 5xx was expected: the first mismatch is the failure', async () => {
    const mx = await startFakeMx({ rcptRules: [{ match: /^x@/, code: 550, message: '5.1.1 no such user' }] });
    const r = await probe(
      localPlan(mx.port, {
        send: makeSend({ from: 'probe@example.test', to: ['x@example.test', 'y@example.test'] }),
        expect: { rcpt: exp('5xx') },
      }),
    );
    expect(r.failure).toMatchObject({ phase: 'rcpt', reason: 'expectation', code: 250 });
    expect(r.phases.filter((p) => p.phase === 'rcpt')).toMatchObject([
      { ok: true, code: 550, recipient: 'x@example.test' },
      { ok: false, code: 250, recipient: 'y@example.test' },
    ]);
    await new Promise((res) => setTimeout(res, 50));
    expect(mx.received).toEqual([]);
  });
});

describe('deliver: false', () => {
  for (const caps of [['8BITMIME'], ['PIPELINING']]) {
    it(`MAIL and RCPT are checked, then RSET instead of DATA (${caps.includes('PIPELINING') ? 'pipelined' : 'not pipelined'})`, async () => {
      const s = await startScriptedServer([
        banner(),
        ...ehloSteps(caps),
        ...reply(/^MAIL FROM:/, '250 2.1.0 ok'),
        ...reply(/^RCPT TO:/, '250 2.1.5 ok'),
        ...reply(/^RSET$/, '250 2.0.0 ok'),
        ...reply(/^NOOP$/, '250 ok'),
        ...quitSteps,
      ]);
      const r = await probe(localPlan(s.port, { send: makeSend({ from: 'probe@example.test', to: ['a@example.test'], deliver: false }) }));
      expect(r.failure).toBeNull();
      expect(s.commands()).toEqual([
        'EHLO probe.example.test', 'MAIL FROM:<probe@example.test>', 'RCPT TO:<a@example.test>', 'RSET', 'NOOP', 'QUIT',
      ]);
      expect(phaseNames(r)).toEqual(['connect', 'banner', 'ehlo', 'mail', 'rcpt', 'rset', 'noop', 'quit']);
      expect(r.messageId).toBeNull();
    });
  }

  it('RSET refused: rset / reply', async () => {
    const s = await startScriptedServer([
      banner(),
      ...ehloSteps(['8BITMIME']),
      ...reply(/^MAIL FROM:/, '250 2.1.0 ok'),
      ...reply(/^RCPT TO:/, '250 2.1.5 ok'),
      ...reply(/^RSET$/, '502 5.5.1 RSET not implemented'),
      ...quitSteps,
    ]);
    const r = await probe(localPlan(s.port, { send: makeSend({ from: 'probe@example.test', to: ['a@example.test'], deliver: false }) }));
    expect(r.failure).toMatchObject({ phase: 'rset', reason: 'reply', code: 502, enhancedCode: '5.5.1' });
    expect(s.commands()).not.toContain('DATA');
  });

  it('against fake-mx: nothing is delivered', async () => {
    const mx = await startFakeMx({ size: 10_000_000 });
    const r = await probe(localPlan(mx.port, { send: makeSend({ from: 'probe@example.test', to: ['a@example.test'], deliver: false }) }));
    expect(r.failure).toBeNull();
    expect(mx.received).toEqual([]);
  });
});
