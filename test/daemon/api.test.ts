/**
 * The JSON API (`/api/v1/`) of a daemon probing real in-process servers over real sockets: one healthy, one that
 * refuses RCPT, one closed port; in this thread and through the worker pool.
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, test } from 'vitest';
import { describeFailure, type CheckResult } from '../../src/core/result.js';
import type { Daemon } from '../../src/daemon/daemon.js';
import type { AlertsView, TargetDetail, TargetView } from '../../src/history/view.js';
import { closeAll } from '../helpers/cleanup.js';
import { startTestDaemon } from '../helpers/daemon.js';
import type { FakeMx } from '../helpers/fake-mx.js';
import { apiConfig, getJson, startApiServers, until } from './api-helpers.js';

let healthy: FakeMx;
let refusing: FakeMx;
let closed: number;
let dir: string;
const daemons: Daemon[] = [];

beforeAll(async () => {
  ({ healthy, refusing, closed } = await startApiServers());
  dir = mkdtempSync(join(tmpdir(), 'smtp-probe-api-'));
});
afterEach(async () => {
  await Promise.all(daemons.splice(0).map((d) => d.stop(2000)));
});
afterAll(closeAll);

const runsOf = (results: CheckResult[], name: string): CheckResult[] => results.filter((r) => r.target === name);

describe.each([1, 2])('the API with workers: %i', (workers) => {
  test('three targets with their statuses, history, last records; the failing one\'s transcript has the RCPT reply', async () => {
    const file = join(dir, `api-${workers}.yaml`);
    writeFileSync(file, apiConfig({ healthy: healthy.port, refusing: refusing.port, closed }));
    const { d, base, results } = await startTestDaemon(file, { workers });
    daemons.push(d);
    expect(workers === 1 ? d.workerPool : d.workerPool?.size).toBe(workers === 1 ? null : 2);
    await until(() => ['healthy', 'refused', 'down/1:b'].every((n) => runsOf(results, n).length >= 2));

    const list = await getJson<TargetView[]>(`${base}/api/v1/targets`);
    expect(list.status).toBe(200);
    expect(list.type).toBe('application/json; charset=utf-8');
    expect(list.body.map((t) => [t.name, t.status])).toEqual([['healthy', 'ok'], ['refused', 'failing'], ['down/1:b', 'failing']]);
    const [ok, refused, down] = list.body as [TargetView, TargetView, TargetView];
    expect(ok).toMatchObject({ url: `smtp://127.0.0.1:${healthy.port}`, module: 'mail', labels: { env: 'test' }, uptime: { '1h': 1, '24h': 1 }, certDaysLeft: null, firingAlerts: [] });
    expect(ok.latencyMs.p50).toBeGreaterThan(0);
    expect(ok.latencyMs.p95).toBeGreaterThanOrEqual(ok.latencyMs.p50!);
    expect(refused).toMatchObject({ uptime: { '1h': 0, '24h': 0 }, latencyMs: { p50: null, p95: null } });
    expect(Date.parse(down.lastRun!)).toBeGreaterThan(Date.now() - 60_000);

    const failing = await getJson<TargetView[]>(`${base}/api/v1/targets?status=failing`);
    expect(failing.body.map((t) => t.name)).toEqual(['refused', 'down/1:b']);
    const bad = await getJson<{ error: string }>(`${base}/api/v1/targets?status=broken`);
    expect(bad.status).toBe(400);
    expect(bad.body.error).toMatch(/status must be one of ok, failing, pending/);

    const r = await getJson<TargetDetail>(`${base}/api/v1/targets/refused`);
    expect(r.status).toBe(200);
    expect(r.body.history.length).toBeGreaterThanOrEqual(2);
    for (const h of r.body.history) {
      expect(h.ok).toBe(false);
      expect(h.failure).toBe('rcpt (reply): 550 5.1.1 <gone@example.test>: Recipient address rejected (expected 250,251)');
    }
    const lines = r.body.lastFailure!.transcript!;
    expect(lines.some((l) => l.dir === 'C' && l.line === 'RCPT TO:<gone@example.test>')).toBe(true);
    expect(lines.some((l) => l.dir === 'S' && /^550 5\.1\.1 <gone@example\.test>: Recipient address rejected/.test(l.line))).toBe(true);
    expect(r.body.lastResult).toEqual(r.body.lastFailure);
    expect(r.body.lastResult!.startedAt).toBe(r.body.history.at(-1)!.startedAt);
    expect(r.body.lastResults).toEqual([]);

    const h = await getJson<TargetDetail>(`${base}/api/v1/targets/healthy`);
    expect(h.body.lastResult).toMatchObject({ ok: true, target: 'healthy' });
    // The last good run's dialogue, to read beside a failure: EHLO sent, the 221 to QUIT received.
    expect(h.body.lastResult!.transcript!.some((l) => l.dir === 'C' && /^EHLO /.test(l.line))).toBe(true);
    expect(h.body.lastResult!.transcript!.some((l) => l.dir === 'S' && /^221/.test(l.line))).toBe(true);
    expect(h.body.lastFailure).toBeNull();
    expect(h.body.lastSuccess).toEqual(h.body.lastResult);
    expect(r.body.lastSuccess).toBeNull(); // refused at RCPT from its first run on
    // The history is what the scheduled runs were, in order, and it grows.
    const seen = h.body.history.length;
    const summaries = runsOf(results, 'healthy').slice(0, seen).map((x) => ({ startedAt: x.startedAt, ok: x.ok, durationMs: x.durationMs, failure: null }));
    expect(h.body.history).toEqual(summaries);
    await until(async () => (await getJson<TargetDetail>(`${base}/api/v1/targets/healthy`)).body.history.length > seen);

    const dn = await getJson<TargetDetail>(`${base}/api/v1/targets/${encodeURIComponent('down/1:b')}`);
    expect(dn.status).toBe(200);
    expect(dn.body.history.at(-1)!.failure).toBe(describeFailure(runsOf(results, 'down/1:b')[0]!.failure!));
    expect(dn.body.history.at(-1)!.failure).toMatch(/^connect: /);
    for (const path of ['targets/nope', 'targets/down/1:b', 'elsewhere']) {
      const nf = await getJson<{ error: string }>(`${base}/api/v1/${path}`);
      expect(nf.status, path).toBe(404);
      expect(nf.type).toBe('application/json; charset=utf-8');
      expect(nf.body.error).toMatch(/^no /);
    }

    const alerts = await getJson<AlertsView>(`${base}/api/v1/alerts`);
    expect(alerts.body).toEqual({ firing: [], events: [] });
    const head = await fetch(`${base}/api/v1/targets`, { method: 'HEAD' });
    expect(head.status).toBe(200);
    expect(await head.text()).toBe('');
  });
});

test('/probe runs are not scheduled runs: they stay out of the history', async () => {
  const file = join(dir, 'probe.yaml');
  writeFileSync(file, `global: { interval: 1h, timeout: 2s, phase_timeout: 1s, ehlo: probe.test }
modules:
  mail: { tls: none, probe_targets: ["smtp://127.0.0.1:${healthy.port}"] }
targets:
  - { name: healthy, url: "smtp://127.0.0.1:${healthy.port}", module: mail }
`);
  const { d, base, results } = await startTestDaemon(file);
  daemons.push(d);
  const probe = await fetch(`${base}/probe?target=${encodeURIComponent(`smtp://127.0.0.1:${healthy.port}`)}&module=mail`);
  expect(await probe.text()).toMatch(/^probe_success 1$/m);
  const t = await getJson<TargetDetail>(`${base}/api/v1/targets/healthy`);
  expect(results).toHaveLength(0); // an interval of an hour: no scheduled run yet
  expect(t.body).toMatchObject({ status: 'pending', lastRun: null, history: [], lastResult: null });
});
