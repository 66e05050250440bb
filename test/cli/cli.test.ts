import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import type { CheckResult } from '../../src/core/result.js';
import { demoCertificate } from '../../src/demo/cert.js';
import { DEMO_PASSWORD, DEMO_USER, startDemoServer, type DemoServer } from '../../src/demo/server.js';
import { cli, type Run } from '../helpers/cli.js';



/** The built binary (npm ci builds it through `prepare`). */
function bin(argv: string[], env: NodeJS.ProcessEnv = {}): Promise<Run> {
  return new Promise((resolve) => {
    execFile(process.execPath, ['dist/src/cli/main.js', ...argv], { env: { ...process.env, ...env }, timeout: 20_000 }, (err, stdout, stderr) => {
      const code = err ? (typeof err.code === 'number' ? err.code : -1) : 0;
      resolve({ code, stdout, stderr });
    });
  });
}

let server: DemoServer;
let url: string;
let dir: string;
let caFile: string;
const tlsFlags = (): string[] => ['--tls', 'starttls', '--ca', caFile, '--servername', 'localhost'];
const authFlags = ['--auth-user', DEMO_USER, '--auth-pass-env', 'DEMO_PASS'];

beforeAll(async () => {
  server = await startDemoServer();
  url = `smtp://127.0.0.1:${server.port}`;
  dir = mkdtempSync(join(tmpdir(), 'smtp-probe-cli-'));
  caFile = join(dir, 'ca.pem');
  writeFileSync(caFile, demoCertificate().cert);
});
afterAll(async () => {
  await server.close();
});

describe('version and help', () => {
  test('--version prints the package version', async () => {
    const pkg = JSON.parse(readFileSync('package.json', 'utf8')) as { version: string };
    const r = await bin(['--version']);
    expect(r.code).toBe(0);
    expect(r.stdout.trim()).toBe(`smtp-probe ${pkg.version}`);
  });
  test('--help on the tool and on each command', async () => {
    for (const argv of [['--help'], ['check', '--help'], ['demo', '--help']]) {
      const r = await cli(argv);
      expect(r.code).toBe(0);
      expect(r.stdout).toMatch(/Usage:/);
    }
    expect((await cli(['check', '--help'])).stdout).toContain('--expect PHASE=CODES');
  });
  test('no command is a usage error', async () => {
    expect((await cli([])).code).toBe(2);
  });
});

describe('usage errors exit 2 and name the flag', () => {
  test.each([
    [['check', 'URL', '--bogus'], /unknown flag --bogus/],
    [['check', 'URL', '--auth-pass', 'x'], /--auth-pass: passwords are never taken on the command line/],
    [['check', 'URL', '--timeout', '10'], /--timeout: "10" needs a unit/],
    [['check', 'URL', '--tls', 'sometimes'], /--tls: "sometimes" is not one of none, opportunistic, starttls, implicit/],
    [['check', 'URL', '--expect', 'rcpt=abc'], /--expect rcpt=abc: "abc" is not a reply code/],
    [['check', 'URL', '--expect', 'bogus=250'], /--expect: "bogus" is not a phase/],
    [['check', 'URL', '--steps', 'banner,fly'], /--steps: unknown step "fly"/],
    [['check', 'URL', '--auth-user', 'u', '--auth-pass-env', 'NOPE_NOT_SET'], /environment variable NOPE_NOT_SET is not set/],
    [['check', 'URL', '--auth-user', 'u'], /--auth-user: needs a password/],
    [['check', 'smtp://user:pw@host'], /credentials do not belong in a URL/],
    [['check', 'http://host'], /unknown scheme http/],
    [['check'], /no target/],
    [['check', 'URL', '--to', 'not-an-address'], /--to: "not-an-address" is not a mail address/],
    [['check', 'URL', '--retries', '-1'], /--retries/],
    [['check', 'URL', '--tls', 'starttls', '--steps', 'banner,ehlo,noop,quit'], /--steps: leaves out starttls, which --tls starttls needs/],
    [['check', 'URL', '--to', DEMO_USER, '--steps', 'banner,ehlo,quit'], /--steps: leaves out send, which --to needs/],
    [['check', 'URL', '--auth-user', 'u', '--auth-pass-env', 'SET_PW', '--steps', 'banner,ehlo,starttls,quit'], /--steps: leaves out auth, which --auth-user needs/],
  ])('%j', async (args, message) => {
    const r = await cli(args.map((a) => (a === 'URL' ? url : a)), { SET_PW: 'pw' });
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(message);
    expect(r.stdout).toBe('');
    expect(r.stderr).not.toMatch(/\n\s+at /); // no stack trace
  });
  test('with --format nagios a usage error is UNKNOWN (3)', async () => {
    expect((await cli(['check', url, '--format', 'nagios', '--bogus'])).code).toBe(3);
  });
});

describe('check against a real in-process server', () => {
  test('full transaction over STARTTLS with AUTH: exit 0, the contract record, no secret anywhere', async () => {
    const r = await bin(['check', url, ...tlsFlags(), ...authFlags, '--to', DEMO_USER, '--format', 'json', '--transcript'], {
      DEMO_PASS: DEMO_PASSWORD,
    });
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    const report = JSON.parse(r.stdout) as { ok: boolean; results: CheckResult[] };
    expect(report.ok).toBe(true);
    const [res] = report.results;
    expect(res!.failure).toBeNull();
    expect(res!.phases.map((p) => p.phase)).toEqual([
      'connect', 'banner', 'ehlo', 'starttls', 'tls_upgrade', 'ehlo_tls', 'auth', 'mail', 'rcpt', 'data', 'message', 'noop', 'quit',
    ]);
    expect(res!.tls).toMatchObject({ verified: true, verifyError: null, subject: 'localhost' });
    expect(res!.capabilitiesBeforeTls).toHaveProperty('STARTTLS');
    expect(res!.capabilities).not.toHaveProperty('STARTTLS');
    const sum = res!.phases.reduce((n, p) => n + p.durationMs, 0);
    expect(Math.abs(sum - res!.durationMs)).toBeLessThan(5);
    expect(res!.transcript!.some((l) => l.line === 'AUTH PLAIN ***')).toBe(true);
    const b64 = Buffer.from(`\0${DEMO_USER}\0${DEMO_PASSWORD}`).toString('base64');
    for (const out of [r.stdout, r.stderr]) {
      expect(out).not.toContain(DEMO_PASSWORD);
      expect(out).not.toContain(b64);
    }
  });

  test('wrong password: exit 1, failure at auth with 535', async () => {
    const r = await cli(['check', url, ...tlsFlags(), ...authFlags, '--format', 'json'], { DEMO_PASS: 'wrong' });
    expect(r.code).toBe(1);
    const res = (JSON.parse(r.stdout) as { results: CheckResult[] }).results[0]!;
    expect(res.failure).toMatchObject({ phase: 'auth', reason: 'reply', code: 535 });
  });

  test('password from a file, one trailing newline stripped', async () => {
    const file = join(dir, 'pass');
    writeFileSync(file, `${DEMO_PASSWORD}\n`);
    const r = await cli(['check', url, ...tlsFlags(), '--auth-user', DEMO_USER, '--auth-pass-file', file, '--format', 'json']);
    expect(r.code).toBe(0);
  });

  test('negative check: relay to an outside domain must be refused', async () => {
    const ok = await cli(['check', url, ...tlsFlags(), '--to', 'someone@outside.example', '--expect', 'rcpt=5xx', '--format', 'json']);
    expect(ok.code).toBe(0);
    const res = (JSON.parse(ok.stdout) as { results: CheckResult[] }).results[0]!;
    expect(res.phases.find((p) => p.phase === 'rcpt')).toMatchObject({ ok: true, code: 554 });
    expect(res.phases.some((p) => p.phase === 'data')).toBe(false);
    const refused = await cli(['check', url, ...tlsFlags(), '--to', 'someone@outside.example', '--format', 'json']);
    expect(refused.code).toBe(1);
    expect((JSON.parse(refused.stdout) as { results: CheckResult[] }).results[0]!.failure).toMatchObject({ phase: 'rcpt', reason: 'reply', code: 554 });
  });

  test('repeatable flags never swallow the URLs that follow', async () => {
    const before = server.accepted();
    const r = await cli(['check', '--to', DEMO_USER, url, '--to', DEMO_USER, ...tlsFlags(), '--format', 'json']);
    expect(r.code).toBe(0);
    const report = JSON.parse(r.stdout) as { results: CheckResult[] };
    expect(report.results).toHaveLength(1);
    expect(report.results[0]!.phases.filter((p) => p.phase === 'rcpt')).toHaveLength(2);
    expect(server.accepted()).toBe(before + 1);
  });

  test('--subject, --header and --body-file shape the test message', async () => {
    const body = join(dir, 'body.txt');
    writeFileSync(body, 'line one\n.leading dot\n');
    const r = await cli(['check', url, ...tlsFlags(), '--to', DEMO_USER, '--subject', 'probe check', '--header', 'X-Team: mail-ops', '--body-file', body]);
    expect(r.code).toBe(0);
    const m = server.lastMessage()!;
    expect(m).toMatch(/^Subject: probe check\r$/m);
    expect(m).toMatch(/^X-Team: mail-ops\r$/m);
    expect(m).toContain('\r\n\r\nline one\r\n.leading dot\r\n');
    expect((await cli(['check', url, '--to', DEMO_USER, '--header', 'From: x@y.test'])).stderr).toMatch(/set by smtp-probe itself/);
  });

  test('--no-deliver: RSET instead of DATA', async () => {
    const before = server.accepted();
    const r = await cli(['check', url, ...tlsFlags(), '--to', DEMO_USER, '--no-deliver', '--format', 'json']);
    expect(r.code).toBe(0);
    const phases = (JSON.parse(r.stdout) as { results: CheckResult[] }).results[0]!.phases.map((p) => p.phase);
    expect(phases).toContain('rset');
    expect(phases).not.toContain('data');
    expect(server.accepted()).toBe(before);
  });

  test('connection refused: exit 1, failure at connect', async () => {
    const r = await cli(['check', 'smtp://127.0.0.1:1', '--format', 'json']);
    expect(r.code).toBe(1);
    expect((JSON.parse(r.stdout) as { results: CheckResult[] }).results[0]!.failure).toMatchObject({ phase: 'connect', reason: 'connect' });
  });

  test('text format: phase table, verdict and summary', async () => {
    const r = await cli(['check', url, ...tlsFlags()]);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/smtp:\/\/127\.0\.0\.1:\d+ {2}OK/);
    expect(r.stdout).toMatch(/^ {2}tls_upgrade +ok/m);
    expect(r.stdout).toMatch(/all 1 passed/);
  });

  test('junit: one testcase per target, failures carry phase, code and message', async () => {
    const r = await cli(['check', url, 'smtp://127.0.0.1:1', ...tlsFlags(), '--format', 'junit']);
    expect(r.code).toBe(1);
    expect(r.stdout).toMatch(/^<\?xml/);
    expect(r.stdout.match(/<testcase /g)).toHaveLength(2);
    expect(r.stdout).toMatch(/<failure type="connect" message="connect: connection refused/);
  });

  test('nagios: OK, WARNING under --min-cert-days, CRITICAL on failure, perfdata per phase', async () => {
    const ok = await cli(['check', url, ...tlsFlags(), '--format', 'nagios']);
    expect(ok.code).toBe(0);
    expect(ok.stdout).toMatch(/^SMTP OK - .* \| time=[\d.]+s;;;0 .*banner=[\d.]+s;;;0 .*tls_upgrade=[\d.]+s;;;0/);
    const warn = await cli(['check', url, ...tlsFlags(), '--format', 'nagios', '--min-cert-days', '99999']);
    expect(warn.code).toBe(1);
    expect(warn.stdout).toMatch(/^SMTP WARNING - /);
    const crit = await cli(['check', 'smtp://127.0.0.1:1', '--format', 'nagios']);
    expect(crit.code).toBe(2);
    expect(crit.stdout).toMatch(/^SMTP CRITICAL - .*connect/);
  });

  test('certificate warning stays ok in json', async () => {
    const r = await cli(['check', url, ...tlsFlags(), '--format', 'json', '--min-cert-days', '99999']);
    expect(r.code).toBe(0);
    expect((JSON.parse(r.stdout) as { results: CheckResult[] }).results[0]!.warnings.join()).toMatch(/certificate expires in \d+ days/);
  });
});
