/** The mx_host label (src/metrics/labels.ts mxHostLabel): host names as they are, anything else bounded and distinct. */
import { describe, expect, it } from 'vitest';
import type { CheckResult } from '../../src/core/result.js';
import { mxHostLabel, reasonLabel } from '../../src/metrics/labels.js';
import { createRegistry } from '../../src/metrics/registry.js';
import { RunMetrics } from '../../src/metrics/run.js';
import { family, parseExposition } from './exposition.js';
import { authFailure, fullSuccess, meta } from './fixtures.js';

describe('mxHostLabel', () => {
  it('a host name: lower case, without the root dot', () => {
    expect(mxHostLabel('MX1.Example.TEST.')).toBe('mx1.example.test');
    expect(mxHostLabel('_dmarc-x.example.test')).toBe('_dmarc-x.example.test');
  });

  it('anything else: invalid-<hash>, the same for the same name, different for different names, bounded in length', () => {
    const hostile = ['evil host', 'évil.test', 'a'.repeat(300), 'x"}\n', 'bad..test', '-lead.test', ''];
    const labels = hostile.map(mxHostLabel);
    for (const l of labels) expect(l).toMatch(/^invalid-[0-9a-f]{12}$/);
    expect(new Set(labels).size).toBe(hostile.length);
    expect(mxHostLabel('evil host')).toBe(labels[0]);
    // Case and the root dot do not make a different host.
    expect(mxHostLabel('EVIL HOST.')).toBe(labels[0]);
  });
});

describe('two hostile MX names of one target', () => {
  it('keep two series instead of overwriting one mx_host="invalid"', async () => {
    const registry = createRegistry();
    const metrics = new RunMetrics(registry, { version: '1', staticLabelNames: [] });
    const mx = (r: CheckResult, host: string, preference: number): CheckResult => ({ ...r, url: 'mx://d.test:25', mx: { host, preference, address: null } });
    metrics.recordRun(meta('d'), [mx(fullSuccess('d'), 'first bad name', 10), mx(authFailure('d'), 'second bad name', 20)]);
    const e = parseExposition(await registry.metrics());
    const success = family(e, 'smtp_probe_success');
    expect(Object.keys(success)).toHaveLength(2);
    expect(Object.values(success).sort()).toEqual([0, 1]);
  });
});

describe('reason label', () => {
  it('slow (over --critical / thresholds.critical) is a reason of its own, not internal', async () => {
    expect(reasonLabel('slow')).toBe('slow');
    const registry = createRegistry();
    const metrics = new RunMetrics(registry, { version: '1', staticLabelNames: [] });
    const slow = fullSuccess('s', { ok: false, failure: { phase: 'noop', reason: 'slow', code: null, enhancedCode: null, message: 'the run took 6s' } });
    metrics.recordRun(meta('s'), [slow]);
    const failures = family(parseExposition(await registry.metrics()), 'smtp_probe_failures_total', { target: 's' });
    expect(failures).toEqual({ 'phase=noop,reason=slow': 1 });
  });
});
