/**
 * `dnsbl`, `banner_hostname` and `fcrdns` against the real parts: unbound + nsd of test/real/dnsstack.sh (the
 * signed probe-posture.test with MX mx1/mx2/mx3 at 127.0.0.1/.2/.3; the unsigned 0.0.127.in-addr.arpa with PTR
 * 127.0.0.1 → mx1, .2 → mx2, .3 → other.probe-posture.test whose A is 127.0.0.9, none for .4; the unsigned RFC 5782
 * list dnsbl.probe.test: 127.0.0.2 listed with a TXT, 127.0.0.1 not, 127.0.0.3 answered 127.255.255.254) and the
 * Postfix of test/real/mailstack.sh (127.0.0.1 only; it calls itself mail.probe.test in its greeting and EHLO).
 * Through `smtp-probe posture` in-process (runCli) and the run functions.
 */
import { afterAll, describe, expect, test } from 'vitest';
import { runBannerHostname } from '../../checks/posture/banner-hostname.js';
import { runFcrdns } from '../../checks/posture/fcrdns.js';
import { runDnsbl } from '../../checks/posture/dnsbl.js';
import { systemClock } from '../../src/core/clock.js';
import { createSecureDns } from '../../src/dns/secure.js';
import { closeAll } from '../helpers/cleanup.js';
import { cli } from '../helpers/cli.js';
import { stacksUp } from './stacks.js';

const env = process.env;
const ready = stacksUp('posture-names.test', 'dns', 'mail');

const zone = env.DNSSTACK_ZONE ?? 'probe-posture.test';
const dnsbl = env.DNSSTACK_DNSBL_ZONE ?? 'dnsbl.probe.test';
const port = env.MAILSTACK_SMTP_PORT ?? '2525';
const postfixName = env.MAILSTACK_HOSTNAME ?? 'mail.probe.test';

/** Each text line cut to check, scope, verdict, reason. */
const cells = (stdout: string): string[][] => stdout.trimEnd().split('\n').slice(0, -1).map((l) => l.split(/\s{2,}/).slice(0, 4));

describe.skipIf(!ready)('dnsbl, banner_hostname, fcrdns against unbound + nsd + Postfix', () => {
  const dns = createSecureDns({ server: env.DNSSTACK_SERVER ?? null, timeoutMs: 5_000, clock: systemClock });
  const smtpDeps = { clock: systemClock, timeoutMs: 10_000, ehloName: 'posture.probe.test', dns };
  afterAll(closeAll);

  test('smtp-probe posture, every MX address sent to Postfix: the verdicts per fixture address', async () => {
    const connect = ['mx1', 'mx2', 'mx3'].flatMap((h) => ['--connect-to', `${h}.${zone}:${port}:127.0.0.1:${port}`]);
    const r = await cli(['posture', `${zone}:${port}`, '--dns-server', env.DNSSTACK_SERVER!, '--checks', 'dnsbl,banner_hostname,fcrdns', '--dnsbl-zone', dnsbl, ...connect]);
    expect(r.stderr).toBe('');
    const at = (i: number): string => `mx${i}.${zone}/127.0.0.${i}`;
    expect(cells(r.stdout)).toEqual([
      ['dnsbl', at(1), 'pass', '-'],
      ['banner_hostname', at(1), 'warn', 'hostname-mismatch'],
      ['fcrdns', at(1), 'pass', '-'],
      ['dnsbl', at(2), 'fail', 'dnsbl-listed'],
      ['banner_hostname', at(2), 'warn', 'hostname-mismatch'],
      ['fcrdns', at(2), 'pass', '-'],
      ['dnsbl', at(3), 'warn', 'dnsbl-refused'],
      ['banner_hostname', at(3), 'warn', 'hostname-mismatch'],
      ['fcrdns', at(3), 'warn', 'ptr-not-confirmed'],
    ]);
    const lines = r.stdout.split('\n');
    const line = (check: string, i: number): string => lines.find((l) => l.startsWith(check) && l.includes(at(i)))!;
    expect(line('dnsbl', 1)).toContain(`not listed in ${dnsbl}`);
    expect(line('dnsbl', 2)).toContain(`listed in ${dnsbl} (127.0.0.2): "RFC 5782 test point: listed"`);
    expect(line('dnsbl', 3)).toContain(`${dnsbl} refused the query (127.255.255.254)`);
    expect(line('fcrdns', 1)).toContain(`PTR 127.0.0.1 → mx1.${zone}, mx1.${zone} A → 127.0.0.1`);
    expect(line('fcrdns', 3)).toContain(`PTR 127.0.0.3 → other.${zone}; other.${zone} A 127.0.0.9: no PTR name resolves back to 127.0.0.3`);
    // Postfix says mail.probe.test (myhostname); the confirmed PTR of 127.0.0.1 is mx1; 127.0.0.3 has none, so its MX name.
    expect(line('banner_hostname', 1)).toContain(`the 220 greeting says "${postfixName}", EHLO says "${postfixName}"; expected mx1.${zone}, the forward-confirmed PTR name`);
    expect(line('banner_hostname', 3)).toContain(`expected mx3.${zone}, the MX host name (PTR other.${zone} not confirmed)`);
    expect(line('banner_hostname', 3)).toContain(`(connected to 127.0.0.1:${port} by --connect-to)`);
    expect(line('fcrdns', 3)).not.toContain('connected to');
    expect(r.stdout.trimEnd().split('\n').at(-1)).toMatch(/^NOT OK probe-posture.test: 3 pass, 5 warn, 1 fail, 0 n\/a /);
    expect(r.code).toBe(1);
  });

  test('without --connect-to, mx2 and mx3 (where Postfix does not listen): banner_hostname n/a, said so; DNS checks unchanged', async () => {
    const r = await cli(['posture', `${zone}:${port}`, '--dns-server', env.DNSSTACK_SERVER!, '--checks', 'dnsbl,banner_hostname,fcrdns', '--format', 'json']);
    const j = JSON.parse(r.stdout) as { findings: { check: string; address: string; result: string; reason: string | null; detail: string }[] };
    expect(j.findings.map((f) => [f.check, f.address, f.result, f.reason])).toEqual([
      ['dnsbl', '127.0.0.1', 'n/a', 'no-zones'], ['banner_hostname', '127.0.0.1', 'warn', 'hostname-mismatch'], ['fcrdns', '127.0.0.1', 'pass', null],
      ['dnsbl', '127.0.0.2', 'n/a', 'no-zones'], ['banner_hostname', '127.0.0.2', 'n/a', 'unreachable'], ['fcrdns', '127.0.0.2', 'pass', null],
      ['dnsbl', '127.0.0.3', 'n/a', 'no-zones'], ['banner_hostname', '127.0.0.3', 'n/a', 'unreachable'], ['fcrdns', '127.0.0.3', 'warn', 'ptr-not-confirmed'],
    ]);
    expect(j.findings[4]!.detail).toBe(`no greeting: connect: connection refused by 127.0.0.2:${port}`);
    expect(j.findings[0]!.detail).toBe('no DNSBL zones configured');
  });

  test('an address without a PTR (127.0.0.4): fcrdns warn no-ptr; banner_hostname then expects the MX host name', async () => {
    const where = { mxHost: postfixName, address: '127.0.0.4' };
    expect(await runFcrdns(where, { dns })).toEqual([expect.objectContaining({ result: 'warn', reason: 'no-ptr', detail: 'no PTR for 127.0.0.4 (4.0.0.127.in-addr.arpa: NXDOMAIN)' })]);
    const target = { mxHost: postfixName, address: env.MAILSTACK_HOST!, port: Number(port), dnsAddress: '127.0.0.4' };
    // Postfix's name is the MX host name here: both its greeting and its EHLO say it, a pass.
    const [pass] = await runBannerHostname(target, smtpDeps);
    expect(pass).toMatchObject({ result: 'pass', reason: null, detail: `greeting and EHLO name ${postfixName}, the MX host name (no PTR)` });
    const [warn] = await runBannerHostname({ ...target, mxHost: `mx4.${zone}` }, smtpDeps);
    expect(warn).toMatchObject({ result: 'warn', reason: 'hostname-mismatch' });
  });

  test('dnsbl: a zone the resolver refuses (outside the test zones) warns dnsbl-unavailable, never pass', async () => {
    const [f] = await runDnsbl({ mxHost: `mx1.${zone}`, address: '127.0.0.1' }, { dns }, { zones: [dnsbl, 'zen.example.org'] });
    expect(f).toMatchObject({ result: 'warn', reason: 'dnsbl-unavailable' });
    expect(f!.detail).toBe(`not listed in ${dnsbl}; zen.example.org: could not ask (REFUSED, 0 A record(s))`);
  });
});
