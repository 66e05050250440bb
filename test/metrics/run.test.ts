import { describe, expect, it } from 'vitest';
import type { CheckResult } from '../../src/core/result.js';
import { createRegistry } from '../../src/metrics/registry.js';
import { RunMetrics } from '../../src/metrics/run.js';
import { family, parseExposition, valueOf, type Exposition } from './exposition.js';
import { authFailure, connectTimeout, fullSuccess, meta } from './fixtures.js';

function setup(staticLabelNames: string[] = []): { metrics: RunMetrics; scrape: () => Promise<Exposition> } {
  const registry = createRegistry();
  const metrics = new RunMetrics(registry, { version: '1.2.3', staticLabelNames });
  return { metrics, scrape: async () => parseExposition(await registry.metrics()) };
}

const MX_URL = 'mx://example.test:25';
const mxHost = (r: CheckResult, host: string, preference: number): CheckResult =>
  ({ ...r, url: MX_URL, mx: { host, preference, address: '192.0.2.1' } });
const roundtrip = (deliveredMs: number | null): CheckResult['roundtrip'] => ({
  deliveredMs, folder: deliveredMs === null ? null : 'INBOX', transitMs: null, authResults: null,
  hops: [{ index: 1, delayMs: 1500 }, { index: 2, delayMs: null }] as NonNullable<CheckResult['roundtrip']>['hops'],
});

describe('RunMetrics.recordRun: what applies is read from the results', () => {
  it('an smtp:// run: the target series, no mx or round-trip series', async () => {
    const { metrics, scrape } = setup();
    metrics.recordRun(meta('m'), [fullSuccess('m')]);
    const e = await scrape();
    expect(valueOf(e, 'smtp_probe_success', { target: 'm' })).toBe(1);
    expect(family(e, 'smtp_probe_mx_up_ratio')).toEqual({});
    expect(family(e, 'smtp_probe_roundtrip_late_total')).toEqual({});
  });

  it('an mx:// run: per-host series and the up ratio; a DNS-only failure (no mx on the result) removes the hosts', async () => {
    const { metrics, scrape } = setup();
    metrics.recordRun(meta('d'), [mxHost(fullSuccess('d'), 'mx1.example.test', 10), mxHost(authFailure('d'), 'mx2.example.test', 20)]);
    let e = await scrape();
    expect(valueOf(e, 'smtp_probe_mx_up_ratio', { target: 'd' })).toBe(0.5);
    expect(valueOf(e, 'smtp_probe_success', { target: 'd', mx_host: 'mx1.example.test' })).toBe(1);
    metrics.recordRun(meta('d'), [{ ...connectTimeout('d'), url: MX_URL }]);
    e = await scrape();
    expect(valueOf(e, 'smtp_probe_mx_up_ratio', { target: 'd' })).toBe(0);
    expect(family(e, 'smtp_probe_mx_info')).toEqual({});
    expect(valueOf(e, 'smtp_probe_success', { target: 'd', mx_host: 'mx1.example.test' })).toBeUndefined();
    expect(valueOf(e, 'smtp_probe_success', { target: 'd' })).toBe(0);
  });

  it('round-trip totals give the late/never counters on every run; a result with a round trip gives the latency', async () => {
    const { metrics, scrape } = setup();
    metrics.recordRun(meta('rt'), [authFailure('rt')], { late: 0, never: 0 });
    let e = await scrape();
    expect(valueOf(e, 'smtp_probe_roundtrip_late_total', { target: 'rt' })).toBe(0);
    expect(valueOf(e, 'smtp_probe_roundtrip_never_total', { target: 'rt' })).toBe(0);
    expect(valueOf(e, 'smtp_probe_received_hops', { target: 'rt' })).toBeUndefined();
    metrics.recordRun(meta('rt'), [fullSuccess('rt', { roundtrip: roundtrip(2500) })], { late: 2, never: 1 });
    e = await scrape();
    expect(valueOf(e, 'smtp_probe_roundtrip_late_total', { target: 'rt' })).toBe(2);
    expect(valueOf(e, 'smtp_probe_roundtrip_never_total', { target: 'rt' })).toBe(1);
    expect(valueOf(e, 'smtp_probe_received_hops', { target: 'rt' })).toBe(2);
    expect(family(e, 'smtp_probe_hop_delay_seconds')).toEqual({ 'hop=1,target=rt': 1.5 });
    expect(valueOf(e, 'smtp_probe_roundtrip_seconds_count', { target: 'rt' })).toBe(1);
  });

  it('forget removes a target from every part; the same static label names again change nothing', async () => {
    const { metrics, scrape } = setup(['env']);
    const m = meta('d', { labels: { env: 'prod' } });
    metrics.recordRun(m, [mxHost(fullSuccess('d'), 'mx1.example.test', 10)], { late: 1, never: 0 });
    metrics.setStaticLabelNames(['env']);
    expect(valueOf(await scrape(), 'smtp_probe_mx_up_ratio', { target: 'd', env: 'prod' })).toBe(1);
    metrics.forget('d');
    const e = await scrape();
    expect(family(e, 'smtp_probe_success')).toEqual({});
    expect(family(e, 'smtp_probe_mx_up_ratio')).toEqual({});
  });
});
