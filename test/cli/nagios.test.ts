/**
 * `check --format nagios` as a drop-in for check_smtp (docs/nagios.md). The admin's line
 *   check_smtp -H h -p 587 -w 2 -c 5 -D 14,7 -S
 * becomes, one for one,
 *   smtp-probe check h:587 --tls starttls --warning 2s --critical 5s --min-cert-days 14,7 --format nagios
 * and is run exactly so, through the built binary, against in-process servers: the test CA is trusted the way a
 * Nagios host trusts its CAs (NODE_EXTRA_CA_CERTS instead of the system store), so no flag is added.
 */
import { execFile } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, test } from 'vitest';
import { nagios } from '../../src/cli/reporters/nagios.js';
import type { CheckResult } from '../../src/core/result.js';
import { closeAll } from '../helpers/cleanup.js';
import { certValidFor, serverCert, testCa } from '../helpers/certs.js';
import { startFakeMx } from '../helpers/fake-mx.js';
import { banner, ehloSteps, quitSteps, reply, startScriptedServer, type ScriptStep } from '../helpers/scripted-server.js';
import { cli, type Run } from '../helpers/cli.js';


let dir: string;
let caFile: string;

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'smtp-probe-nagios-'));
  caFile = join(dir, 'ca.pem');
  writeFileSync(caFile, testCa().cert);
});
afterEach(closeAll);
afterAll(closeAll);

/** The built binary, as Nagios runs it: a fresh process, stdout and the exit code are all it reads. */
function bin(argv: string[]): Promise<Run> {
  return new Promise((resolve) => {
    const env = { ...process.env, NODE_EXTRA_CA_CERTS: caFile };
    execFile(process.execPath, ['dist/src/cli/main.js', ...argv], { env, timeout: 20_000 }, (err, stdout, stderr) => {
      resolve({ code: err ? (typeof err.code === 'number' ? err.code : -1) : 0, stdout, stderr });
    });
  });
}


/** `check_smtp -H 127.0.0.1 -p PORT -w 2 -c 5 -D 14,7 -S`, translated by the table in docs/nagios.md. */
const checkSmtpEquivalent = (port: number): string[] =>
  ['check', `127.0.0.1:${port}`, '--tls', 'starttls', '--warning', '2s', '--critical', '5s', '--min-cert-days', '14,7', '--format', 'nagios'];

/** A STARTTLS server that waits `bannerMs` before its greeting and `noopMs` before answering NOOP. */
function slowServer(bannerMs: number, noopMs: number): Promise<{ port: number }> {
  const script: ScriptStep[] = [
    { delay: bannerMs },
    banner(),
    ...ehloSteps(['PIPELINING', 'STARTTLS']),
    ...reply(/^STARTTLS$/, '220 2.0.0 ready to start TLS'),
    { starttls: serverCert() },
    ...ehloSteps(['PIPELINING']),
    { expect: /^NOOP$/ },
    { delay: noopMs },
    { send: '250 2.0.0 ok\r\n' },
    ...quitSteps,
  ];
  return startScriptedServer(script);
}

/** The perfdata part of a nagios first line, as label → `value;warn;crit;min`. */
function perfdata(stdout: string): Map<string, string> {
  const perf = stdout.split('\n')[0]!.split(' | ')[1] ?? '';
  return new Map(perf.split(' ').filter(Boolean).map((item) => [item.split('=')[0]!, item.split('=').slice(1).join('=')]));
}

describe('check_smtp -H h -p 587 -w 2 -c 5 -D 14,7 -S, one for one', () => {
  test('a fast server with a long-lived certificate: OK, exit 0, time with its thresholds in the perfdata', async () => {
    const mx = await startFakeMx();
    const r = await bin(checkSmtpEquivalent(mx.port));
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/^SMTP OK - smtp:\/\/127\.0\.0\.1:\d+ answered in [\d.]+s, certificate expires in \d+ days \| /);
    expect(r.stdout.split('\n')).toHaveLength(2);
    const perf = perfdata(r.stdout);
    expect(perf.get('time')).toMatch(/^[\d.]+s;2;5;0$/);
    expect(perf.get('tls_upgrade')).toMatch(/^[\d.]+s;;;0$/);
    expect(perf.get('cert_days')).toMatch(/^\d+;14:;7:$/);
  });

  test('a slow server: over 2 s WARNING (exit 1), over 5 s CRITICAL (exit 2) at the phase that crossed it', async () => {
    const [slow, slower] = await Promise.all([slowServer(1200, 1200), slowServer(2600, 2600)]);
    const [warn, crit] = await Promise.all([bin(checkSmtpEquivalent(slow.port)), bin(checkSmtpEquivalent(slower.port))]);
    expect(warn.code).toBe(1);
    expect(warn.stdout).toMatch(/^SMTP WARNING - smtp:\/\/127\.0\.0\.1:\d+ answered in [\d.]+s, over the warning threshold of 2s, certificate expires in \d+ days \| /);
    expect(perfdata(warn.stdout).get('time')).toMatch(/^[\d.]+s;2;5;0$/);
    expect(crit.code).toBe(2);
    expect(crit.stdout).toMatch(/^SMTP CRITICAL - smtp:\/\/127\.0\.0\.1:\d+ failed at noop \(slow\): .*over the critical threshold of 5s/);
    expect(crit.stdout.split('\n')).toHaveLength(2);
  });

  test('a certificate with 9 days left: WARNING (exit 1); with 3 days left: CRITICAL (exit 2) at tls_upgrade', async () => {
    const [nine, three] = await Promise.all([startFakeMx({ ...certValidFor(10) }), startFakeMx({ ...certValidFor(4) })]);
    const [warn, crit] = await Promise.all([bin(checkSmtpEquivalent(nine.port)), bin(checkSmtpEquivalent(three.port))]);
    expect(warn.code).toBe(1);
    expect(warn.stdout).toMatch(/^SMTP WARNING - .*certificate expires in 9 days \(under 14\)/);
    expect(perfdata(warn.stdout).get('cert_days')).toBe('9;14:;7:');
    expect(crit.code).toBe(2);
    expect(crit.stdout).toMatch(/^SMTP CRITICAL - .* failed at tls_upgrade \(tls\): certificate expires in 3 days .*under the critical minimum of 7/);
  });

  test('a usage error: UNKNOWN, exit 3, one line on stdout', async () => {
    const r = await bin(['check', '127.0.0.1:1', '--tls', 'starttls', '--warning', '2', '--critical', '5s', '--format', 'nagios']);
    expect(r.code).toBe(3);
    expect(r.stdout).toMatch(/^SMTP UNKNOWN - --warning: "2" needs a unit[^\n]*\n$/);
  });
});

describe('--format nagios: every problem is one UNKNOWN line on stdout, exit 3, whatever the argument order', () => {
  test.each([
    [['check', 'smtp://127.0.0.1:1', '--format=nagios', '--bogus'], /unknown flag --bogus/],
    [['check', '--bogus', 'smtp://127.0.0.1:1', '--format', 'nagios'], /unknown flag --bogus/],
    [['check', '--format', 'nagios', 'smtp://127.0.0.1:1', '--timeout', '10'], /--timeout: "10" needs a unit/],
    [['check', '--format', 'nagios'], /no target/],
    [['check', 'smtp://127.0.0.1:1', '--format', 'nagios', '--config', '/nonexistent/smtp-probe.yaml'], /nonexistent/],
    [['chekc', 'smtp://127.0.0.1:1', '--format', 'nagios'], /unknown command "chekc"/],
    [['check', 'smtp://127.0.0.1:1', '--format', 'nagios', '--min-cert-days', '3,14'], /--min-cert-days/],
  ])('%j', async (argv, message) => {
    const r = await cli(argv);
    expect(r.code).toBe(3);
    expect(r.stdout).toMatch(/^SMTP UNKNOWN - [^\n]+\n$/);
    expect(r.stdout).toMatch(message);
  });

  test('a "nagios" that is the value of another flag does not count: --to nagios --format json is a plain usage error', async () => {
    const r = await cli(['check', 'smtp://127.0.0.1:1', '--to', 'nagios', '--format', 'json', '--bogus']);
    expect(r.code).toBe(2);
    expect(r.stdout).toBe('');
    expect(r.stderr).toMatch(/unknown flag --bogus/);
  });
});

describe('perfdata', () => {
  test('labels are [A-Za-z0-9_] only, also for several targets and MX hosts', () => {
    const base: CheckResult = {
      target: 'mx://example.test:2525', url: 'mx://example.test:2525', ok: true, startedAt: '2026-01-01T00:00:00.000Z', durationMs: 12,
      attempts: 1, warnings: [], failure: null, phases: [{ phase: 'dns', ok: true, durationMs: 2 }, { phase: 'connect', ok: true, durationMs: 4 }],
      banner: null, capabilities: null, capabilitiesBeforeTls: null, tls: null, messageId: null, probeId: 'x',
    };
    const results: CheckResult[] = [
      { ...base, mx: { host: 'mx1.example.test', preference: 10, address: '127.0.0.1' } },
      { ...base, mx: { host: 'mx2.example.test', preference: 20, address: '127.0.0.2' } },
      { ...base, target: 'smtp://[::1]:25', url: 'smtp://[::1]:25' },
      { ...base, target: 'relay.eu-west', url: 'smtp://relay.example.test:25' },
    ];
    const out = nagios.render({ ok: true, results }, { transcript: false, minCertDays: null });
    const labels = [...perfdata(out).keys()];
    expect(labels).toContain('mx1_connect');
    expect(labels).toContain('mx2_time');
    expect(labels).toContain('relay_eu_west_connect');
    for (const l of labels) expect(l).toMatch(/^[A-Za-z0-9_]+$/);
    expect(new Set(labels).size).toBe(labels.length);
  });

  test('time is the SMTP session the thresholds judge; a round trip is an item of its own', () => {
    const r: CheckResult = {
      target: 'smtp://mail.example.test:25', url: 'smtp://mail.example.test:25', ok: true, startedAt: '2026-01-01T00:00:00.000Z',
      durationMs: 30_500, attempts: 1, warnings: [], failure: null, banner: null, capabilities: null, capabilitiesBeforeTls: null,
      tls: null, messageId: null, probeId: 'x',
      phases: [{ phase: 'connect', ok: true, durationMs: 200 }, { phase: 'quit', ok: true, durationMs: 300 }, { phase: 'roundtrip', ok: true, durationMs: 30_000 }],
    };
    const limits = () => ({ warningMs: 2000, criticalMs: 5000, minCertDays: null, criticalCertDays: null });
    const out = nagios.render({ ok: true, results: [r] }, { transcript: false, minCertDays: null, limits });
    expect(out).toMatch(/^SMTP OK - smtp:\/\/mail\.example\.test:25 answered in 0\.500s \| /);
    expect(perfdata(out).get('time')).toBe('0.5s;2;5;0');
    expect(perfdata(out).get('roundtrip')).toBe('30s;;;0');
  });

  test('check --config: each target with its own module\'s thresholds', async () => {
    const mx = await startFakeMx({ hideSTARTTLS: true });
    const config = join(dir, 'two-modules.yaml');
    writeFileSync(config, [
      'modules:',
      '  fast: { tls: none, thresholds: { warning: 3s, critical: 4s } }',
      '  lax: { tls: none, thresholds: { critical: 9s } }',
      'targets:',
      `  - { name: mx.a, url: "smtp://127.0.0.1:${mx.port}", module: fast }`,
      `  - { name: mx.b, url: "smtp://127.0.0.1:${mx.port}", module: lax }`,
      '',
    ].join('\n'));
    const r = await cli(['check', '--config', config, '--format', 'nagios']);
    expect(r.code).toBe(0);
    const perf = perfdata(r.stdout);
    expect(perf.get('mx_a_time')).toMatch(/^[\d.]+s;3;4;0$/);
    expect(perf.get('mx_b_time')).toMatch(/^[\d.]+s;;9;0$/);
  });

  test('several URL targets: each prefixed with its host and port', async () => {
    const mx = await startFakeMx({ hideSTARTTLS: true });
    const r = await cli(['check', `127.0.0.1:${mx.port}`, `smtp://localhost:${mx.port}`, '--format', 'nagios', '--warning', '3s']);
    expect(r.code).toBe(0);
    const perf = perfdata(r.stdout);
    expect(perf.get(`127_0_0_1_${mx.port}_connect`)).toMatch(/^[\d.]+s;;;0$/);
    expect(perf.get(`localhost_${mx.port}_time`)).toMatch(/^[\d.]+s;3;;0$/);
    for (const l of perf.keys()) expect(l).toMatch(/^[A-Za-z0-9_]+$/);
  });
});
