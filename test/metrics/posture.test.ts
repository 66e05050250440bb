/** smtp_probe_posture_*: one series per check and MX host, the worst of its addresses; n/a only as info. */
import { spawnSync } from 'node:child_process';
import { Registry } from 'prom-client';
import { describe, expect, test } from 'vitest';
import type { PostureCheckName, PostureFinding, PostureVerdict } from '../../src/core/posture.js';
import type { TargetMeta } from '../../src/core/target-meta.js';
import { RunMetrics } from '../../src/metrics/run.js';
import { postureSeries } from '../../src/metrics/posture.js';

const f = (check: PostureCheckName, result: PostureVerdict, reason: string | null, mxHost: string | null, address: string | null): PostureFinding =>
  ({ check, scope: address ? 'address' : mxHost ? 'mx' : 'domain', mxHost, address, result, reason, detail: '' });

const meta = (name: string): TargetMeta => ({ name, module: 'sec', labels: { env: 'prod' } } as unknown as TargetMeta);

describe('postureSeries', () => {
  test('the domain as mx_host ""; each MX host the worst of its addresses with that address\'s reason', () => {
    expect(postureSeries([
      f('spf', 'pass', null, null, null),
      f('mta_sts', 'warn', 'validation-failure', 'mx2.example.test', null),
      f('starttls', 'pass', null, 'mx1.example.test', '192.0.2.1'),
      f('starttls', 'fail', 'starttls-not-supported', 'mx1.example.test', '2001:db8::1'),
      f('starttls', 'warn', 'x', 'mx1.example.test', '192.0.2.2'),
      f('dane', 'n/a', 'insecure', 'mx1.example.test', '192.0.2.1'),
    ])).toEqual([
      { check: 'spf', mxHost: '', result: 'pass', reason: '' },
      { check: 'mta_sts', mxHost: 'mx2.example.test', result: 'warn', reason: 'validation-failure' },
      { check: 'starttls', mxHost: 'mx1.example.test', result: 'fail', reason: 'starttls-not-supported' },
      { check: 'dane', mxHost: 'mx1.example.test', result: 'n/a', reason: 'insecure' },
    ]);
  });
});

describe('RunMetrics.recordPosture', () => {
  test('1 / 0.5 / 0, no result series for n/a, info for all; the next run replaces, forget removes', async () => {
    const registry = new Registry();
    const m = new RunMetrics(registry, { version: 'test', staticLabelNames: ['env'] });
    m.recordPosture(meta('ex'), [
      f('spf', 'pass', null, null, null),
      f('dmarc', 'warn', 'p-none', null, null),
      f('vrfy', 'fail', 'vrfy-enabled', 'mx1.example.test', '192.0.2.1'),
      f('dane', 'n/a', 'insecure', 'mx1.example.test', '192.0.2.1'),
    ], 1_765_000_000_000);
    let text = await registry.metrics();
    expect(text).toContain('smtp_probe_posture_result{target="ex",env="prod",check="spf",mx_host=""} 1');
    expect(text).toContain('smtp_probe_posture_result{target="ex",env="prod",check="dmarc",mx_host=""} 0.5');
    expect(text).toContain('smtp_probe_posture_result{target="ex",env="prod",check="vrfy",mx_host="mx1.example.test"} 0');
    expect(text).not.toMatch(/smtp_probe_posture_result\{[^}]*check="dane"/);
    expect(text).toContain('smtp_probe_posture_info{target="ex",env="prod",check="dane",mx_host="mx1.example.test",result="n/a",reason="insecure"} 1');
    expect(text).toContain('smtp_probe_posture_info{target="ex",env="prod",check="spf",mx_host="",result="pass",reason=""} 1');
    expect(text).toContain('smtp_probe_posture_last_run_timestamp_seconds{target="ex",env="prod"} 1765000000');

    m.recordPosture(meta('ex'), [f('vrfy', 'pass', null, 'mx1.example.test', '192.0.2.1')], 1_765_000_060_000);
    text = await registry.metrics();
    expect(text).toContain('smtp_probe_posture_result{target="ex",env="prod",check="vrfy",mx_host="mx1.example.test"} 1');
    expect(text).not.toContain('check="spf"');
    expect(text).not.toContain('result="fail"');
    expect(text).toContain('smtp_probe_posture_last_run_timestamp_seconds{target="ex",env="prod"} 1765000060');

    m.forget('ex');
    text = await registry.metrics();
    expect(text).not.toMatch(/^smtp_probe_posture_\w+\{/m);
  });
});

describe('promtool check metrics', () => {
  const promtool = spawnSync('promtool', ['--version'], { encoding: 'utf8' });
  test('finds nothing to complain about in the posture families', async (ctx) => {
    if (promtool.error || promtool.status !== 0) ctx.skip('promtool not on PATH (Debian package "prometheus")');
    const registry = new Registry();
    const m = new RunMetrics(registry, { version: 'test', staticLabelNames: ['env'] });
    m.recordPosture(meta('ex'), [f('spf', 'pass', null, null, null), f('vrfy', 'fail', 'vrfy-enabled', 'mx1.example.test', '192.0.2.1')], Date.now());
    const text = (await registry.metrics()).split('\n# HELP ').filter((b) => b.startsWith('smtp_probe_posture_')).map((b) => `# HELP ${b}`).join('\n');
    expect(text).toContain('smtp_probe_posture_info{');
    const run = spawnSync('promtool', ['check', 'metrics'], { input: `${text.trimEnd()}\n`, encoding: 'utf8', timeout: 30_000 });
    expect({ status: run.status, output: `${run.stdout}${run.stderr}`.trim() }).toEqual({ status: 0, output: '' });
  });
});
