import { afterEach, describe, expect, it } from 'vitest';
import { closeAll } from '../helpers/cleanup.js';
import { startFakeMx } from '../helpers/fake-mx.js';
import { localPlan, phaseNames, probe, trustedTls } from '../helpers/plans.js';
import { banner, ehloSteps, quitSteps, startScriptedServer } from '../helpers/scripted-server.js';

/**
 * The capability facts in every result record, from a real run: `requiredCapabilities` judges the plan's
 * requireCapabilities (which fail the run) together with its watchCapabilities (what alert rules ask: recorded
 * only), and `authBeforeTls` says whether AUTH was offered on a connection not yet encrypted.
 */

afterEach(closeAll);

const HUGE = 'SIZE>=999999999999';
const users = { 'probe@example.test': 'correct horse' };

describe('watched capabilities are recorded, never fail the run', () => {
  it('neither STARTTLS nor that SIZE offered: the run is ok, both listed in missing with their problems', async () => {
    const mx = await startFakeMx({ hideSTARTTLS: true, size: 10_240_000 });
    const r = await probe(localPlan(mx.port, { tls: 'opportunistic', tlsParams: trustedTls(), watchCapabilities: ['STARTTLS', HUGE] }));
    expect(r.failure).toBeNull();
    expect(r.ok).toBe(true);
    expect(phaseNames(r)).toEqual(['connect', 'banner', 'ehlo', 'noop', 'quit']);
    expect(r.capabilities).toMatchObject({ SIZE: '10240000' });
    expect(r.requiredCapabilities).toEqual({
      ok: false,
      checked: ['STARTTLS', HUGE],
      missing: [
        { requirement: 'STARTTLS', problem: 'capability STARTTLS not advertised' },
        { requirement: HUGE, problem: 'capability SIZE is 10240000, wanted >= 999999999999' },
      ],
    });
    expect(r.authBeforeTls).toBe(false);
  });

  it('SIZE not advertised at all: its own problem', async () => {
    const mx = await startFakeMx({ hideSTARTTLS: true });
    const r = await probe(localPlan(mx.port, { watchCapabilities: [HUGE, 'PIPELINING'] }));
    expect(r.ok).toBe(true);
    expect(r.requiredCapabilities).toEqual({
      ok: false,
      checked: [HUGE, 'PIPELINING'],
      missing: [{ requirement: HUGE, problem: 'capability SIZE not advertised' }],
    });
  });

  it('all watched capabilities offered: ok verdict', async () => {
    const mx = await startFakeMx({ hideSTARTTLS: true, size: 10_240_000 });
    const r = await probe(localPlan(mx.port, { watchCapabilities: ['PIPELINING', 'SIZE>=1000000', '8BITMIME'] }));
    expect(r.ok).toBe(true);
    expect(r.requiredCapabilities).toEqual({ ok: true, checked: ['PIPELINING', 'SIZE>=1000000', '8BITMIME'], missing: [] });
  });
});

describe('required capabilities fail the run', () => {
  it('the same requirements in requireCapabilities: failure at ehlo, reason expectation; the verdict agrees', async () => {
    const mx = await startFakeMx({ hideSTARTTLS: true, size: 10_240_000 });
    const r = await probe(localPlan(mx.port, { tls: 'opportunistic', tlsParams: trustedTls(), requireCapabilities: ['STARTTLS', HUGE] }));
    expect(r.ok).toBe(false);
    expect(r.failure).toEqual({ phase: 'ehlo', reason: 'expectation', code: 250, enhancedCode: null, message: 'capability STARTTLS not advertised' });
    expect(r.phases.find((p) => p.phase === 'ehlo')).toMatchObject({ ok: false, code: 250, detail: 'capability STARTTLS not advertised' });
    expect(phaseNames(r)).not.toContain('noop');
    expect(r.requiredCapabilities).toEqual({
      ok: false,
      checked: ['STARTTLS', HUGE],
      missing: [
        { requirement: 'STARTTLS', problem: 'capability STARTTLS not advertised' },
        { requirement: HUGE, problem: 'capability SIZE is 10240000, wanted >= 999999999999' },
      ],
    });
    expect(r.requiredCapabilities?.missing.map((m) => m.problem)).toContain(r.failure?.message);
  });

  it('required and watched together: a requirement in both is judged once; the unmet watched one does not fail the run', async () => {
    const mx = await startFakeMx({ hideSTARTTLS: true, size: 10_240_000 });
    const r = await probe(localPlan(mx.port, { requireCapabilities: ['PIPELINING', 'SIZE>=1000'], watchCapabilities: ['SIZE>=1000', 'DSN'] }));
    expect(r.failure).toBeNull();
    expect(r.requiredCapabilities).toEqual({
      ok: false,
      checked: ['PIPELINING', 'SIZE>=1000', 'DSN'],
      missing: [{ requirement: 'DSN', problem: 'capability DSN not advertised' }],
    });
  });

  it('STARTTLS offered before TLS and gone after: a STARTTLS requirement is met (judged on the plaintext EHLO)', async () => {
    const mx = await startFakeMx({ size: 10_240_000 });
    const r = await probe(
      localPlan(mx.port, { tls: 'starttls', tlsParams: trustedTls(), requireCapabilities: ['STARTTLS', 'SIZE>=1000'], watchCapabilities: ['STARTTLS'] }),
    );
    expect(r.failure).toBeNull();
    expect(phaseNames(r)).toContain('ehlo_tls');
    expect(r.capabilitiesBeforeTls).toHaveProperty('STARTTLS');
    expect(r.capabilities).not.toHaveProperty('STARTTLS');
    expect(r.requiredCapabilities).toEqual({ ok: true, checked: ['STARTTLS', 'SIZE>=1000'], missing: [] });
  });
});

describe('authBeforeTls', () => {
  it('AUTH offered on a plaintext session: true', async () => {
    const mx = await startFakeMx({ users, hideSTARTTLS: true });
    const r = await probe(localPlan(mx.port));
    expect(r.ok).toBe(true);
    expect(r.tls).toBeNull();
    expect(r.capabilities).toHaveProperty('AUTH');
    expect(r.authBeforeTls).toBe(true);
  });

  it('AUTH offered in the plaintext EHLO before STARTTLS: true, even though the session was then encrypted', async () => {
    const mx = await startFakeMx({ users });
    const r = await probe(localPlan(mx.port, { tls: 'starttls', tlsParams: trustedTls() }));
    expect(r.ok).toBe(true);
    expect(r.tls?.verified).toBe(true);
    expect(r.capabilitiesBeforeTls).toHaveProperty('AUTH');
    expect(r.authBeforeTls).toBe(true);
  });

  it('AUTH offered only over implicit TLS: false', async () => {
    const mx = await startFakeMx({ users, secure: true });
    const r = await probe(localPlan(mx.port, { tls: 'implicit', tlsParams: trustedTls(), watchCapabilities: ['AUTH=PLAIN', 'STARTTLS'] }));
    expect(r.ok).toBe(true);
    expect(phaseNames(r).slice(0, 3)).toEqual(['connect', 'tls', 'banner']);
    expect(r.capabilitiesBeforeTls).toBeNull();
    expect(r.capabilities).toHaveProperty('AUTH');
    expect(r.authBeforeTls).toBe(false);
    expect(r.requiredCapabilities).toEqual({
      ok: false,
      checked: ['AUTH=PLAIN', 'STARTTLS'],
      missing: [{ requirement: 'STARTTLS', problem: 'capability STARTTLS not advertised' }],
    });
  });

  it('no AUTH offered: false', async () => {
    const mx = await startFakeMx({ hideSTARTTLS: true });
    const r = await probe(localPlan(mx.port));
    expect(r.capabilities).not.toHaveProperty('AUTH');
    expect(r.authBeforeTls).toBe(false);
  });
});

describe('scripted servers: no EHLO, HELO only, AUTH in plaintext', () => {
  it('a server refusing at the banner: both facts null, whatever is required or watched', async () => {
    const s = await startScriptedServer([banner('554 5.3.2 not accepting connections'), ...quitSteps]);
    const r = await probe(localPlan(s.port, { requireCapabilities: ['PIPELINING'], watchCapabilities: ['STARTTLS'] }));
    expect(r.failure).toMatchObject({ phase: 'banner', code: 554 });
    expect(r.capabilities).toBeNull();
    expect(r.requiredCapabilities).toBeNull();
    expect(r.authBeforeTls).toBeNull();
  });

  it('EHLO refused with 5xx and HELO accepted: empty capabilities, everything missing, no AUTH', async () => {
    const s = await startScriptedServer([
      banner(),
      { expect: /^EHLO / }, { send: '502 5.5.1 EHLO not implemented\r\n' },
      { expect: /^HELO / }, { send: '250 mx.example.test\r\n' },
      { expect: /^NOOP$/ }, { send: '250 2.0.0 ok\r\n' },
      ...quitSteps,
    ]);
    const r = await probe(localPlan(s.port, { watchCapabilities: ['PIPELINING'] }));
    expect(r.ok).toBe(true);
    expect(r.capabilities).toEqual({});
    expect(r.requiredCapabilities).toEqual({
      ok: false, checked: ['PIPELINING'], missing: [{ requirement: 'PIPELINING', problem: 'capability PIPELINING not advertised' }],
    });
    expect(r.authBeforeTls).toBe(false);
  });

  it('a scripted EHLO offering AUTH in plaintext: true', async () => {
    const s = await startScriptedServer([banner(), ...ehloSteps(['PIPELINING', 'AUTH PLAIN LOGIN']), { expect: /^NOOP$/ }, { send: '250 ok\r\n' }, ...quitSteps]);
    const r = await probe(localPlan(s.port, { watchCapabilities: ['AUTH=LOGIN'] }));
    expect(r.ok).toBe(true);
    expect(r.authBeforeTls).toBe(true);
    expect(r.requiredCapabilities).toEqual({ ok: true, checked: ['AUTH=LOGIN'], missing: [] });
  });
});
