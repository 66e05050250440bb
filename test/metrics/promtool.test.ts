/**
 * `promtool check metrics` (it must find nothing to complain about) on everything /metrics and /probe
 * can show. Needs promtool on PATH (Debian: `apt-get install --no-install-recommends prometheus`); skipped
 * without it.
 */
import { spawnSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import type { CheckResult } from '../../src/core/result.js';
import { probeRegistry } from '../../src/metrics/probe.js';
import { TargetMetrics } from '../../src/metrics/record.js';
import { createRegistry } from '../../src/metrics/registry.js';
import { authFailure, connectTimeout, fullSuccess, meta, rcptFailure } from './fixtures.js';

const promtool = spawnSync('promtool', ['--version'], { encoding: 'utf8' });
const SKIP_REASON = promtool.error || promtool.status !== 0
  ? 'promtool not on PATH (Debian package "prometheus"); `promtool check metrics` not run'
  : null;

function promtoolCheck(text: string): { status: number | null; output: string } {
  const run = spawnSync('promtool', ['check', 'metrics'], { input: text, encoding: 'utf8', timeout: 30_000 });
  return { status: run.status, output: `${run.stdout}${run.stderr}`.trim() };
}

const FIXTURES: Record<string, (target: string) => CheckResult> = { fullSuccess, authFailure, rcptFailure, connectTimeout };

describe('promtool check metrics', () => {
  it('/metrics: every family, with process metrics, histograms, static labels and MX hosts', async (ctx) => {
    if (SKIP_REASON) ctx.skip(SKIP_REASON);
    const registry = createRegistry();
    const metrics = new TargetMetrics(registry, { version: '0.1.0', staticLabelNames: ['env', 'team'] });
    const withHistograms = meta('submission', { labels: { env: 'prod', team: 'mail "ops" \\ \n' }, phaseHistograms: 'target' });
    for (const make of Object.values(FIXTURES)) metrics.record(withHistograms, make('submission'));
    metrics.record(meta('relay', { labels: { env: 'test' } }), rcptFailure('relay'));
    metrics.recordRun(meta('domain'), [
      { ...fullSuccess('domain'), mx: { host: 'mx1.example.test', preference: 10, address: '192.0.2.1' } },
      { ...authFailure('domain'), mx: { host: 'mx2.example.test', preference: 20, address: '192.0.2.2' } },
    ]);
    metrics.skipped(withHistograms);
    metrics.observeLag(0.05);
    metrics.configReloaded(true, Date.now());
    const text = await registry.metrics();
    expect(text).toContain('smtp_probe_phase_duration_seconds_bucket{');
    expect(promtoolCheck(text)).toEqual({ status: 0, output: '' });
  });

  it('/metrics before any run', async (ctx) => {
    if (SKIP_REASON) ctx.skip(SKIP_REASON);
    const registry = createRegistry();
    new TargetMetrics(registry, { version: '0.1.0', staticLabelNames: [] });
    expect(promtoolCheck(await registry.metrics())).toEqual({ status: 0, output: '' });
  });

  for (const [name, make] of Object.entries(FIXTURES)) {
    it(`/probe: ${name}`, async (ctx) => {
      if (SKIP_REASON) ctx.skip(SKIP_REASON);
      const text = await probeRegistry(make('m'), { timeoutSeconds: 10 }).metrics();
      expect(promtoolCheck(text)).toEqual({ status: 0, output: '' });
    });
  }

  it('catches what it should (the check is live)', (ctx) => {
    if (SKIP_REASON) ctx.skip(SKIP_REASON);
    const bad = '# HELP x_total a gauge named like a counter\n# TYPE x_total gauge\nx_total 1\n';
    expect(promtoolCheck(bad).output).toContain('_total');
  });
});
