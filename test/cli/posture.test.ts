import { afterEach, describe, expect, it } from 'vitest';
import { postureCommand, targetOf } from '../../src/cli/posture.js';
import { closeAll } from '../helpers/cleanup.js';
import { cli } from '../helpers/cli.js';
import { fakeSecureDns, type FakeEntry } from '../dns/secure-fake.js';
import { startPostureServer } from '../posture/helpers/smtp-server.js';

afterEach(closeAll);

/** A signed-looking zone: example.test with two MX hosts (mx2 first by preference), SPF, DMARC, no MTA-STS. */
function zone(extra: Record<string, FakeEntry> = {}): Record<string, FakeEntry> {
  return {
    'example.test MX': { ad: true, records: [{ preference: 20, exchange: 'mx1.example.test' }, { preference: 10, exchange: 'mx2.example.test' }] },
    'mx1.example.test A': { ad: true, records: ['127.0.0.1'] },
    'mx2.example.test A': { ad: true, records: ['127.0.0.2'] },
    'example.test TXT': { records: ['v=spf1 mx -all'] },
    '_dmarc.example.test TXT': { records: ['v=DMARC1; p=reject; rua=mailto:d@example.test'] },
    ...extra,
  };
}

async function run(argv: string[], table = zone()): Promise<{ code: number; stdout: string; stderr: string; asked: string[] }> {
  let stdout = '';
  let stderr = '';
  const dns = fakeSecureDns(table);
  const code = await postureCommand(argv, { stdout: (t) => (stdout += t), stderr: (t) => (stderr += t), env: {} }, { dns, smtpTimeoutMs: 3_000 });
  return { code, stdout, stderr, asked: dns.asked };
}

describe('posture: usage', () => {
  it.each([
    [['posture'], /no target/],
    [['posture', 'a.test', 'b.test'], /one target at a time/],
    [['posture', 'not a domain'], /not a domain name/],
    [['posture', 'http://example.test'], /scheme must be/],
    [['posture', 'example.test:99999'], /port must be 1-65535/],
    [['posture', 'example.test', '--dnsbl-zone', 'not a zone'], /--dnsbl-zone: "not a zone" is not a domain name/],
    [['posture', 'example.test', ...Array.from({ length: 21 }, (_, i) => ['--dnsbl-zone', `z${i}.test`]).flat()], /--dnsbl-zone: at most 20 zones/],
    [['posture', 'example.test', '--checks', 'nope'], /unknown check "nope"/],
    [['posture', 'example.test', '--format', 'xml'], /--format/],
    [['posture', 'example.test', '--at', '2026-02-30'], /--at: "2026-02-30" is not a date/],
    [['posture', 'example.test', '--dns-server', 'dns.example'], /--dns-server: "dns.example"/],
    [['posture', 'example.test', '--connect-to', 'a:b'], /--connect-to: "a:b"/],
    [['posture', 'example.test', '--relay-test-domain', 'x'], /--relay-test-domain/],
  ])('%j exits 2 naming the problem', async (argv, message) => {
    const r = await cli(argv);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(message);
    expect(r.stdout).toBe('');
  });

  it('a usage error with --format nagios is one UNKNOWN line, exit 3', async () => {
    const r = await cli(['posture', 'example.test', '--checks', 'nope', '--format', 'nagios']);
    expect(r.code).toBe(3);
    expect(r.stdout).toMatch(/^SMTP UNKNOWN - --checks: unknown check "nope"/);
  });

  it('--help prints the usage, exit 0', async () => {
    const r = await cli(['posture', '--help']);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('Usage: smtp-probe posture DOMAIN');
  });
});

describe('posture: domain checks over fake DNS', () => {
  const DOMAIN_ONLY = ['--checks', 'mta_sts,tls_rpt,spf,dmarc'];

  it('text: one line per check and scope, MX hosts by preference, exit 0 with no fail', async () => {
    const r = await run(['example.test', ...DOMAIN_ONLY]);
    expect(r.code).toBe(0);
    const lines = r.stdout.trimEnd().split('\n');
    const cells = lines.slice(0, -1).map((l) => l.split(/\s{2,}/).slice(0, 3));
    expect(cells).toEqual([
      ['mta_sts', 'domain', 'n/a'],
      ['tls_rpt', 'domain', 'warn'],
      ['tls_rpt', 'mx2.example.test', 'n/a'],
      ['tls_rpt', 'mx1.example.test', 'n/a'],
      ['spf', 'domain', 'pass'],
      ['dmarc', 'domain', 'pass'],
    ]);
    expect(lines.at(-1)).toBe('OK example.test: 2 pass, 1 warn, 0 fail, 3 n/a (2 MX hosts, 2 address(es))');
  });

  it('--strict turns a warn into exit 1; a fail is exit 1 without it', async () => {
    expect((await run(['example.test', ...DOMAIN_ONLY, '--strict'])).code).toBe(1);
    const bad = await run(['example.test', ...DOMAIN_ONLY], zone({ 'example.test TXT': { records: ['v=spf1 +all'] } }));
    expect(bad.code).toBe(1);
    expect(bad.stdout).toMatch(/^spf +domain +fail/m);
    expect(bad.stdout).toMatch(/^NOT OK /m);
  });

  it('json: target, domain, at, mx with addresses, findings, ok', async () => {
    const r = await run(['mx://example.test:2525', ...DOMAIN_ONLY, '--format', 'json', '--at', '2027-01-15']);
    const j = JSON.parse(r.stdout);
    expect(j.target).toBe('mx://example.test:2525');
    expect(j.domain).toBe('example.test');
    expect(j.at).toBe('2027-01-15');
    expect(j.mx).toEqual([
      { host: 'mx2.example.test', preference: 10, addresses: ['127.0.0.2'], error: null },
      { host: 'mx1.example.test', preference: 20, addresses: ['127.0.0.1'], error: null },
    ]);
    expect(j.findings).toHaveLength(6);
    expect(j.findings[0]).toMatchObject({ check: 'mta_sts', scope: 'domain', mxHost: null, result: 'n/a' });
    expect(j.ok).toBe(true);
    expect(r.code).toBe(0);
  });

  it('junit: a testcase per finding; warn a failure only with --strict, n/a skipped', async () => {
    const plain = await run(['example.test', ...DOMAIN_ONLY, '--format', 'junit']);
    expect(plain.stdout.match(/<testcase /g)).toHaveLength(6);
    expect(plain.stdout).toContain('failures="0"');
    expect(plain.stdout.match(/<skipped /g)).toHaveLength(3);
    expect(plain.stdout).not.toContain('<failure');
    const strict = await run(['example.test', ...DOMAIN_ONLY, '--format', 'junit', '--strict']);
    expect(strict.stdout.match(/<failure /g)).toHaveLength(1);
    expect(strict.stdout).toMatch(/name="tls_rpt">\n      <failure message="warn \(record-missing\)/);
    expect(strict.code).toBe(1);
  });

  it('nagios: WARNING exit 1 at a warn, CRITICAL exit 2 at a fail, OK exit 0', async () => {
    const warn = await run(['example.test', ...DOMAIN_ONLY, '--format', 'nagios']);
    expect(warn.code).toBe(1);
    expect(warn.stdout).toMatch(/^POSTURE WARNING - example.test: 2 pass, 1 warn, 0 fail, 3 n\/a .*: tls_rpt domain \(record-missing\) \| pass=2 warn=1 fail=0 na=3\n$/);
    const crit = await run(['example.test', '--checks', 'spf', '--format', 'nagios'], zone({ 'example.test TXT': { records: ['v=spf1 +all'] } }));
    expect(crit.code).toBe(2);
    expect(crit.stdout).toMatch(/^POSTURE CRITICAL - .*spf domain/);
    const ok = await run(['example.test', '--checks', 'spf,dmarc', '--format', 'nagios']);
    expect(ok.code).toBe(0);
    expect(ok.stdout).toMatch(/^POSTURE OK - example.test: 2 pass, 0 warn/);
  });

  it('no MX record: the domain itself is the implicit MX; a failed MX lookup is a problem, exit 1', async () => {
    const implicit = await run(['example.test', '--checks', 'tls_rpt', '--format', 'json'], zone({ 'example.test MX': { ad: true, records: [] }, 'example.test A': { records: ['127.0.0.9'] } }));
    expect(JSON.parse(implicit.stdout).mx).toEqual([{ host: 'example.test', preference: null, addresses: ['127.0.0.9'], error: null }]);
    const broken = await run(['example.test', '--checks', 'spf'], zone({ 'example.test MX': { rcode: 'SERVFAIL' } }));
    expect(broken.code).toBe(1);
    expect(broken.stdout).toMatch(/^problem: MX example.test: SERVFAIL/m);
  });

  it('asks each name and type once in a run (memoized DNS): two addresses of mx1 share its TLSA question', async () => {
    const r = await run(['example.test', '--checks', 'mta_sts,dane'], zone({ 'mx1.example.test AAAA': { ad: true, records: ['::1'] } }));
    expect(r.asked.length).toBe(new Set(r.asked).size);
    expect(r.asked).toContain('_mta-sts.example.test TXT');
    expect(r.asked).toContain('_25._tcp.mx1.example.test TLSA');
    expect(r.stdout.match(/^dane +mx1\.example\.test\//gm)).toHaveLength(2); // both addresses were judged
  });

  it('an MX host listed twice is checked once, at its best preference', async () => {
    const twice = { ad: true, records: [{ preference: 30, exchange: 'mx1.example.test' }, { preference: 10, exchange: 'mx2.example.test' }, { preference: 20, exchange: 'mx1.example.test' }] };
    const r = await run(['example.test', '--checks', 'tls_rpt', '--format', 'json'], zone({ 'example.test MX': twice }));
    expect(JSON.parse(r.stdout).mx.map((m: { host: string; preference: number }) => [m.host, m.preference])).toEqual([['mx2.example.test', 10], ['mx1.example.test', 20]]);
  });

  it('the target: port 25 by default; smtps:// and any :465 mean implicit TLS', () => {
    expect(targetOf(['example.test'])).toMatchObject({ domain: 'example.test', port: 25, implicitTls: false });
    expect(targetOf(['Example.TEST.:587'])).toMatchObject({ domain: 'example.test', port: 587, implicitTls: false });
    expect(targetOf(['smtps://example.test'])).toMatchObject({ port: 465, implicitTls: true });
    expect(targetOf(['example.test:465'])).toMatchObject({ port: 465, implicitTls: true });
    expect(targetOf(['mx://example.test:465'])).toMatchObject({ port: 465, implicitTls: true });
  });
});

describe('posture: SMTP checks against a scripted server', () => {
  it('--connect-to sends each MX address to the server; one line per check per address; no DATA', async () => {
    const s = await startPostureServer({ vrfy: () => '250 2.0.0 <postmaster@mx.example.test>' });
    const connect = ['--connect-to', `mx1.example.test:25:127.0.0.1:${s.port}`, '--connect-to', `mx2.example.test:25:127.0.0.1:${s.port}`];
    const r = await run(['example.test', '--checks', 'starttls,vrfy,open_relay', ...connect]);
    const cells = r.stdout.trimEnd().split('\n').slice(0, -1).map((l) => l.split(/\s{2,}/).slice(0, 4));
    expect(cells).toEqual([
      ['starttls', 'mx2.example.test/127.0.0.2', 'fail', 'starttls-not-supported'],
      ['vrfy', 'mx2.example.test/127.0.0.2', 'fail', 'vrfy-enabled'],
      ['open_relay', 'mx2.example.test/127.0.0.2', 'pass', '-'],
      ['starttls', 'mx1.example.test/127.0.0.1', 'fail', 'starttls-not-supported'],
      ['vrfy', 'mx1.example.test/127.0.0.1', 'fail', 'vrfy-enabled'],
      ['open_relay', 'mx1.example.test/127.0.0.1', 'pass', '-'],
    ]);
    expect(r.stdout).toContain(`(connected to 127.0.0.1:${s.port} by --connect-to)`);
    expect(r.code).toBe(1);
    expect(s.text()).toContain('RCPT TO:');
    expect(s.text()).not.toContain('DATA');
  });

  it('dane per address from the AD bits: unvalidated MX n/a insecure; validated MX and A with a SERVFAIL TLSA: fail dnssec-invalid, no connection', async () => {
    const insecure = await run(['example.test', '--checks', 'dane', '--format', 'json'], zone({ 'example.test MX': { ad: false, records: [{ preference: 10, exchange: 'mx1.example.test' }] } }));
    expect(JSON.parse(insecure.stdout).findings.map((f: { result: string; reason: string }) => [f.result, f.reason])).toEqual([['n/a', 'insecure']]);
    expect(insecure.asked).not.toContain('_25._tcp.mx1.example.test TLSA');
    const bogus = await run(['example.test:2525', '--checks', 'dane'], zone({ '_2525._tcp.mx1.example.test TLSA': { rcode: 'SERVFAIL' }, '_2525._tcp.mx2.example.test TLSA': { ad: true, rcode: 'NXDOMAIN' } }));
    const cells = bogus.stdout.trimEnd().split('\n').slice(0, -1).map((l) => l.split(/\s{2,}/).slice(0, 4));
    expect(cells).toEqual([
      ['dane', 'mx2.example.test/127.0.0.2', 'n/a', 'no-tlsa'],
      ['dane', 'mx1.example.test/127.0.0.1', 'fail', 'dnssec-invalid'],
    ]);
    expect(bogus.code).toBe(1);
  });

  it('an MX host without an address gets n/a per SMTP check and a problem line', async () => {
    const r = await run(['example.test', '--checks', 'starttls', '--format', 'json'], zone({ 'mx2.example.test A': { records: [] } }));
    const j = JSON.parse(r.stdout);
    expect(j.findings[0]).toMatchObject({ check: 'starttls', scope: 'mx', mxHost: 'mx2.example.test', result: 'n/a', reason: 'no-address' });
    expect(j.problems).toEqual(['mx2.example.test: no A or AAAA record']);
    expect(j.ok).toBe(false);
    expect(r.code).toBe(1);
  });
});
