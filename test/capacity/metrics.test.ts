/**
 * The capacity series on /metrics (through RunMetrics, the daemon's one entry): the last run's p50/p95/max per
 * phase, sessions by result, max concurrent ok and the timestamp; removed with the target or its capacity option;
 * and `promtool check metrics` has nothing to say about them.
 */
import { spawnSync } from 'node:child_process';
import { describe, expect, test } from 'vitest';
import type { CapacityReport } from '../../src/core/capacity.js';
import type { TargetMeta } from '../../src/core/target-meta.js';
import { createRegistry } from '../../src/metrics/registry.js';
import { RunMetrics } from '../../src/metrics/run.js';

const meta = (name: string, labels: Record<string, string> = {}): TargetMeta => ({ name, labels, module: 'm', phaseHistograms: 'none', intervalMs: 60_000 });

function report(over: Partial<CapacityReport> = {}): CapacityReport {
  return {
    url: 'smtp://127.0.0.1:25', sessions: 5, until: 'starttls', durationMs: 10_000, ratePerSecond: null, address: '127.0.0.1', loopback: true,
    startedAt: '2026-01-01T00:00:00.000Z', elapsedMs: 10_010, ok: true, started: 900,
    results: { accepted: 900, refused: 0, '421': 0, '4xx': 0, '5xx': 0, timeout: 0, error: 0 }, maxConcurrentOk: 5,
    phases: {
      connect: { count: 900, meanMs: 2, p50Ms: 1.5, p95Ms: 4, maxMs: 12 }, banner: { count: 900, meanMs: 3, p50Ms: 2, p95Ms: 7, maxMs: 47 },
      tls: { count: 900, meanMs: 8, p50Ms: 7.5, p95Ms: 15, maxMs: 31 },
    },
    stoppedBy421: null, problems: [], interrupted: false, failure: null, ...over,
  };
}

const capacityLines = async (registry: ReturnType<typeof createRegistry>): Promise<string[]> =>
  (await registry.metrics()).split('\n').filter((l) => l.startsWith('smtp_probe_capacity_'));

describe('capacity metrics', () => {
  test('the last run: quantiles 0.5/0.95/1 per phase timed, every result, max concurrent ok, timestamp', async () => {
    const registry = createRegistry({ processMetrics: false });
    const m = new RunMetrics(registry, { version: '0.0.0', staticLabelNames: ['env'] });
    m.recordCapacity(meta('mx1', { env: 'prod' }), report(), Date.UTC(2026, 0, 1, 0, 0, 10));
    const lines = await capacityLines(registry);
    expect(lines).toContain('smtp_probe_capacity_phase_seconds{target="mx1",env="prod",phase="connect",quantile="0.5"} 0.0015');
    expect(lines).toContain('smtp_probe_capacity_phase_seconds{target="mx1",env="prod",phase="banner",quantile="0.95"} 0.007');
    expect(lines).toContain('smtp_probe_capacity_phase_seconds{target="mx1",env="prod",phase="tls",quantile="1"} 0.031');
    expect(lines.filter((l) => l.startsWith('smtp_probe_capacity_phase_seconds{'))).toHaveLength(9);
    // A summary of the run: its _count is the sessions that completed the phase, its _sum their time.
    expect(lines).toContain('smtp_probe_capacity_phase_seconds_count{target="mx1",env="prod",phase="tls"} 900');
    expect(lines).toContain('smtp_probe_capacity_phase_seconds_sum{target="mx1",env="prod",phase="tls"} 7.2');
    expect(await registry.metrics()).toContain('# TYPE smtp_probe_capacity_phase_seconds summary');
    expect(lines).toContain('smtp_probe_capacity_sessions{target="mx1",env="prod",result="accepted"} 900');
    expect(lines).toContain('smtp_probe_capacity_sessions{target="mx1",env="prod",result="421"} 0');
    expect(lines.filter((l) => l.startsWith('smtp_probe_capacity_sessions{'))).toHaveLength(7);
    expect(lines).toContain('smtp_probe_capacity_max_concurrent_ok{target="mx1",env="prod"} 5');
    expect(lines).toContain('smtp_probe_capacity_last_run_timestamp_seconds{target="mx1",env="prod"} 1767225610');
  });

  test('the next run replaces the last: a phase it did not time has no series any more', async () => {
    const registry = createRegistry({ processMetrics: false });
    const m = new RunMetrics(registry, { version: '0.0.0', staticLabelNames: [] });
    m.recordCapacity(meta('mx1'), report(), 0);
    m.recordCapacity(meta('mx1'), report({
      phases: { connect: { count: 3, meanMs: 1, p50Ms: 1, p95Ms: 1, maxMs: 1 } }, maxConcurrentOk: 2,
      results: { accepted: 2, refused: 0, '421': 1, '4xx': 0, '5xx': 0, timeout: 0, error: 0 },
    }), 1000);
    const lines = await capacityLines(registry);
    expect(lines.filter((l) => l.startsWith('smtp_probe_capacity_phase_seconds'))).toEqual([
      'smtp_probe_capacity_phase_seconds{target="mx1",phase="connect",quantile="0.5"} 0.001',
      'smtp_probe_capacity_phase_seconds{target="mx1",phase="connect",quantile="0.95"} 0.001',
      'smtp_probe_capacity_phase_seconds{target="mx1",phase="connect",quantile="1"} 0.001',
      'smtp_probe_capacity_phase_seconds_sum{target="mx1",phase="connect"} 0.003',
      'smtp_probe_capacity_phase_seconds_count{target="mx1",phase="connect"} 3',
    ]);
    expect(lines).toContain('smtp_probe_capacity_sessions{target="mx1",result="421"} 1');
    expect(lines).toContain('smtp_probe_capacity_max_concurrent_ok{target="mx1"} 2');
  });

  test('removed with the target (forget) or with its capacity option (forgetCapacity); other targets keep theirs', async () => {
    const registry = createRegistry({ processMetrics: false });
    const m = new RunMetrics(registry, { version: '0.0.0', staticLabelNames: [] });
    for (const t of ['a', 'b', 'c']) m.recordCapacity(meta(t), report(), 0);
    m.forget('a');
    m.forgetCapacity('b');
    const lines = await capacityLines(registry);
    expect(lines.some((l) => /target="[ab]"/.test(l))).toBe(false);
    expect(lines.filter((l) => l.includes('target="c"'))).toHaveLength(3 * 5 + 7 + 2);
  });

  test('promtool check metrics finds nothing to complain about', async (ctx) => {
    const promtool = spawnSync('promtool', ['--version'], { encoding: 'utf8' });
    if (promtool.error || promtool.status !== 0) ctx.skip('promtool not on PATH (Debian package "prometheus")');
    const registry = createRegistry();
    const m = new RunMetrics(registry, { version: '0.0.0', staticLabelNames: ['env'] });
    m.recordCapacity(meta('mx1', { env: 'prod' }), report(), Date.now());
    const run = spawnSync('promtool', ['check', 'metrics'], { input: await registry.metrics(), encoding: 'utf8', timeout: 30_000 });
    expect(`${run.stdout}${run.stderr}`.trim()).toBe('');
    expect(run.status).toBe(0);
  });
});
