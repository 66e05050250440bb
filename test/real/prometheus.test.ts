/**
 * A real Prometheus (Debian package) scraping the daemon's /metrics and driving /probe, against the real Postfix of
 * test/real/mailstack.sh. Everything listens on 127.0.0.1; both processes are started here and stopped by PID.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { freePort } from '../helpers/ports.js';

const env = process.env;
if (!env.MAILSTACK_HOST) throw new Error('MAILSTACK_* not set: start test/real/mailstack.sh and eval its env output');
const host = env.MAILSTACK_HOST;
const smtp = `smtp://${host}:${env.MAILSTACK_SMTP_PORT}`;
const submission = `smtp://${host}:${env.MAILSTACK_SUBMISSION_PORT}`;

let dir: string;
let daemonPort: number;
let promPort: number;
const children: ChildProcess[] = [];


function start(cmd: string, args: string[], name: string): ChildProcess {
  const child = spawn(cmd, args, { stdio: ['ignore', 'ignore', 'pipe'] });
  let err = '';
  child.stderr?.on('data', (d: Buffer) => (err = (err + d.toString()).slice(-4000)));
  child.on('exit', (code) => {
    if (code !== null && code !== 0) console.error(`${name} exited with ${code}:\n${err}`);
  });
  children.push(child);
  return child;
}

async function query(expr: string): Promise<{ metric: Record<string, string>; value: [number, string] }[]> {
  const r = await fetch(`http://127.0.0.1:${promPort}/api/v1/query?query=${encodeURIComponent(expr)}`);
  const body = (await r.json()) as { status: string; data: { result: { metric: Record<string, string>; value: [number, string] }[] } };
  if (body.status !== 'success') throw new Error(`query ${expr}: ${JSON.stringify(body)}`);
  return body.data.result;
}

/** Poll Prometheus until the query returns what `ok` wants (bounded). */
async function eventually(expr: string, ok: (n: number[]) => boolean, ms = 45_000): Promise<number[]> {
  let last: number[] = [];
  for (const end = Date.now() + ms; Date.now() < end; await new Promise((r) => setTimeout(r, 500))) {
    try {
      last = (await query(expr)).map((s) => Number(s.value[1]));
      if (ok(last)) return last;
    } catch {
      // Prometheus still starting
    }
  }
  throw new Error(`${expr} never satisfied the condition; last ${JSON.stringify(last)}`);
}

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'smtp-probe-prom-'));
  daemonPort = await freePort();
  promPort = await freePort();
  writeFileSync(join(dir, 'pass'), `${env.MAILSTACK_PASS}\n`);
  writeFileSync(
    join(dir, 'smtp-probe.yaml'),
    `global: { interval: 2s, timeout: 1500ms, phase_timeout: 1s, ehlo: probe.test }
modules:
  submission:
    tls: starttls
    tls_config: { ca_file: ${env.MAILSTACK_CA}, server_name: mail.probe.test }
    auth: { username: ${env.MAILSTACK_USER}, password_file: ${join(dir, 'pass')} }
    send: { from: ${env.MAILSTACK_USER}, to: [${env.MAILSTACK_USER}] }
  mx:
    tls_config: { ca_file: ${env.MAILSTACK_CA}, server_name: mail.probe.test }
    require_capabilities: [STARTTLS, PIPELINING]
    phase_histograms: target
  relay:
    tls_config: { ca_file: ${env.MAILSTACK_CA}, server_name: mail.probe.test }
    send: { to: [someone@example.com] }
    expect: { rcpt: [5xx] }
  roundtrip:
    tls_config: { ca_file: ${env.MAILSTACK_CA}, server_name: mail.probe.test }
    send: { from: ${env.MAILSTACK_USER}, to: [${env.MAILSTACK_USER}] }
    roundtrip:
      mailbox: "pop3s://${host}:${env.MAILSTACK_POP3S_PORT}"
      username: ${env.MAILSTACK_USER}
      password_file: ${join(dir, 'pass')}
      ca_file: ${env.MAILSTACK_CA}
      server_name: mail.probe.test
      timeout: 3s
      poll_interval: 200ms
targets:
  - { name: submission, url: "${submission}", module: submission, labels: { env: ci } }
  - { name: mx, url: "${smtp}", module: mx, labels: { env: ci } }
  - { name: open-relay, url: "${smtp}", module: relay, labels: { env: ci } }
  - { name: roundtrip, url: "${smtp}", module: roundtrip, interval: 5s, labels: { env: roundtrip } }
`,
  );
  writeFileSync(
    join(dir, 'prometheus.yml'),
    `global: { scrape_interval: 1s, scrape_timeout: 1s, evaluation_interval: 1s }
scrape_configs:
  - job_name: smtp-probe
    static_configs: [ { targets: ["127.0.0.1:${daemonPort}"] } ]
  - job_name: smtp-probe-probe
    metrics_path: /probe
    params: { module: [mx] }
    static_configs: [ { targets: ["${smtp}"] } ]
    relabel_configs:
      - { source_labels: [__address__], target_label: __param_target }
      - { source_labels: [__param_target], target_label: instance }
      - { target_label: __address__, replacement: "127.0.0.1:${daemonPort}" }
`,
  );
  start(process.execPath, ['dist/src/cli/main.js', 'run', '--config', join(dir, 'smtp-probe.yaml'), '--listen', `127.0.0.1:${daemonPort}`, '--log-level', 'warn'], 'smtp-probe');
  start(
    'prometheus',
    [
      `--config.file=${join(dir, 'prometheus.yml')}`, `--storage.tsdb.path=${join(dir, 'data')}`,
      `--web.listen-address=127.0.0.1:${promPort}`, '--log.level=warn',
    ],
    'prometheus',
  );
});

afterAll(async () => {
  for (const c of children) c.kill('SIGTERM');
  await Promise.all(children.map((c) => (c.exitCode !== null ? null : new Promise((r) => c.once('exit', r)))));
  rmSync(dir, { recursive: true, force: true });
});

describe('Prometheus scraping smtp-probe', () => {
  test('both jobs are up', async () => {
    expect(await eventually('up{job=~"smtp-probe.*"}', (v) => v.length === 2 && v.every((x) => x === 1))).toEqual([1, 1]);
  });

  test('smtp_probe_success arrives for every target, with static labels', async () => {
    await eventually('smtp_probe_success{env=~"ci|roundtrip"}', (v) => v.length === 4 && v.every((x) => x === 1));
    const series = await query('smtp_probe_success');
    expect(series.map((s) => s.metric.target).sort()).toEqual(['mx', 'open-relay', 'roundtrip', 'submission']);
  });

  test('phase series arrive: per-phase durations, reply codes, TLS', async () => {
    const phases = await eventually('smtp_probe_phase_last_duration_seconds{target="submission"}', (v) => v.length >= 10);
    expect(phases.every((x) => x >= 0 && x < 1.5)).toBe(true);
    const names = (await query('smtp_probe_phase_last_duration_seconds{target="submission"}')).map((s) => s.metric.phase);
    expect(names).toEqual(expect.arrayContaining(['connect', 'banner', 'starttls', 'tls_upgrade', 'ehlo_tls', 'auth', 'rcpt', 'message', 'quit']));
    expect(await eventually('smtp_probe_reply_code{target="submission",phase="auth"}', (v) => v[0] === 235)).toEqual([235]);
    expect(await eventually('smtp_probe_reply_code{target="open-relay",phase="rcpt"}', (v) => v[0] === 554)).toEqual([554]);
    await eventually('smtp_probe_tls_version_info{target="mx",version="TLSv1.3"}', (v) => v[0] === 1);
    await eventually('smtp_probe_tls_verified{target="mx"}', (v) => v[0] === 1);
    // Per-target histograms only where a module opts in (mx); every module with targets has its module histogram.
    await eventually('histogram_quantile(0.5, rate(smtp_probe_phase_duration_seconds_bucket{target="mx",phase="banner"}[30s]))', (v) => v.length === 1 && v[0]! > 0);
    expect(await query('smtp_probe_phase_duration_seconds_count{target="submission"}')).toEqual([]);
    await eventually('histogram_quantile(0.5, sum by (module, le) (rate(smtp_probe_module_phase_duration_seconds_bucket{phase="banner"}[30s])))', (v) => v.length === 4 && v.every((x) => x > 0));
    await eventually('smtp_probe_runs_total{target="submission",result="success"}', (v) => v[0]! >= 2);
  });

  test('the /probe job: blackbox-style series through relabelling', async () => {
    await eventually(`probe_success{job="smtp-probe-probe",instance="${smtp}"}`, (v) => v[0] === 1);
    const phases = await eventually('probe_smtp_phase_duration_seconds{job="smtp-probe-probe"}', (v) => v.length >= 5);
    expect(phases.length).toBeGreaterThanOrEqual(5);
    await eventually('probe_ssl_earliest_cert_expiry{job="smtp-probe-probe"} - time() > 86400', (v) => v.length === 1);
  });
});

describe('round-trip series', () => {
  test('delivery latency, hop count and per-hop delays from the message read back over POP3S', async () => {
    await eventually('smtp_probe_roundtrip_seconds_count{target="roundtrip"}', (v) => v[0]! >= 1);
    expect(await eventually('smtp_probe_received_hops{target="roundtrip"}', (v) => v.length === 1)).toEqual([2]);
    await eventually('smtp_probe_hop_delay_seconds{target="roundtrip",hop="2"}', (v) => v.length === 1);
    await eventually('smtp_probe_phase_last_duration_seconds{target="roundtrip",phase="roundtrip"}', (v) => v[0]! > 0);
    expect(await eventually('smtp_probe_roundtrip_never_total{target="roundtrip"}', (v) => v.length === 1)).toEqual([0]);
  });
});

describe('promtool check metrics', () => {
  test.each([
    ['/metrics', () => `http://127.0.0.1:${daemonPort}/metrics`],
    ['/probe', () => `http://127.0.0.1:${daemonPort}/probe?target=${encodeURIComponent(submission)}&module=default`],
  ])('%s is clean', async (_name, url) => {
    await eventually('up{job="smtp-probe"}', (v) => v[0] === 1);
    const body = await (await fetch(url())).text();
    const r = spawnSync('promtool', ['check', 'metrics'], { input: body, encoding: 'utf8' });
    expect(`${r.stdout}${r.stderr}`.trim()).toBe('');
    expect(r.status).toBe(0);
  });
});
