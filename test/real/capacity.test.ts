/**
 * `smtp-probe capacity` against the real Postfix of test/real/mailstack.sh: the plain port (2525, loopback exempt
 * from every client limit) and the limited one (MAILSTACK_LIMITED_PORT, 2524: smtpd_client_connection_count_limit=2
 * with no exemption, so anvil greets the third connection at once from 127.0.0.1 with a 421).
 */
import net from 'node:net';
import { describe, expect, test } from 'vitest';
import { runCli } from '../../src/cli/cli.js';
import type { CapacityReport } from '../../src/core/capacity.js';

const env = process.env;
if (!env.MAILSTACK_HOST || !env.MAILSTACK_LIMITED_PORT) {
  throw new Error('MAILSTACK_* not set (or the stack predates MAILSTACK_LIMITED_PORT): run `bash test/real/mailstack.sh start` and eval its `env` output');
}
const host = env.MAILSTACK_HOST;
const tls = ['--ca', env.MAILSTACK_CA!, '--servername', 'mail.probe.test'];
const TOO_MANY = /^421 4\.7\.0 mail\.probe\.test Error: too many connections from 127\.0\.0\.1$/;

async function capacity(...argv: string[]): Promise<{ code: number; report: CapacityReport }> {
  let stdout = '';
  const code = await runCli(['capacity', ...argv, '--format', 'json'], { stdout: (t) => (stdout += t), stderr: () => undefined, env: {} });
  return { code, report: JSON.parse(stdout) as CapacityReport };
}

/** The greeting of one raw connection, which is left open (the caller ends it). */
function greeting(port: number): Promise<{ socket: net.Socket; line: string }> {
  return new Promise((resolve, reject) => {
    const socket = net.connect(port, host);
    let buf = '';
    socket.on('error', reject);
    socket.on('data', (d) => {
      buf += d.toString('latin1');
      const end = buf.indexOf('\r\n');
      if (end >= 0) resolve({ socket, line: buf.slice(0, end) });
    });
  });
}

describe('the test stack', () => {
  test('the limited port answers the third connection at once with 421 too many connections; the plain port does not', async () => {
    const limited = Number(env.MAILSTACK_LIMITED_PORT);
    const plain = Number(env.MAILSTACK_SMTP_PORT);
    const open: net.Socket[] = [];
    try {
      for (const port of [limited, limited, plain, plain, plain]) {
        const g = await greeting(port);
        open.push(g.socket);
        expect(g.line).toBe('220 mail.probe.test ESMTP');
      }
      const third = await greeting(limited);
      open.push(third.socket);
      expect(third.line).toMatch(TOO_MANY);
    } finally {
      for (const s of open) s.destroy();
    }
  });
});

describe('capacity against the real Postfix', () => {
  test('5 sessions against the limited port: stops at the first 421 and reports it', async () => {
    const { code, report } = await capacity(`smtp://${host}:${env.MAILSTACK_LIMITED_PORT}`, '--sessions', '5', '--duration', '10s', '--until', 'starttls', ...tls);
    expect(code).toBe(1);
    expect(report.ok).toBe(false);
    expect(report.stoppedBy421).not.toBeNull();
    const stop = report.stoppedBy421!;
    expect(stop.phase).toBe('banner');
    expect(stop.reply).toMatch(TOO_MANY);
    // anvil allows 2 at once: the sessions past their greeting when it said no were at most those 2.
    expect(stop.okSessions).toBeLessThanOrEqual(2);
    expect(stop.openSessions).toBeGreaterThanOrEqual(stop.okSessions);
    expect(report.maxConcurrentOk).toBeGreaterThanOrEqual(1);
    expect(report.maxConcurrentOk).toBeLessThanOrEqual(2);
    expect(report.results['421']).toBeGreaterThanOrEqual(1);
    expect(report.results.accepted + report.results['421']).toBe(report.started);
    // Stopped long before the 10 s were up.
    expect(report.elapsedMs).toBeLessThan(5000);
  });

  test('5 sessions against the plain port until STARTTLS: all accepted, p50/p95 per phase, maxConcurrentOk 5', async () => {
    const { code, report } = await capacity(`smtp://${host}:${env.MAILSTACK_SMTP_PORT}`, '--sessions', '5', '--duration', '3s', '--until', 'starttls', ...tls);
    expect(code).toBe(0);
    expect(report.ok).toBe(true);
    expect(report.stoppedBy421).toBeNull();
    expect(report.results.accepted).toBe(report.started);
    expect(report.started).toBeGreaterThan(5);
    expect(report.maxConcurrentOk).toBe(5);
    expect(Object.keys(report.phases)).toEqual(['connect', 'banner_first_byte', 'banner', 'ehlo', 'tls']);
    for (const s of Object.values(report.phases)) {
      expect(s.count).toBe(report.started);
      expect(s.p50Ms).toBeGreaterThan(0);
      expect(s.p50Ms).toBeLessThanOrEqual(s.p95Ms);
      expect(s.p95Ms).toBeLessThanOrEqual(s.maxMs);
    }
  });

  test('smtps:// (implicit TLS) until EHLO: the handshake timed as tls, before the greeting', async () => {
    const { code, report } = await capacity(`smtps://${host}:${env.MAILSTACK_SMTPS_PORT}`, '--sessions', '2', '--duration', '1s', ...tls);
    expect(code).toBe(0);
    expect(report.results.accepted).toBe(report.started);
    expect(report.phases.tls?.count).toBe(report.started);
    expect(report.phases.ehlo?.count).toBe(report.started);
  });
});
