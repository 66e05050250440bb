/**
 * examples/nagios-commands.cfg and examples/ci-smoke-check.sh, run for real: each Nagios command line (the
 * installed bin replaced by this build, the macros filled in) and the CI script (with `smtp-probe` on PATH being
 * this build) against in-process servers. The test CA is trusted through NODE_EXTRA_CA_CERTS, as a host's own CA
 * store would be, so the example lines run unchanged.
 */
import { execFile, execFileSync } from 'node:child_process';
import { chmodSync, existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeAll, describe, expect, test } from 'vitest';
import { closeAll } from '../helpers/cleanup.js';
import { certValidFor, testCa } from '../helpers/certs.js';
import { startFakeMx, type FakeMxOptions } from '../helpers/fake-mx.js';
import { ROOT, example, readExample } from './support.js';

interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

const MAIN = join(ROOT, 'dist/src/cli/main.js');
let dir: string;
let env: NodeJS.ProcessEnv;

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'smtp-probe-examples-'));
  writeFileSync(join(dir, 'ca.pem'), testCa().cert);
  // `smtp-probe` on PATH is this build, as `npm install -g smtp-probe` would put it there.
  const shim = join(dir, 'bin', 'smtp-probe');
  execFileSync('mkdir', ['-p', join(dir, 'bin')]);
  writeFileSync(shim, `#!/bin/sh\nexec "${process.execPath}" "${MAIN}" "$@"\n`);
  chmodSync(shim, 0o755);
  env = { ...process.env, NODE_EXTRA_CA_CERTS: join(dir, 'ca.pem'), PATH: `${join(dir, 'bin')}:${process.env.PATH ?? ''}` };
});
afterEach(closeAll);

function run(file: string, args: string[], extra: NodeJS.ProcessEnv = {}, cwd = dir): Promise<Run> {
  return new Promise((resolve) => {
    execFile(file, args, { env: { ...env, ...extra }, cwd, timeout: 30_000 }, (err, stdout, stderr) => {
      resolve({ code: err ? (typeof err.code === 'number' ? err.code : -1) : 0, stdout, stderr });
    });
  });
}

const PASSWORD = 'probe-secret';
const submissionServer = (o: FakeMxOptions = {}) =>
  startFakeMx({ users: { 'probe@example.test': PASSWORD }, authMethods: ['PLAIN'], localDomains: ['example.test'], ...o });

describe('examples/nagios-commands.cfg', () => {
  const cfg = readExample('nagios-commands.cfg');
  const commands = new Map([...cfg.matchAll(/command_name\s+(\S+)\s*\n\s*command_line\s+(.+)/g)].map((m) => [m[1]!, m[2]!.trim()]));
  const services = [...cfg.matchAll(/check_command\s+(\S+)/g)].map((m) => m[1]!);

  test('runs the installed bin: no npx (without a TTY it installs whatever the registry holds under the name)', () => {
    expect(commands.size).toBeGreaterThanOrEqual(3);
    for (const line of commands.values()) {
      expect(line).not.toMatch(/\bnpx\b/);
      expect(line).toMatch(/^\/usr\/local\/bin\/smtp-probe check \$HOSTADDRESS\$:/);
    }
    for (const s of services) expect(commands.has(s.split('!')[0]!)).toBe(true);
  });

  test('every command line, macros filled in, gives OK against a healthy server', async () => {
    const mx = await submissionServer();
    const passFile = join(dir, 'nagios.pass');
    writeFileSync(passFile, `${PASSWORD}\n`);
    const args: Record<string, string[]> = {
      check_smtp_probe: [String(mx.port), '--min-cert-days 14'],
      check_smtp_probe_starttls: [String(mx.port)],
      check_smtp_probe_submission: ['probe@example.test'],
    };
    expect([...commands.keys()].sort()).toEqual(Object.keys(args).sort());
    for (const [name, line] of commands) {
      let filled = line.replace('$HOSTADDRESS$', '127.0.0.1').replace(':587', `:${mx.port}`).replace('/etc/nagios/smtp-probe.pass', passFile);
      args[name]!.forEach((a, i) => (filled = filled.replace(`$ARG${i + 1}$`, a)));
      expect(filled, name).not.toMatch(/\$/);
      const [, ...argv] = filled.split(/\s+/);
      const r = await run(process.execPath, [MAIN, ...argv]);
      expect(r.stdout, `${name}: ${filled}\n${r.stderr}`).toMatch(/^SMTP OK - /);
      expect(r.code, name).toBe(0);
    }
  });
});

describe('examples/ci-smoke-check.sh', () => {
  const script = example('ci-smoke-check.sh');

  test('is shellcheck-clean (when shellcheck is installed)', async () => {
    const which = await run('/bin/sh', ['-c', 'command -v shellcheck']);
    // CI installs shellcheck (test/real/mailstack.sh): there its absence is a failure, not a pass.
    if (which.code !== 0) return void expect(process.env.CI ?? '', 'shellcheck is not installed').toBe('');
    const r = await run('shellcheck', [script]);
    expect(r.stdout + r.stderr).toBe('');
    expect(r.code).toBe(0);
  });

  async function smoke(o: FakeMxOptions, password: string): Promise<Run & { cwd: string }> {
    const mx = await submissionServer(o);
    const cwd = mkdtempSync(join(dir, 'ci-'));
    const r = await run('bash', [script, '127.0.0.1', 'example.test'], { SMTP_PROBE_PASSWORD: password, SUBMISSION_PORT: String(mx.port), MX_PORT: String(mx.port) }, cwd);
    return { ...r, cwd };
  }

  test('a healthy server: both checks pass, exit 0, two JUnit reports', async () => {
    const r = await smoke({}, PASSWORD);
    expect(r.code, r.stderr).toBe(0);
    for (const f of ['smtp-submission.xml', 'smtp-relay.xml']) expect(readFileSync(join(r.cwd, f), 'utf8')).toMatch(/<testsuite [^>]*failures="0"/);
  });

  test('a failed submission check does not skip the relay check; the script exits 1', async () => {
    const r = await smoke({}, 'wrong');
    expect(r.code).toBe(1);
    expect(readFileSync(join(r.cwd, 'smtp-submission.xml'), 'utf8')).toMatch(/<failure type="reply"/);
    expect(existsSync(join(r.cwd, 'smtp-relay.xml'))).toBe(true);
    expect(readFileSync(join(r.cwd, 'smtp-relay.xml'), 'utf8')).toMatch(/<testsuite [^>]*failures="0"/);
  });

  test('a certificate with fewer than 14 days left fails the submission check, as the script says', async () => {
    const r = await smoke({ ...certValidFor(10) }, PASSWORD);
    expect(r.code).toBe(1);
    expect(readFileSync(join(r.cwd, 'smtp-submission.xml'), 'utf8')).toMatch(/<failure type="tls" message="tls_upgrade \(tls\): certificate expires in 9 days/);
  });
});
