/**
 * The Grafana dashboard's queries on a real Prometheus (Debian package): Prometheus scrapes the daemon of
 * test/examples/grafana-daemon.ts (in-process servers, 127.0.0.1 only) every second, and every panel's expression,
 * Grafana's variables substituted, must return at least one series, as every variable's label_values() must
 * return values. Prometheus is started here and stopped by PID.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { closeAll } from '../helpers/cleanup.js';
import { freePort } from '../helpers/ports.js';
import { exprs, startDashboardDaemon, substitute, variableExprs, type DashboardDaemon } from '../examples/grafana-daemon.js';

let dir: string;
let promPort: number;
let daemon: DashboardDaemon;
let prometheus: ChildProcess;
let promLog = '';

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'smtp-probe-grafana-prom-'));
  daemon = await startDashboardDaemon();
  promPort = await freePort();
  writeFileSync(
    join(dir, 'prometheus.yml'),
    `global: { scrape_interval: 1s, scrape_timeout: 1s }
scrape_configs:
  - job_name: smtp-probe
    static_configs: [ { targets: ["127.0.0.1:${daemon.port}"] } ]
`,
  );
  prometheus = spawn(
    'prometheus',
    [`--config.file=${join(dir, 'prometheus.yml')}`, `--storage.tsdb.path=${join(dir, 'data')}`, `--web.listen-address=127.0.0.1:${promPort}`, '--log.level=warn'],
    { stdio: ['ignore', 'ignore', 'pipe'] },
  );
  prometheus.stderr!.on('data', (d: Buffer) => (promLog = (promLog + d.toString()).slice(-4000)));
});

afterAll(async () => {
  if (prometheus && prometheus.exitCode === null && prometheus.signalCode === null) {
    const exited = new Promise((r) => prometheus.once('exit', r));
    prometheus.kill('SIGTERM');
    await exited;
  }
  await daemon?.stop();
  await closeAll();
  rmSync(dir, { recursive: true, force: true });
});

/** The series an instant query returns (0 while Prometheus is starting or the query is refused). */
async function seriesCount(expr: string): Promise<number> {
  try {
    const r = await fetch(`http://127.0.0.1:${promPort}/api/v1/query?query=${encodeURIComponent(expr)}`);
    const body = (await r.json()) as { status: string; data?: { result: unknown[] } };
    return body.status === 'success' ? body.data!.result.length : 0;
  } catch {
    return 0;
  }
}

/** label_values(metric, label) as Grafana asks Prometheus for it: the label's values on the metric's series. */
function asQuery(expr: string): string {
  const lv = /^label_values\(([^,]+),\s*([a-zA-Z_][a-zA-Z0-9_]*)\)$/.exec(expr.trim());
  return lv ? `group by (${lv[2]}) (${lv[1]})` : expr;
}

describe('the dashboard on a real Prometheus', () => {
  test('every panel query and every variable returns series', async () => {
    // $__rate_interval: at least four scrapes; $__range: the dashboard's 6 h default (the data is younger).
    const all = [...exprs, ...variableExprs].map(({ panel, expr }) => ({ panel, query: asQuery(substitute(expr, '15s', '6h')) }));
    let empty = all.map((q) => q.panel);
    for (const end = Date.now() + 60_000; empty.length > 0 && Date.now() < end; await new Promise((r) => setTimeout(r, 1000))) {
      const counts = await Promise.all(all.map(async (q) => ({ ...q, n: await seriesCount(q.query) })));
      empty = counts.filter((c) => c.n === 0).map((c) => `${c.panel}: ${c.query}`);
    }
    expect(empty, promLog).toEqual([]);
    // The check can fail: a name Prometheus has no series of returns none.
    expect(await seriesCount('smtp_probe_sucess')).toBe(0);
  }, 90_000);
});
