/**
 * Response-time thresholds, certificate levels and strictness, judged by the runner (plan `thresholds`,
 * `minCertDays`/`criticalCertDays`, `strict`): check_smtp's -w/-c and -D warn,crit, and CI's "warnings fail".
 */
import { afterEach, describe, expect, it } from 'vitest';
import { closeAll } from '../helpers/cleanup.js';
import { certValidFor, serverCert } from '../helpers/certs.js';
import { startFakeMx } from '../helpers/fake-mx.js';
import { localPlan, phaseNames, probe, trustedTls } from '../helpers/plans.js';
import { banner, ehloSteps, quitSteps, startScriptedServer, type ScriptStep } from '../helpers/scripted-server.js';

afterEach(closeAll);

/** Plaintext server: `bannerMs` before the greeting, `noopMs` before the NOOP reply. */
function slow(bannerMs: number, noopMs: number): ScriptStep[] {
  return [
    { delay: bannerMs }, banner(), ...ehloSteps(['PIPELINING']),
    { expect: /^NOOP$/ }, { delay: noopMs }, { send: '250 2.0.0 ok\r\n' }, ...quitSteps,
  ];
}

describe('thresholds on the run\'s duration', () => {
  it('under both: ok, no warning', async () => {
    const s = await startScriptedServer(slow(0, 0));
    const r = await probe(localPlan(s.port, { thresholds: { warningMs: 2000, criticalMs: 4000 } }));
    expect(r.failure).toBeNull();
    expect(r.warnings).toEqual([]);
    expect(r.overWarning).toBeUndefined();
  });

  it('over the warning threshold: ok with a warning and overWarning [slow]', async () => {
    const s = await startScriptedServer(slow(250, 0));
    const r = await probe(localPlan(s.port, { thresholds: { warningMs: 100, criticalMs: 4000 } }));
    expect(r.failure).toBeNull();
    expect(r.ok).toBe(true);
    expect(r.warnings).toEqual([expect.stringMatching(/^the run took [\d.]+s, over the warning threshold of 100ms$/)]);
    expect(r.overWarning).toEqual(['slow']);
  });

  it('over the critical threshold: fails with reason slow at the phase in which the run crossed it', async () => {
    const s = await startScriptedServer(slow(200, 300));
    const r = await probe(localPlan(s.port, { thresholds: { warningMs: 50, criticalMs: 350 } }));
    expect(r.ok).toBe(false);
    expect(r.failure).toMatchObject({ phase: 'noop', reason: 'slow', code: null, enhancedCode: null });
    expect(r.failure?.message).toMatch(/^the run took [\d.]+s, over the critical threshold of 350ms$/);
    // The session itself went well: every phase passed, and it ended with QUIT.
    expect(r.phases.every((p) => p.ok)).toBe(true);
    expect(phaseNames(r)).toEqual(['connect', 'banner', 'ehlo', 'noop', 'quit']);
    expect(r.durationMs).toBeGreaterThan(350);
  });

  it('a critical threshold crossed in the first phase names that phase', async () => {
    const s = await startScriptedServer(slow(300, 0));
    const r = await probe(localPlan(s.port, { thresholds: { warningMs: null, criticalMs: 100 } }));
    expect(r.failure).toMatchObject({ phase: 'banner', reason: 'slow' });
  });

  it('a run that failed for another reason keeps that failure', async () => {
    const s = await startScriptedServer([{ delay: 300 }, { send: '554 5.3.2 go away\r\n' }, { close: true }]);
    const r = await probe(localPlan(s.port, { thresholds: { warningMs: 50, criticalMs: 100 } }));
    expect(r.failure).toMatchObject({ phase: 'banner', reason: 'reply', code: 554 });
  });
});

describe('certificate levels: --min-cert-days W,C', () => {
  it('under the warning level: ok with a warning and overWarning [certificate]', async () => {
    const mx = await startFakeMx({ ...certValidFor(10) });
    const r = await probe(localPlan(mx.port, { tls: 'starttls', tlsParams: trustedTls(), minCertDays: 14, criticalCertDays: 7 }));
    expect(r.failure).toBeNull();
    expect(r.tls?.daysLeft).toBe(9);
    expect(r.warnings).toEqual([expect.stringMatching(/^certificate expires in 9 days \(.*\), under the minimum of 14$/)]);
    expect(r.overWarning).toEqual(['certificate']);
  });

  it('under the critical level: fails at tls_upgrade with reason tls, and nothing after the handshake runs', async () => {
    const mx = await startFakeMx({ ...certValidFor(4) });
    const r = await probe(localPlan(mx.port, { tls: 'starttls', tlsParams: trustedTls(), minCertDays: 14, criticalCertDays: 7 }));
    expect(r.failure).toMatchObject({ phase: 'tls_upgrade', reason: 'tls', code: null });
    expect(r.failure?.message).toMatch(/^certificate expires in 3 days \(.*\), under the critical minimum of 7$/);
    expect(phaseNames(r)).not.toContain('ehlo_tls');
    expect(r.tls?.daysLeft).toBe(3);
  });

  it('implicit TLS: the failure is at tls', async () => {
    const mx = await startFakeMx({ secure: true, ...certValidFor(4) });
    const r = await probe(localPlan(mx.port, { tls: 'implicit', tlsParams: trustedTls(), minCertDays: null, criticalCertDays: 7 }));
    expect(r.failure).toMatchObject({ phase: 'tls', reason: 'tls' });
  });

  it('opportunistic TLS fails on the critical level too', async () => {
    const mx = await startFakeMx({ ...certValidFor(4) });
    const r = await probe(localPlan(mx.port, { tls: 'opportunistic', tlsParams: trustedTls(), criticalCertDays: 7 }));
    expect(r.failure).toMatchObject({ phase: 'tls_upgrade', reason: 'tls' });
  });
});

describe('strict: a warning fails the run, at the phase it was recorded in', () => {
  it('a certificate under the warning level: tls_upgrade, reason tls, the warning as the message', async () => {
    const mx = await startFakeMx({ cert: serverCert().cert, key: serverCert().key });
    const r = await probe(localPlan(mx.port, { tls: 'starttls', tlsParams: trustedTls(), minCertDays: 100_000, strict: true }));
    expect(r.ok).toBe(false);
    expect(r.failure).toMatchObject({ phase: 'tls_upgrade', reason: 'tls', code: null, message: expect.stringMatching(/^certificate expires in \d+ days/) });
    expect(r.warnings).toHaveLength(1);
  });

  it('over the warning threshold: reason slow, at the phase that crossed it', async () => {
    const s = await startScriptedServer(slow(250, 0));
    const r = await probe(localPlan(s.port, { thresholds: { warningMs: 100, criticalMs: null }, strict: true }));
    expect(r.failure).toMatchObject({ phase: 'banner', reason: 'slow', message: expect.stringMatching(/over the warning threshold of 100ms/) });
  });

  it('a missing 221 to QUIT: fails at quit', async () => {
    const s = await startScriptedServer([banner(), ...ehloSteps([]), { expect: /^NOOP$/ }, { send: '250 ok\r\n' }, { expect: /^QUIT$/ }, { close: true }]);
    const lax = await probe(localPlan(s.port));
    expect(lax.failure).toBeNull();
    expect(lax.warnings).toHaveLength(1);
    const r = await probe(localPlan(s.port, { strict: true }));
    expect(r.failure).toMatchObject({ phase: 'quit', reason: 'expectation', message: lax.warnings[0] });
  });

  it('without warnings a strict run passes', async () => {
    const s = await startScriptedServer(slow(0, 0));
    expect((await probe(localPlan(s.port, { strict: true }))).ok).toBe(true);
  });
});
