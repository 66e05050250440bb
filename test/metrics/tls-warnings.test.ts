/**
 * smtp_probe_tls_verified (0/1, absent without TLS) and smtp_probe_warnings{kind} (the last run's warnings
 * counted by kind; kinds the last run did not have are removed), from real runs against in-process servers on
 * loopback, and from hand-built records for the edge cases (several of one kind, records without kinds, MX hosts).
 */
import { Registry } from 'prom-client';
import { afterEach, describe, expect, it } from 'vitest';
import type { CheckResult } from '../../src/core/result.js';
import { createRegistry } from '../../src/metrics/registry.js';
import { RunMetrics } from '../../src/metrics/run.js';
import { selfSignedCert, certValidFor } from '../helpers/certs.js';
import { closeAll } from '../helpers/cleanup.js';
import { startFakeMx } from '../helpers/fake-mx.js';
import { makePlan } from '../../src/plan/build.js';
import { runTarget } from '../../src/runner/mx.js';
import { runWithRetries, systemDeps } from '../../src/runner/run.js';
import { ZONE } from '../dns/fixtures.js';
import { startResponders } from '../dns/responder.js';
import { startDnsServer } from '../helpers/dns-server.js';
import { localPlan, probe, trustedTls } from '../helpers/plans.js';
import { banner, quitSteps, reply, startScriptedServer } from '../helpers/scripted-server.js';
import { family, parseExposition, samplesOf, type Exposition } from './exposition.js';
import { fullSuccess, meta, rcptFailure, tlsInfo } from './fixtures.js';

afterEach(closeAll);

function setup(staticLabelNames: string[] = []): { registry: Registry; metrics: RunMetrics; scrape: () => Promise<Exposition> } {
  const registry = createRegistry({ processMetrics: false });
  const metrics = new RunMetrics(registry, { version: '1.2.3', staticLabelNames });
  return { registry, metrics, scrape: async () => parseExposition(await registry.metrics()) };
}

describe('smtp_probe_tls_verified, from real runs', () => {
  it('1 after a verified STARTTLS, 0 with insecure_skip_verify on an untrusted certificate, removed after a run without TLS', async () => {
    const { metrics, scrape } = setup(['env']);
    const m = meta('mx', { labels: { env: 'prod' } });
    const trusted = await startFakeMx();
    const verified = await probe(localPlan(trusted.port, { tls: 'starttls', tlsParams: trustedTls() }));
    expect(verified.ok).toBe(true);
    metrics.recordRun(m, [verified]);
    expect(family(await scrape(), 'smtp_probe_tls_verified')).toEqual({ 'env=prod,target=mx': 1 });

    const untrusted = await startFakeMx(selfSignedCert());
    const skipped = await probe(localPlan(untrusted.port, { tls: 'starttls', tlsParams: trustedTls({ insecure: true }) }));
    expect(skipped.ok).toBe(true);
    expect(skipped.tls).toMatchObject({ verified: false, verificationSkipped: true });
    metrics.recordRun(m, [skipped]);
    expect(family(await scrape(), 'smtp_probe_tls_verified')).toEqual({ 'env=prod,target=mx': 0 });

    const plain = await probe(localPlan(trusted.port, { tls: 'none' }));
    expect(plain.ok).toBe(true);
    expect(plain.tls).toBeNull();
    metrics.recordRun(m, [plain]);
    const e = await scrape();
    expect(e.type.get('smtp_probe_tls_verified')).toBe('gauge');
    expect(samplesOf(e, 'smtp_probe_tls_verified')).toEqual([]);
  });

  it('absent for a target that never did TLS', async () => {
    const { metrics, scrape } = setup();
    const mx = await startFakeMx();
    metrics.recordRun(meta('plain'), [await probe(localPlan(mx.port, { tls: 'none' }))]);
    const e = await scrape();
    expect(samplesOf(e, 'smtp_probe_success')).toHaveLength(1);
    expect(samplesOf(e, 'smtp_probe_tls_verified')).toEqual([]);
  });

  it('per MX host, with mx_host', async () => {
    const { metrics, scrape } = setup();
    const mx = (host: string, r: CheckResult): CheckResult => ({ ...r, url: 'mx://example.test', mx: { host, preference: 10, address: '192.0.2.1' } });
    metrics.recordRun(meta('mail'), [
      mx('mx1.example.test', fullSuccess('mail')),
      mx('mx2.example.test', fullSuccess('mail', { tls: tlsInfo({ verified: false, verifyError: 'self-signed' }) })),
      mx('mx3.example.test', rcptFailure('mail')),
    ]);
    expect(family(await scrape(), 'smtp_probe_tls_verified')).toEqual({
      'mx_host=mx1.example.test,target=mail': 1, 'mx_host=mx2.example.test,target=mail': 0,
    });
  });
});

describe('smtp_probe_warnings{kind}, from real runs', () => {
  it('counts the kinds of the last run; a run without them removes their series', async () => {
    const { metrics, scrape } = setup();
    const m = meta('mx');
    // A certificate not trusted (the test CA is not given) under opportunistic TLS, near its expiry, and a run over
    // its warning threshold.
    const mx = await startFakeMx(certValidFor(5));
    const warned = await probe(localPlan(mx.port, {
      tls: 'opportunistic', tlsParams: trustedTls({ ca: undefined }), minCertDays: 14, thresholds: { warningMs: 0, criticalMs: null },
    }));
    expect(warned.ok).toBe(true);
    expect(warned.warningKinds).toEqual(['tls_unverified', 'cert_expiring', 'slow']);
    expect(warned.warningKinds).toHaveLength(warned.warnings.length);
    metrics.recordRun(m, [warned]);
    expect(family(await scrape(), 'smtp_probe_warnings')).toEqual({
      'kind=cert_expiring,target=mx': 1, 'kind=slow,target=mx': 1, 'kind=tls_unverified,target=mx': 1,
    });

    // EHLO refused, HELO accepted: only helo_fallback is left.
    const s = await startScriptedServer([
      banner(),
      ...reply(/^EHLO /, '502 5.5.1 EHLO not implemented'),
      ...reply(/^HELO /, '250 mx.example.test'),
      ...reply(/^NOOP$/, '250 ok'),
      ...quitSteps,
    ]);
    const helo = await probe(localPlan(s.port));
    expect(helo.warningKinds).toEqual(['helo_fallback']);
    metrics.recordRun(m, [helo]);
    expect(family(await scrape(), 'smtp_probe_warnings')).toEqual({ 'kind=helo_fallback,target=mx': 1 });

    // A clean run: no warnings series at all.
    const clean = await probe(localPlan((await startFakeMx()).port, { tls: 'starttls', tlsParams: trustedTls() }));
    expect(clean.warnings).toEqual([]);
    expect(clean.warningKinds).toBeUndefined();
    metrics.recordRun(m, [clean]);
    const e = await scrape();
    expect(e.type.get('smtp_probe_warnings')).toBe('gauge');
    expect(samplesOf(e, 'smtp_probe_warnings')).toEqual([]);
  });
});

describe('warningKinds in records made after the run', () => {
  it('retries: each earlier attempt is a retried warning before the last attempt\'s own', async () => {
    const s = await startScriptedServer([], {
      scriptFor: (i) => (i < 2
        ? [{ send: '421 4.3.2 try again later\r\n' }, { close: true }]
        : [banner(), ...reply(/^EHLO /, '502 5.5.1 no'), ...reply(/^HELO /, '250 ok'), ...reply(/^NOOP$/, '250 ok'), ...quitSteps]),
    });
    const r = await runWithRetries(localPlan(s.port), systemDeps(), 2, 10);
    expect(r.ok).toBe(true);
    expect(r.warningKinds).toEqual(['retried', 'retried', 'helo_fallback']);
    expect(r.warnings).toHaveLength(3);
    const { metrics, scrape } = setup();
    metrics.recordRun(meta('r'), [r]);
    expect(family(await scrape(), 'smtp_probe_warnings')).toEqual({ 'kind=helo_fallback,target=r': 1, 'kind=retried,target=r': 2 });
  });
});

describe('warningKinds of an mx:// run', () => {
  it('implicit MX: implicit_mx on the one MX host result, counted with its mx_host', async () => {
    const dns = await startDnsServer(ZONE);
    const smtp = await startResponders({ '127.0.0.1': {} });
    const plan = makePlan({
      host: 'solo.test', port: smtp.port, tls: 'none', ehlo: 'probe.example.test', steps: ['banner', 'ehlo', 'noop', 'quit'],
      phaseTimeoutMs: 1000, timeoutMs: 3000, mx: { maxHosts: null }, dnsServers: [dns.address],
    });
    const results = await runTarget(plan, systemDeps());
    expect(results.map((r) => r.warningKinds)).toEqual([['implicit_mx']]);
    const { metrics, scrape } = setup();
    metrics.recordRun(meta('solo'), results);
    expect(family(await scrape(), 'smtp_probe_warnings')).toEqual({ 'kind=implicit_mx,mx_host=solo.test,target=solo': 1 });
  });
});

describe('smtp_probe_warnings{kind}, edge cases', () => {
  it('several warnings of one kind count up; a record without kinds counts its warnings as other', async () => {
    const { metrics, scrape } = setup();
    metrics.recordRun(meta('a'), [fullSuccess('a', {
      warnings: ['192.0.2.1: refused', '192.0.2.2: refused', 'slow'], warningKinds: ['address_failed', 'address_failed', 'slow'],
    })]);
    metrics.recordRun(meta('b'), [fullSuccess('b', { warnings: ['from an older record'] })]);
    expect(family(await scrape(), 'smtp_probe_warnings')).toEqual({
      'kind=address_failed,target=a': 2, 'kind=slow,target=a': 1, 'kind=other,target=b': 1,
    });
  });

  it('a kind outside the vocabulary (a record from elsewhere) becomes other, never a new label value', async () => {
    const { metrics, registry } = setup();
    const odd = fullSuccess('a', { warnings: ['x'], warningKinds: ['no such "kind"\n' as never] });
    metrics.recordRun(meta('a'), [odd]);
    const text = await registry.metrics();
    expect(text).toContain('smtp_probe_warnings{target="a",kind="other"} 1');
    expect(text).not.toContain('no such');
  });

  it('per MX host; forget removes them', async () => {
    const { metrics, scrape } = setup();
    const mx = (host: string, r: CheckResult): CheckResult => ({ ...r, url: 'mx://example.test', mx: { host, preference: 10, address: '192.0.2.1' } });
    metrics.recordRun(meta('mail'), [
      mx('mx1.example.test', fullSuccess('mail', { warnings: ['implicit MX'], warningKinds: ['implicit_mx'] })),
      mx('mx2.example.test', fullSuccess('mail')),
    ]);
    expect(family(await scrape(), 'smtp_probe_warnings')).toEqual({ 'kind=implicit_mx,mx_host=mx1.example.test,target=mail': 1 });
    metrics.forget('mail');
    expect(samplesOf(await scrape(), 'smtp_probe_warnings')).toEqual([]);
  });

  it('new static label names (a reload) write them again with the new labels', async () => {
    const { metrics, scrape } = setup([]);
    metrics.recordRun(meta('a', { labels: { env: 'prod' } }), [fullSuccess('a', { warnings: ['w'], warningKinds: ['slow'] })]);
    metrics.setStaticLabelNames(['env']);
    const e = await scrape();
    expect(family(e, 'smtp_probe_warnings')).toEqual({ 'env=prod,kind=slow,target=a': 1 });
    expect(family(e, 'smtp_probe_tls_verified')).toEqual({ 'env=prod,target=a': 1 });
  });
});
