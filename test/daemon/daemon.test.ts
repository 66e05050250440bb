/** The daemon over real HTTP and SMTP sockets: schedule → metrics, /probe, /healthz, /, reload, stop. */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, test } from 'vitest';
import type { CheckResult } from '../../src/core/result.js';
import { Daemon } from '../../src/daemon/daemon.js';
import { demoCertificate } from '../../src/demo/cert.js';
import { DEMO_PASSWORD, DEMO_USER, startDemoServer, type DemoServer } from '../../src/demo/server.js';
import { startTestDaemon } from '../helpers/daemon.js';

let server: DemoServer;
let dir: string;
const daemons: Daemon[] = [];

beforeAll(async () => {
  server = await startDemoServer();
  dir = mkdtempSync(join(tmpdir(), 'smtp-probe-daemon-'));
  writeFileSync(join(dir, 'ca.pem'), demoCertificate().cert);
  writeFileSync(join(dir, 'pass'), `${DEMO_PASSWORD}\n`);
});
afterAll(async () => {
  await server.close();
});
afterEach(async () => {
  await Promise.all(daemons.splice(0).map((d) => d.stop(2000)));
});

function config(extraTargets = ''): string {
  return `global: { interval: 1s, timeout: 900ms, phase_timeout: 800ms, ehlo: probe.test }
modules:
  submission:
    tls: starttls
    tls_config: { ca_file: ${join(dir, 'ca.pem')}, server_name: localhost }
    auth: { username: ${DEMO_USER}, password_file: ${join(dir, 'pass')} }
    send: { from: ${DEMO_USER}, to: [${DEMO_USER}] }
    probe_targets: ["smtp://127.0.0.1:${server.port}"]
  plain: { tls: none }
targets:
  - { name: sub, url: "smtp://127.0.0.1:${server.port}", module: submission, labels: { env: test } }
  - { name: down, url: "smtp://127.0.0.1:1", module: plain, labels: { env: test, team: mail } }
${extraTargets}`;
}

async function startDaemon(text: string): Promise<{ d: Daemon; base: string; file: string; results: CheckResult[] }> {
  const file = join(dir, `config-${daemons.length}-${Date.now()}.yaml`);
  writeFileSync(file, text);
  const t = await startTestDaemon(file, { version: '9.9.9' });
  daemons.push(t.d);
  return { ...t, file };
}

async function until(what: () => boolean, ms = 5000): Promise<void> {
  for (const end = Date.now() + ms; !what(); await new Promise((r) => setTimeout(r, 50))) {
    if (Date.now() > end) throw new Error('condition not met in time');
  }
}

const get = async (url: string, init?: RequestInit) => {
  const r = await fetch(url, init);
  return { status: r.status, type: r.headers.get('content-type') ?? '', body: await r.text() };
};

describe('scheduled runs become metrics', () => {
  test('both targets run on schedule; /metrics carries their series with static labels', async () => {
    const { base, results } = await startDaemon(config());
    await until(() => new Set(results.map((r) => r.target)).size === 2);
    const m = await get(`${base}/metrics`);
    expect(m.status).toBe(200);
    expect(m.type).toMatch(/^text\/plain; version=0\.0\.4/);
    expect(m.body).toMatch(/^smtp_probe_success\{target="sub",env="test"\} 1$/m);
    expect(m.body).toMatch(/^smtp_probe_success\{target="down",env="test",team="mail"\} 0$/m);
    expect(m.body).toMatch(/^smtp_probe_phase_last_duration_seconds\{target="sub",env="test",phase="tls_upgrade"\} [\d.e-]+$/m);
    expect(m.body).toMatch(/^smtp_probe_reply_code\{target="sub",env="test",phase="auth"\} 235$/m);
    expect(m.body).toMatch(/^smtp_probe_failures_total\{target="down",env="test",team="mail",phase="connect",reason="connect"\} [1-9]/m);
    expect(m.body).toMatch(/^smtp_probe_build_info\{version="9\.9\.9"\} 1$/m);
    expect(m.body).toMatch(/^smtp_probe_config_last_reload_successful 1$/m);
    expect(m.body).toMatch(/^smtp_probe_schedule_lag_seconds_count [1-9]/m);
  });
});

describe('/probe', () => {
  test('runs one check and answers blackbox-style metrics', async () => {
    const { base } = await startDaemon(config());
    const r = await get(`${base}/probe?target=${encodeURIComponent(`smtp://127.0.0.1:${server.port}`)}&module=submission`);
    expect(r.status).toBe(200);
    expect(r.body).toMatch(/^probe_success 1$/m);
    expect(r.body).toMatch(/^probe_smtp_reply_code\{phase="auth"\} 235$/m);
    expect(r.body).toMatch(/^probe_tls_version_info\{version="TLSv1\.3"\} 1$/m);
    expect(r.body).not.toContain(DEMO_PASSWORD);
  });
  test('debug=true adds the transcript and the result, secrets masked', async () => {
    const { base } = await startDaemon(config());
    const r = await get(`${base}/probe?target=127.0.0.1:${server.port}&module=submission&debug=true`);
    expect(r.status).toBe(200);
    expect(r.body).toMatch(/C: AUTH PLAIN \*\*\*/);
    expect(r.body).toMatch(/"ok": true/);
    expect(r.body).not.toContain(DEMO_PASSWORD);
    expect(r.body).not.toContain(Buffer.from(`\0${DEMO_USER}\0${DEMO_PASSWORD}`).toString('base64'));
  });
  test('a credentialed module refuses targets outside its probe_targets; unknown module is 400', async () => {
    const { base } = await startDaemon(config());
    expect((await get(`${base}/probe?target=smtp://127.0.0.2:25&module=submission`)).status).toBe(403);
    expect((await get(`${base}/probe?target=smtp://127.0.0.1:25&module=nope`)).status).toBe(400);
    expect((await get(`${base}/probe?module=plain`)).status).toBe(400);
    expect((await get(`${base}/probe?target=http://x&module=plain`)).status).toBe(400);
  });
  test('the scrape-timeout header bounds the run (minus the offset)', async () => {
    const { base } = await startDaemon(config());
    const r = await get(`${base}/probe?target=smtp://127.0.0.1:1&module=plain`, { headers: { 'X-Prometheus-Scrape-Timeout-Seconds': '0.7' } });
    expect(r.body).toMatch(/^probe_timeout_seconds 0\.2$/m);
    expect(r.body).toMatch(/^probe_success 0$/m);
  });
});

describe('health, index, errors', () => {
  test('/healthz 200, / lists targets, unknown path 404, wrong method 405', async () => {
    const { base, results } = await startDaemon(config());
    await until(() => results.length >= 2);
    expect((await get(`${base}/healthz`)).status).toBe(200);
    const index = await get(`${base}/`);
    expect(index.type).toMatch(/text\/html/);
    expect(index.body).toContain('<a class="tn" href="/targets/sub">sub</a>');
    expect(index.body).toContain('<a class="tn" href="/targets/down">down</a>');
    expect((await get(`${base}/nope`)).status).toBe(404);
    expect((await get(`${base}/metrics`, { method: 'POST' })).status).toBe(405);
  });
});

describe('reload', () => {
  test('a bad file keeps the old config and sets the reload gauge to 0; a good one adds and removes targets', async () => {
    const { base, file, results } = await startDaemon(config());
    writeFileSync(file, `${config()}\n  - { name: broken, url: "smtp://x", modul: plain }\n`);
    const bad = await get(`${base}/-/reload`, { method: 'POST' });
    expect(bad.status).toBe(500);
    expect(bad.body).toMatch(/targets\[2\]\.modul: unknown key "modul"/);
    expect((await get(`${base}/metrics`)).body).toMatch(/^smtp_probe_config_last_reload_successful 0$/m);
    writeFileSync(file, config(`  - { name: extra, url: "smtp://127.0.0.1:${server.port}", module: plain }`).replace(/^ {2}- \{ name: down.*$/m, ''));
    const good = await get(`${base}/-/reload`, { method: 'POST' });
    expect(good.status).toBe(200);
    await until(() => results.some((r) => r.target === 'extra'));
    await new Promise((r) => setTimeout(r, 200));
    const m = (await get(`${base}/metrics`)).body;
    expect(m).toMatch(/^smtp_probe_config_last_reload_successful 1$/m);
    expect(m).toMatch(/^smtp_probe_success\{target="extra"\} 1$/m);
    expect(m).not.toMatch(/target="down"/);
  });
});

describe('stop', () => {
  test('healthz turns 503 while stopping, the server closes, no run starts after stop', async () => {
    const { d, base, results } = await startDaemon(config());
    await until(() => results.length >= 1);
    const stopping = d.stop(2000);
    await stopping;
    const count = results.length;
    await new Promise((r) => setTimeout(r, 1200));
    expect(results.length).toBe(count);
    await expect(fetch(`${base}/healthz`)).rejects.toThrow();
  });
});
