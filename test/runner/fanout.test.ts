/**
 * Real MX fan-out over loopback: the tiny DNS server publishes example.test's MX hosts with A records on
 * 127.0.0.2 and 127.0.0.3, raw SMTP responders listen there on one port, and `smtp-probe check mx://...` (runCli)
 * and the daemon (/metrics) probe every MX host through --dns-server / dns_servers.
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, test } from 'vitest';
import { runCli } from '../../src/cli/cli.js';
import type { CliIo } from '../../src/cli/io.js';
import type { CheckResult } from '../../src/core/result.js';
import { Daemon } from '../../src/daemon/daemon.js';
import { parseExposition, type Sample } from '../metrics/exposition.js';
import { closeAll } from '../helpers/cleanup.js';
import { startDnsServer, type DnsServer, type Zone } from '../helpers/dns-server.js';
import { startResponders, type Responders } from '../dns/responder.js';
import { startTestDaemon } from '../helpers/daemon.js';

const MX1 = '127.0.0.2';
const MX2 = '127.0.0.3';
const ZONE: Zone = {
  'example.test': { mx: [[20, 'mx2.example.test'], [10, 'mx1.example.test']] },
  'mx1.example.test': { a: [MX1] },
  'mx2.example.test': { a: [MX2] },
  'nomail.test': { mx: [[0, '.']], a: ['127.0.0.1'] },
  'solo.test': { a: ['127.0.0.1'] },
};

let dns: DnsServer;
let smtp: Responders;
let dir: string;
const daemons: Daemon[] = [];

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'smtp-probe-mx-'));
});
afterEach(async () => {
  await Promise.all(daemons.splice(0).map((d) => d.stop(2000)));
  await closeAll();
});
afterAll(closeAll);

async function setUp(zone: Zone = ZONE): Promise<void> {
  dns = await startDnsServer(zone);
  smtp = await startResponders({
    '127.0.0.1': { name: 'localhost' },
    [MX1]: { name: 'mx1.example.test' },
    [MX2]: { name: 'mx2.example.test' },
  });
}

interface Run {
  code: number;
  stdout: string;
  stderr: string;
  report: { ok: boolean; results: CheckResult[] };
}

async function check(...args: string[]): Promise<Run> {
  let stdout = '';
  let stderr = '';
  const io: CliIo = { stdout: (t) => (stdout += t), stderr: (t) => (stderr += t), env: {} };
  const code = await runCli(['check', ...args], io);
  let report: Run['report'] = { ok: false, results: [] };
  try {
    report = JSON.parse(stdout) as Run['report'];
  } catch {
    // not JSON: the test looks at stdout/stderr itself
  }
  return { code, stdout, stderr, report };
}

const mxCheck = (domain: string, ...extra: string[]): Promise<Run> =>
  check(`mx://${domain}:${smtp.port}`, '--dns-server', dns.address, '--format', 'json', '--tls', 'none', '--ehlo', 'probe.example.test', ...extra);

describe('smtp-probe check mx://', () => {
  test('one result per MX host, in preference order, each with mx {host, preference, address} and dns first; exit 0', async () => {
    await setUp();
    const r = await mxCheck('example.test');
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(r.report.ok).toBe(true);
    expect(r.report.results.map((x) => x.mx)).toEqual([
      { host: 'mx1.example.test', preference: 10, address: MX1 },
      { host: 'mx2.example.test', preference: 20, address: MX2 },
    ]);
    for (const x of r.report.results) {
      expect(x.ok).toBe(true);
      expect(x.url).toBe(`mx://example.test:${smtp.port}`);
      expect(x.phases[0]!.phase).toBe('dns');
      expect(x.phases.map((p) => p.phase)).toEqual(['dns', 'connect', 'banner', 'ehlo', 'noop', 'quit']);
      expect(x.phases.find((p) => p.phase === 'connect')!.address).toBe(x.mx!.address);
    }
    expect(r.report.results[0]!.banner).toMatch(/^mx1\.example\.test ESMTP/);
    expect(r.report.results[1]!.banner).toMatch(/^mx2\.example\.test ESMTP/);
    expect(smtp.connectionsTo(MX1)).toHaveLength(1);
    expect(smtp.connectionsTo(MX2)).toHaveLength(1);
    expect(smtp.connectionsTo('127.0.0.1')).toHaveLength(0);
    expect(dns.queriesFor('example.test', 'MX')).toHaveLength(1);
  });

  test('one MX answering 554: exit 1, that result fails at banner, the other passes', async () => {
    await setUp();
    smtp.set(MX2, { name: 'mx2.example.test', bannerCode: 554 });
    const r = await mxCheck('example.test');
    expect(r.code).toBe(1);
    expect(r.report.ok).toBe(false);
    const [one, two] = r.report.results;
    expect(one).toMatchObject({ ok: true, failure: null, mx: { host: 'mx1.example.test', preference: 10, address: MX1 } });
    expect(two).toMatchObject({ ok: false, failure: { phase: 'banner', reason: 'reply', code: 554 }, mx: { host: 'mx2.example.test', preference: 20, address: MX2 } });
    expect(r.report.results).toHaveLength(2);
  });

  test('--max-mx 1 probes only the most preferred host (its peers are not even resolved)', async () => {
    await setUp();
    const r = await mxCheck('example.test', '--max-mx', '1');
    expect(r.code).toBe(0);
    expect(r.report.results.map((x) => x.mx?.host)).toEqual(['mx1.example.test']);
    expect(smtp.connectionsTo(MX2)).toHaveLength(0);
    expect(dns.queriesFor('mx2.example.test')).toEqual([]);
  });

  test('null MX: one result failing at dns with reason expectation; exit 1; nothing connected', async () => {
    await setUp();
    const r = await mxCheck('nomail.test');
    expect(r.code).toBe(1);
    expect(r.report.results).toHaveLength(1);
    expect(r.report.results[0]).toMatchObject({ ok: false, url: `mx://nomail.test:${smtp.port}`, failure: { phase: 'dns', reason: 'expectation' } });
    expect(r.report.results[0]!.phases.map((p) => p.phase)).toEqual(['dns']);
    expect(smtp.connections).toEqual([]);
  });

  test('implicit MX: the domain\'s own address is probed, with a warning', async () => {
    await setUp();
    const r = await mxCheck('solo.test');
    expect(r.code).toBe(0);
    expect(r.report.results.map((x) => x.mx)).toEqual([{ host: 'solo.test', preference: 0, address: '127.0.0.1' }]);
    expect(r.report.results[0]!.warnings.join('\n')).toMatch(/implicit MX/);
  });

  test('NXDOMAIN: one result failing at dns with reason dns', async () => {
    await setUp();
    const r = await mxCheck('nowhere.test');
    expect(r.code).toBe(1);
    expect(r.report.results[0]).toMatchObject({ ok: false, failure: { phase: 'dns', reason: 'dns', message: expect.stringMatching(/NXDOMAIN/) } });
  });

  test('usage errors: --max-mx without an mx:// target, a --dns-server that is not an address', async () => {
    await setUp();
    const a = await check(`smtp://127.0.0.1:${smtp.port}`, '--max-mx', '1');
    expect(a.code).toBe(2);
    expect(a.stderr).toMatch(/--max-mx/);
    const b = await check(`mx://example.test:${smtp.port}`, '--dns-server', 'dns.example.test');
    expect(b.code).toBe(2);
    expect(b.stderr).toMatch(/--dns-server/);
  });
});

describe('the daemon with an mx:// target and dns_servers', () => {
  async function startDaemon(): Promise<{ base: string; results: CheckResult[] }> {
    const file = join(dir, `mx-${Date.now()}-${daemons.length}.yaml`);
    writeFileSync(
      file,
      `global: { interval: 1s, timeout: 900ms, phase_timeout: 800ms, ehlo: probe.test }
modules:
  plain: { tls: none }
targets:
  - { name: mail, url: "mx://example.test:${smtp.port}", module: plain, dns_servers: ["${dns.address}"], labels: { env: test } }
`,
    );
    const { d, base, results } = await startTestDaemon(file, { version: '9.9.9' });
    daemons.push(d);
    return { base, results };
  }

  async function metrics(base: string): Promise<Sample[]> {
    return parseExposition(await (await fetch(`${base}/metrics`)).text()).samples;
  }

  const value = (samples: Sample[], name: string, labels: Record<string, string>): number | undefined =>
    samples.find((s) => s.name === name && Object.keys(labels).length === Object.keys(s.labels).length && Object.entries(labels).every(([k, v]) => s.labels[k] === v))?.value;

  async function until<T>(what: () => Promise<T | undefined> | T | undefined, ms = 6000): Promise<T> {
    for (const end = Date.now() + ms; ; await new Promise((r) => setTimeout(r, 50))) {
      const v = await what();
      if (v !== undefined && v !== false) return v;
      if (Date.now() > end) throw new Error('condition not met in time');
    }
  }

  test('/metrics: success per mx_host, up ratio 0.5 with one MX failing, mx_info with preferences; a host leaving the MX set is removed', async () => {
    await setUp();
    smtp.set(MX2, { name: 'mx2.example.test', bannerCode: 554 });
    const { base, results } = await startDaemon();
    await until(() => (new Set(results.map((r) => r.mx?.host)).size >= 2 ? true : undefined));
    expect(results.slice(0, 2).map((r) => [r.target, r.mx?.host, r.ok])).toEqual([
      ['mail', 'mx1.example.test', true],
      ['mail', 'mx2.example.test', false],
    ]);
    const m = await metrics(base);
    const mx1 = { target: 'mail', env: 'test', mx_host: 'mx1.example.test' };
    const mx2 = { target: 'mail', env: 'test', mx_host: 'mx2.example.test' };
    expect(value(m, 'smtp_probe_success', mx1)).toBe(1);
    expect(value(m, 'smtp_probe_success', mx2)).toBe(0);
    expect(m.filter((s) => s.name === 'smtp_probe_success' && s.labels.target === 'mail')).toHaveLength(2);
    expect(value(m, 'smtp_probe_mx_up_ratio', { target: 'mail', env: 'test' })).toBe(0.5);
    expect(value(m, 'smtp_probe_mx_info', { ...mx1, mx_preference: '10' })).toBe(1);
    expect(value(m, 'smtp_probe_mx_info', { ...mx2, mx_preference: '20' })).toBe(1);
    expect(value(m, 'smtp_probe_failures_total', { ...mx2, phase: 'banner', reason: 'reply' })).toBeGreaterThanOrEqual(1);
    expect(value(m, 'smtp_probe_reply_code', { ...mx2, phase: 'banner' })).toBe(554);
    expect(value(m, 'smtp_probe_phase_last_duration_seconds', { ...mx1, phase: 'dns' })).toBeGreaterThanOrEqual(0);
    expect(dns.queriesFor('example.test', 'MX').length).toBeGreaterThanOrEqual(1);

    // mx2 leaves the MX set: its series go, the ratio is over the hosts the last run found.
    dns.setZone({ ...ZONE, 'example.test': { mx: [[10, 'mx1.example.test']] } });
    const after = await until(async () => {
      const s = await metrics(base);
      return value(s, 'smtp_probe_mx_up_ratio', { target: 'mail', env: 'test' }) === 1 ? s : undefined;
    });
    expect(after.filter((s) => s.labels.mx_host === 'mx2.example.test')).toEqual([]);
    expect(after.filter((s) => s.name === 'smtp_probe_mx_info').map((s) => s.labels)).toEqual([{ ...mx1, mx_preference: '10' }]);
  });
});
