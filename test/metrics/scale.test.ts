/**
 * 10,000 targets × a realistic result: everything is recorded and rendered correctly. No timing assertions;
 * the record and render times and the output size are printed for a human to read.
 *
 * With per-target phase histograms (`phase_histograms: target`), 10,000 targets make a 258 MB exposition (2.5
 * million lines) and the test worker peaks above 2 GB, so that case runs with 1,000 targets unless
 * SCALE_HISTOGRAM_TARGETS says otherwise (`SCALE_HISTOGRAM_TARGETS=10000 npx vitest run test/metrics/scale.test.ts`).
 * The default (`module`) adds one histogram per module and phase, whatever the number of targets.
 */
import { performance } from 'node:perf_hooks';
import { describe, expect, it } from 'vitest';
import type { PhaseHistograms } from '../../src/core/target-meta.js';
import { TargetMetrics } from '../../src/metrics/record.js';
import { createRegistry } from '../../src/metrics/registry.js';
import { authFailure, fullSuccess, meta } from './fixtures.js';

const TARGETS = 10_000;
const HISTOGRAM_TARGETS = Number(process.env.SCALE_HISTOGRAM_TARGETS ?? 1_000);

async function fleet(targets: number, phaseHistograms: PhaseHistograms): Promise<string> {
  const registry = createRegistry();
  const metrics = new TargetMetrics(registry, { version: '1.2.3', staticLabelNames: ['env', 'region'] });
  const metas = Array.from({ length: targets }, (_, i) =>
    meta(`mx-${String(i).padStart(5, '0')}`, { labels: { env: i % 2 ? 'prod' : 'staging', region: `r${i % 7}` }, phaseHistograms }));
  const results = metas.map((m, i) => (i % 10 === 0 ? authFailure(m.name) : fullSuccess(m.name)));

  let t0 = performance.now();
  for (let i = 0; i < targets; i += 1) metrics.record(metas[i]!, results[i]!);
  const firstMs = performance.now() - t0;
  t0 = performance.now();
  // Target i now gets result i+1: one target in five changes between success and auth failure.
  for (let i = 0; i < targets; i += 1) metrics.record(metas[i]!, results[(i + 1) % targets]!);
  const nextMs = performance.now() - t0;
  metrics.observeLag(0.01);

  t0 = performance.now();
  const text = await registry.metrics();
  const renderMs = performance.now() - t0;
  const lines = count(text, '');
  console.log(`[metrics scale] ${targets} targets, phase_histograms ${phaseHistograms}: ` +
    `record ${(firstMs * 1000 / targets).toFixed(1)} µs/result (first), ${(nextMs * 1000 / targets).toFixed(1)} µs (next); ` +
    `render ${renderMs.toFixed(0)} ms, ` +
    `${(text.length / 1024 / 1024).toFixed(1)} MiB, ${lines} lines`);
  return text;
}

/** Lines starting with `prefix`, without splitting the (up to 260 MB) text. */
function count(text: string, prefix: string): number {
  let n = 0;
  for (let at = 0; at < text.length; at = text.indexOf('\n', at) + 1 || text.length) {
    if (text.startsWith(prefix, at)) n += 1;
  }
  return n;
}

describe('a fleet of targets', () => {
  it('10,000 targets, phase_histograms module (the default): every series of every target', { timeout: 60_000 }, async () => {
    const text = await fleet(TARGETS, 'module');
    expect(count(text, 'smtp_probe_success{')).toBe(TARGETS);
    expect(count(text, 'smtp_probe_success{') - count(text, 'smtp_probe_success{target="mx-')).toBe(0);
    // After the second pass target i shows result i+1: 1,000 auth failures (9 phases, 6 codes), 9,000 full runs.
    expect(count(text, 'smtp_probe_phase_last_duration_seconds{')).toBe(1000 * 9 + 9000 * 13);
    expect(count(text, 'smtp_probe_reply_code{')).toBe(1000 * 6 + 9000 * 10);
    expect(count(text, 'smtp_probe_runs_total{')).toBe(2 * TARGETS);
    expect(count(text, 'smtp_probe_failures_total{')).toBe(2000); // i % 10 === 0 or (i + 1) % 10 === 0
    expect(count(text, 'smtp_probe_phase_duration_seconds_')).toBe(0);
    // One module: one histogram per phase (13), 20,000 observations each of the 9 phases both results have.
    expect(count(text, 'smtp_probe_module_phase_duration_seconds_count{')).toBe(13);
    expect(count(text, 'smtp_probe_module_phase_duration_seconds_count{module="submission",phase="auth"} 20000')).toBe(1);
  });

  it(`${HISTOGRAM_TARGETS} targets, phase_histograms target: a histogram per target and phase`, { timeout: 120_000 }, async () => {
    const text = await fleet(HISTOGRAM_TARGETS, 'target');
    expect(count(text, 'smtp_probe_success{')).toBe(HISTOGRAM_TARGETS);
    // The auth-failure result has 9 phases, all in the 13 of the full run: 13 histograms per target.
    expect(count(text, 'smtp_probe_phase_duration_seconds_count{')).toBe(13 * HISTOGRAM_TARGETS);
    expect(count(text, 'smtp_probe_phase_duration_seconds_bucket{')).toBe(13 * 15 * HISTOGRAM_TARGETS);
  });
});
