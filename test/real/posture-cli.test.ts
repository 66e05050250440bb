/**
 * `smtp-probe posture` end to end against the real parts: the validating resolver and signed zone of
 * test/real/dnsstack.sh (unbound + nsd: probe-posture.test, MX mx1/mx2/mx3 at 127.0.0.1/.2/.3) and the Postfix of
 * test/real/mailstack.sh (127.0.0.1 only, certificate for mail.probe.test), the MTA-STS policy served over HTTPS
 * here with the DNS stack's certificate for mta-sts.probe-posture.test. The command runs in-process (runCli, the
 * binary's code path). Postfix listens on 127.0.0.1 only: with --connect-to every MX address reaches it; without
 * it, mx2 (127.0.0.2) and mx3 (127.0.0.3) are unreachable: n/a.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { cli } from '../helpers/cli.js';
import { startHttps, type TestHttps } from '../posture/helpers/https-server.js';
import { stacksUp } from './stacks.js';

const env = process.env;
const ready = stacksUp('posture-cli.test', 'dns', 'mail');

const zone = env.DNSSTACK_ZONE ?? 'probe-posture.test';
const port = env.MAILSTACK_SMTP_PORT ?? '2525';

/** Each text line cut to check, scope, verdict, reason. */
const cells = (stdout: string): string[][] => stdout.trimEnd().split('\n').slice(0, -1).map((l) => l.split(/\s{2,}/).slice(0, 4));

describe.skipIf(!ready)('smtp-probe posture against unbound + nsd + Postfix', () => {
  let sts: TestHttps | null = null;
  let dir = '';
  let caFile = '';

  beforeAll(async () => {
    const pair = { cert: readFileSync(env.DNSSTACK_CERT!, 'utf8'), key: readFileSync(env.DNSSTACK_KEY!, 'utf8') };
    sts = await startHttps(pair, (_req, res) => {
      res.writeHead(200, { 'content-type': 'text/plain' });
      res.end(`version: STSv1\nmode: enforce\nmx: *.${zone}\nmax_age: 604800\n`);
    });
    // --ca takes one file: the DNS stack's CA (the MTA-STS server) and the mail stack's (Postfix) together.
    dir = mkdtempSync(join(tmpdir(), 'posture-cli-'));
    caFile = join(dir, 'ca.pem');
    writeFileSync(caFile, `${readFileSync(env.DNSSTACK_CA!, 'utf8')}\n${readFileSync(env.MAILSTACK_CA!, 'utf8')}`);
  });
  afterAll(async () => {
    await sts?.close();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  const base = (): string[] => [
    'posture', `${zone}:${port}`, '--dns-server', env.DNSSTACK_SERVER!, '--ca', caFile,
    '--connect-to', `mta-sts.${zone}:443:127.0.0.1:${sts!.port}`,
  ];

  test('every MX address reaches Postfix through --connect-to: one line per check per address, the verdicts measured', async () => {
    const connect = ['mx2', 'mx3'].flatMap((h) => ['--connect-to', `${h}.${zone}:${port}:127.0.0.1:${port}`]);
    const r = await cli([...base(), ...connect]);
    expect(r.stderr).toBe('');
    const rows = cells(r.stdout);
    expect(rows.slice(0, 10)).toEqual([
      ['mta_sts', 'domain', 'pass', '-'],
      ['mta_sts', `mx1.${zone}`, 'pass', '-'],
      ['mta_sts', `mx2.${zone}`, 'pass', '-'],
      ['mta_sts', `mx3.${zone}`, 'pass', '-'],
      ['tls_rpt', 'domain', 'pass', '-'],
      ['tls_rpt', `mx1.${zone}`, 'pass', '-'],
      ['tls_rpt', `mx2.${zone}`, 'n/a', '-'],
      ['tls_rpt', `mx3.${zone}`, 'n/a', '-'],
      ['spf', 'domain', 'pass', '-'],
      ['dmarc', 'domain', 'pass', '-'],
    ]);
    // DANE: the zone is signed and validated, but its TLSA records are at _25._tcp; this probe is on port 2525,
    // so _2525._tcp.mxN has none (a validated NXDOMAIN).
    const perAddress = [
      ['dane', 'n/a', 'no-tlsa'],
      ['dnsbl', 'n/a', 'no-zones'],
      ['starttls', 'pass', '-'],
      ['tls_versions', 'fail', 'legacy-tls'],
      ['tls_ciphers', 'fail', 'weak-cipher'],
      ['certificate', 'warn', 'certificate-host-mismatch'],
      ['starttls_injection', 'pass', '-'],
      ['auth_before_tls', 'pass', '-'],
      ['vrfy', 'pass', '-'],
      ['expn', 'pass', '-'],
      ['open_relay', 'pass', '-'],
      ['banner_hostname', 'warn', 'hostname-mismatch'],
      ['fcrdns', 'pass', '-'],
    ];
    // Postfix's Debian defaults accept TLS 1.0/1.1 and RSA key exchange; its certificate names mail.probe.test, not
    // mxN (a warn on an MX port); test/real/posture-smtp.test.ts asserts why.
    // banner_hostname: Postfix calls itself mail.probe.test, not mxN; fcrdns: 127.0.0.3's PTR names other.zone, whose
    // A is 127.0.0.9 (test/real/posture-names.test.ts has the details).
    const expected = ['mx1', 'mx2', 'mx3'].flatMap((h, i) => perAddress.map(([check, verdict, reason]) => [check!, `${h}.${zone}/127.0.0.${i + 1}`, verdict!, reason!]))
      .map((c) => (c[0] === 'fcrdns' && c[1] === `mx3.${zone}/127.0.0.3` ? ['fcrdns', c[1], 'warn', 'ptr-not-confirmed'] : c));
    expect(rows.slice(10)).toEqual(expected);
    expect(r.stdout.trimEnd().split('\n').at(-1)).toMatch(/^NOT OK probe-posture.test: 28 pass, 7 warn, 6 fail, 8 n\/a \(3 MX hosts, 3 address\(es\)\)$/);
    expect(r.stdout).toContain(`(connected to 127.0.0.1:${port} by --connect-to)`);
    expect(r.code).toBe(1);
  });

  test('dane on port 25 (TLSA at _25._tcp, validated) with every MX sent to Postfix: its certificate matches no TLSA: fail tlsa-invalid', async () => {
    // The zone's TLSA records name the DNS stack's certificates (mx1 3 1 1, mx2 a stale key, mx3 2 0 1 of its CA),
    // not Postfix's: with the AD bit on MX, A and TLSA the check connects and finds no match.
    const r = await cli(['posture', zone, '--checks', 'dane', '--dns-server', env.DNSSTACK_SERVER!, '--connect-to', `:25:127.0.0.1:${port}`]);
    expect(cells(r.stdout)).toEqual(['mx1', 'mx2', 'mx3'].map((h, i) => ['dane', `${h}.${zone}/127.0.0.${i + 1}`, 'fail', 'tlsa-invalid']));
    expect(r.stdout).toContain(`_25._tcp.mx1.${zone}`);
    expect(r.code).toBe(1);
  });

  test('without --connect-to for mx2/mx3, their addresses (127.0.0.2/.3, where Postfix does not listen) are n/a: unreachable', async () => {
    const r = await cli([...base(), '--checks', 'starttls,vrfy', '--format', 'json']);
    const j = JSON.parse(r.stdout);
    expect(j.mx.map((m: { host: string; addresses: string[] }) => [m.host, m.addresses])).toEqual([
      [`mx1.${zone}`, ['127.0.0.1']], [`mx2.${zone}`, ['127.0.0.2']], [`mx3.${zone}`, ['127.0.0.3']],
    ]);
    expect(j.findings.map((f: { check: string; address: string; result: string; reason: string | null }) => [f.check, f.address, f.result, f.reason])).toEqual([
      ['starttls', '127.0.0.1', 'pass', null], ['vrfy', '127.0.0.1', 'pass', null],
      ['starttls', '127.0.0.2', 'n/a', 'unreachable'], ['vrfy', '127.0.0.2', 'n/a', 'unreachable'],
      ['starttls', '127.0.0.3', 'n/a', 'unreachable'], ['vrfy', '127.0.0.3', 'n/a', 'unreachable'],
    ]);
    expect(j.ok).toBe(true);
    expect(r.code).toBe(0);
  });
});
