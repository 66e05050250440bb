/**
 * The fast per-target families (src/metrics/series.ts) render exactly what prom-client would, and fall back
 * to prom-client's own rendering where their shortcut does not apply.
 */
import { Gauge, Registry, type OpenMetricsContentType } from 'prom-client';
import { describe, expect, it } from 'vitest';
import { TargetMetrics } from '../../src/metrics/record.js';
import { createRegistry } from '../../src/metrics/registry.js';
import { createLabelSet, SeriesCounter, SeriesGauge } from '../../src/metrics/series.js';
import { family, parseExposition } from './exposition.js';
import { authFailure, fullSuccess, meta } from './fixtures.js';

const AWKWARD = { target: 'a', env: 'quote " backslash \\ newline \n end' };

describe('SeriesGauge / SeriesCounter', () => {
  it('render label values exactly as prom-client does', async () => {
    const ours = new Registry();
    new SeriesGauge<typeof AWKWARD>({ name: 'x_seconds', help: 'h', registry: ours }).set(createLabelSet(AWKWARD), 1.5);
    const theirs = new Registry();
    new Gauge({ name: 'x_seconds', help: 'h', labelNames: ['target', 'env'], registers: [theirs] }).set(AWKWARD, 1.5);
    expect(await ours.metrics()).toBe(await theirs.metrics());
    expect(family(parseExposition(await ours.metrics()), 'x_seconds')).toEqual({ [`env=${AWKWARD.env},target=a`]: 1.5 });
  });

  it('set replaces, inc adds, remove deletes; a counter never goes down', async () => {
    const registry = new Registry();
    const gauge = new SeriesGauge<{ target: string }>({ name: 'g', help: 'h', registry });
    const counter = new SeriesCounter<{ target: string }>({ name: 'c_total', help: 'h', registry });
    const a = createLabelSet({ target: 'a' });
    const b = createLabelSet({ target: 'b' });
    gauge.set(a, 1);
    gauge.set(a, 2);
    gauge.set(b, 3);
    gauge.remove(b);
    counter.inc(a, 0);
    counter.inc(a);
    counter.inc(a, 2.5);
    expect(() => counter.inc(a, -1)).toThrow(RangeError);
    expect(() => counter.inc(a, Number.NaN)).toThrow(RangeError);
    expect(await registry.metrics()).toBe(
      '# HELP g h\n# TYPE g gauge\ng{target="a"} 2\n\n# HELP c_total h\n# TYPE c_total counter\nc_total{target="a"} 3.5\n');
    registry.resetMetrics();
    expect(await registry.metrics()).toBe('# HELP g h\n# TYPE g gauge\n\n# HELP c_total h\n# TYPE c_total counter\n');
  });
});

describe('TargetMetrics on unusual registries', () => {
  it('getMetricsAsJSON has the full label sets', async () => {
    const registry = createRegistry({ processMetrics: false });
    const metrics = new TargetMetrics(registry, { version: '1', staticLabelNames: ['env'] });
    metrics.record(meta('a', { labels: { env: 'prod' } }), authFailure('a'));
    const json = await registry.getMetricsAsJSON();
    const failures = json.find((m) => m.name === 'smtp_probe_failures_total');
    expect(failures?.values).toEqual([{ value: 1, labels: { target: 'a', env: 'prod', phase: 'auth', reason: 'reply' } }]);
  });

  it('a registry with default labels renders them too', async () => {
    const registry = createRegistry({ processMetrics: false });
    registry.setDefaultLabels({ instance: 'probe-1' });
    const metrics = new TargetMetrics(registry, { version: '1', staticLabelNames: ['env'] });
    metrics.record(meta('a', { labels: { env: 'prod' } }), fullSuccess('a'));
    const e = parseExposition(await registry.metrics());
    expect(family(e, 'smtp_probe_success')).toEqual({ 'env=prod,instance=probe-1,target=a': 1 });
    expect(family(e, 'smtp_probe_reply_code', { phase: 'rcpt' })).toEqual({ 'env=prod,instance=probe-1,target=a': 251 });
  });

  it('OpenMetrics: counters get their _total the OpenMetrics way', async () => {
    const registry = createRegistry({ processMetrics: false });
    // The daemon's registry is typed for the Prometheus format; switch this one at run time.
    (registry as unknown as Registry<OpenMetricsContentType>).setContentType(Registry.OPENMETRICS_CONTENT_TYPE);
    const metrics = new TargetMetrics(registry, { version: '1', staticLabelNames: [] });
    metrics.record(meta('a'), authFailure('a'));
    const text = await registry.metrics();
    expect(text).toContain('# TYPE smtp_probe_runs counter\n');
    expect(text).toContain('smtp_probe_runs_total{target="a",result="failure"} 1\n');
    expect(text).toContain('smtp_probe_reply_code{target="a",phase="auth"} 535\n');
    expect(text.endsWith('# EOF\n')).toBe(true);
  });
});
