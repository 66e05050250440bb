import { register } from 'prom-client';
import { describe, expect, it } from 'vitest';
import { createRegistry } from '../../src/metrics/registry.js';
import { parseExposition } from './exposition.js';

describe('createRegistry', () => {
  it('a new registry with the standard process metrics, never the global default', async () => {
    const registry = createRegistry();
    expect(registry).not.toBe(register);
    const e = parseExposition(await registry.metrics());
    expect(e.type.get('process_cpu_seconds_total')).toBe('counter');
    expect(e.type.get('process_start_time_seconds')).toBe('gauge');
    expect(e.type.get('nodejs_heap_size_used_bytes')).toBe('gauge');
    expect(e.type.get('nodejs_active_handles')).toBe('gauge');
    // Gauges named ..._total (promtool: "non-counter metrics should not have _total suffix") are left out.
    expect([...e.type.keys()].filter((name) => name.endsWith('_total') && e.type.get(name) !== 'counter')).toEqual([]);
    expect(register.getMetricsAsArray()).toEqual([]);
  });

  it('without process metrics: empty', () => {
    expect(createRegistry({ processMetrics: false }).getMetricsAsArray()).toEqual([]);
  });

  it('each call is independent', () => {
    const a = createRegistry();
    const b = createRegistry();
    expect(a).not.toBe(b);
    expect(a.getSingleMetric('process_cpu_seconds_total')).not.toBe(b.getSingleMetric('process_cpu_seconds_total'));
  });
});
