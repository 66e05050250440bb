/**
 * `phase_histograms` as the metrics see it (TargetMeta.phaseHistograms): `module` feeds
 * smtp_probe_module_phase_duration_seconds{module,phase} only, `target` that and the per-target
 * smtp_probe_phase_duration_seconds, `none` neither. A reload that changes the setting, or the module a target
 * runs under, removes the series that no longer apply.
 */
import { Registry } from 'prom-client';
import { describe, expect, it } from 'vitest';
import type { PhaseHistograms } from '../../src/core/target-meta.js';
import { PHASE_BUCKETS } from '../../src/metrics/record.js';
import { createRegistry } from '../../src/metrics/registry.js';
import { RunMetrics } from '../../src/metrics/run.js';
import { family, parseExposition, valueOf, type Exposition } from './exposition.js';
import { authFailure, fullSuccess, meta } from './fixtures.js';

const MODULE = 'smtp_probe_module_phase_duration_seconds';
const TARGET = 'smtp_probe_phase_duration_seconds';

function setup(staticLabelNames: string[] = []): { registry: Registry; metrics: RunMetrics; scrape: () => Promise<Exposition> } {
  const registry = createRegistry({ processMetrics: false });
  const metrics = new RunMetrics(registry, { version: '1.2.3', staticLabelNames });
  return { registry, metrics, scrape: async () => parseExposition(await registry.metrics()) };
}

/** Sample lines of a histogram family (its _bucket, _sum and _count). */
function histogram(e: Exposition, name: string): Exposition['samples'] {
  return e.samples.filter((s) => s.name === `${name}_bucket` || s.name === `${name}_sum` || s.name === `${name}_count`);
}

const at = (phaseHistograms: PhaseHistograms, over: Parameters<typeof meta>[1] = {}) => ({ phaseHistograms, ...over });

describe('phase_histograms: module (the default)', () => {
  it('one histogram per module and phase, without a target label; no per-target histogram', async () => {
    const { metrics, scrape } = setup(['env']);
    metrics.recordRun(meta('a', at('module', { module: 'submission', labels: { env: 'prod' } })), [fullSuccess('a')]);
    metrics.recordRun(meta('b', at('module', { module: 'submission' })), [authFailure('b')]);
    metrics.recordRun(meta('c', at('module', { module: 'relay' })), [fullSuccess('c')]);
    const e = await scrape();
    expect(e.type.get(MODULE)).toBe('histogram');
    expect(histogram(e, TARGET)).toEqual([]);
    for (const s of histogram(e, MODULE)) expect(Object.keys(s.labels).sort(), s.name).toEqual(s.name.endsWith('_bucket') ? ['le', 'module', 'phase'] : ['module', 'phase']);
    // Two runs of module submission: phases both had twice, those after auth once.
    expect(family(e, `${MODULE}_count`, { module: 'submission' })).toEqual({
      'phase=dns': 2, 'phase=connect': 2, 'phase=banner': 2, 'phase=ehlo': 2, 'phase=starttls': 2,
      'phase=tls_upgrade': 2, 'phase=ehlo_tls': 2, 'phase=auth': 2, 'phase=mail': 1, 'phase=rcpt': 1,
      'phase=data': 1, 'phase=message': 1, 'phase=quit': 2,
    });
    expect(valueOf(e, `${MODULE}_count`, { module: 'relay', phase: 'auth' })).toBe(1);
    // The same buckets as the per-target histogram; the two RCPTs of a run are one observation.
    const buckets = family(e, `${MODULE}_bucket`, { module: 'relay', phase: 'rcpt' });
    expect(Object.keys(buckets)).toHaveLength(PHASE_BUCKETS.length + 1);
    expect(buckets).toMatchObject({ 'le=0.001': 0, 'le=0.0025': 1, 'le=+Inf': 1 });
    expect(valueOf(e, `${MODULE}_sum`, { module: 'relay', phase: 'rcpt' })).toBe(0.0013);
  });

  it('an mx:// run observes once per MX host result, as the per-target histogram does', async () => {
    const { metrics, scrape } = setup();
    const mx = (host: string) => ({ ...fullSuccess('mail'), url: 'mx://example.test', mx: { host, preference: 10, address: '192.0.2.1' } });
    metrics.recordRun(meta('mail', at('target', { module: 'inbound' })), [mx('mx1.example.test'), mx('mx2.example.test')]);
    const e = await scrape();
    expect(valueOf(e, `${MODULE}_count`, { module: 'inbound', phase: 'banner' })).toBe(2);
    expect(family(e, `${TARGET}_count`, { phase: 'banner' })).toEqual({
      'mx_host=mx1.example.test,target=mail': 1, 'mx_host=mx2.example.test,target=mail': 1,
    });
  });
});

describe('phase_histograms: target and none', () => {
  it('target: the per-target histogram as before, and the module one', async () => {
    const { metrics, scrape } = setup();
    metrics.recordRun(meta('a', at('target')), [fullSuccess('a')]);
    const e = await scrape();
    expect(valueOf(e, `${TARGET}_count`, { target: 'a', phase: 'auth' })).toBe(1);
    expect(valueOf(e, `${MODULE}_count`, { module: 'submission', phase: 'auth' })).toBe(1);
  });

  it('none: neither (the families are declared, without series)', async () => {
    const { metrics, scrape } = setup();
    metrics.recordRun(meta('a', at('none')), [fullSuccess('a')]);
    const e = await scrape();
    expect(e.type.get(MODULE)).toBe('histogram');
    expect(histogram(e, MODULE)).toEqual([]);
    expect(histogram(e, TARGET)).toEqual([]);
    expect(valueOf(e, 'smtp_probe_success', { target: 'a' })).toBe(1);
  });
});

describe('phase_histograms: a reload that changes it removes what no longer applies', () => {
  it('target → module: the per-target histograms go, the module one keeps counting', async () => {
    const { metrics, scrape } = setup();
    metrics.recordRun(meta('a', at('target')), [fullSuccess('a')]);
    metrics.recordRun(meta('a', at('module')), [fullSuccess('a')]);
    const e = await scrape();
    expect(histogram(e, TARGET)).toEqual([]);
    expect(valueOf(e, `${MODULE}_count`, { module: 'submission', phase: 'auth' })).toBe(2);
  });

  it('module → none: the module series go once no target of the module feeds them', async () => {
    const { metrics, scrape } = setup();
    metrics.recordRun(meta('a', at('module')), [fullSuccess('a')]);
    metrics.recordRun(meta('b', at('module')), [fullSuccess('b')]);
    metrics.recordRun(meta('a', at('none')), [fullSuccess('a')]);
    expect(valueOf(await scrape(), `${MODULE}_count`, { module: 'submission', phase: 'auth' })).toBe(2); // b still feeds it
    metrics.recordRun(meta('b', at('none')), [fullSuccess('b')]);
    expect(histogram(await scrape(), MODULE)).toEqual([]);
    // Switched on again: it starts from zero.
    metrics.recordRun(meta('a', at('module')), [fullSuccess('a')]);
    expect(valueOf(await scrape(), `${MODULE}_count`, { module: 'submission', phase: 'auth' })).toBe(1);
  });

  it('a target moved to another module, or removed, takes the old module series with it when it was the last', async () => {
    const { metrics, scrape } = setup();
    metrics.recordRun(meta('a', at('module', { module: 'old' })), [fullSuccess('a')]);
    metrics.recordRun(meta('b', at('module', { module: 'gone' })), [fullSuccess('b')]);
    metrics.recordRun(meta('a', at('module', { module: 'new' })), [fullSuccess('a')]);
    metrics.forget('b');
    const e = await scrape();
    expect([...new Set(histogram(e, MODULE).map((s) => s.labels.module))]).toEqual(['new']);
  });

  it('new static label names (a reload) leave the module histogram alone', async () => {
    const { metrics, scrape } = setup(['env']);
    metrics.recordRun(meta('a', at('module', { labels: { env: 'prod' } })), [fullSuccess('a')]);
    metrics.setStaticLabelNames(['env', 'site']);
    metrics.recordRun(meta('a', at('module', { labels: { env: 'prod', site: 'x' } })), [fullSuccess('a')]);
    expect(valueOf(await scrape(), `${MODULE}_count`, { module: 'submission', phase: 'auth' })).toBe(2);
  });
});
