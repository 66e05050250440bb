/**
 * The DNS-record posture checks (spf, dmarc, tls_rpt, mta_sts) against the real validating resolver of
 * test/real/dnsstack.sh (unbound in front of nsd, DNSSEC-signed test zones on 127.0.0.1; .ci/run starts it),
 * through the AD-reading DNS client `src/dns/secure.ts` as their TXT lookup. The MTA-STS policy is served over
 * HTTPS on 127.0.0.1 with the stack's certificate for `mta-sts.probe-posture.test` (its test CA given as `--ca`),
 * reached through `--connect-to` to the address the zone gives `mta-sts`.
 */
import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { systemClock } from '../../src/core/clock.js';
import { createSecureDns } from '../../src/dns/secure.js';
import { runDmarc } from '../../checks/posture/dmarc.js';
import { mtaStsOptions, runMtaSts } from '../../checks/posture/mta-sts.js';
import { runSpf } from '../../checks/posture/spf.js';
import { runTlsRpt } from '../../checks/posture/tls-rpt.js';
import type { TxtLookup } from '../../checks/posture/txt.js';
import type { PostureFinding } from '../../src/core/posture.js';
import { startHttps, type TestHttps } from '../posture/helpers/https-server.js';
import { stacksUp } from './stacks.js';

const env = process.env;
const server = stacksUp('posture-policy.test', 'dns') ? env.DNSSTACK_SERVER : undefined;

const zone = env.DNSSTACK_ZONE ?? 'probe-posture.test';
const insecure = env.DNSSTACK_INSECURE_ZONE ?? 'insecure-posture.test';
const row = (f: PostureFinding): [string | null, string, string | null] => [f.mxHost, f.result, f.reason];

describe.skipIf(!server)('DNS-record posture checks against unbound + nsd', () => {
  const dns = createSecureDns({ server: server ?? null, timeoutMs: 5000, clock: systemClock });
  const txt: TxtLookup = (name) => dns.query(name, 'TXT');
  const servers: Record<'enforce' | 'partial' | 'testing', TestHttps | null> = { enforce: null, partial: null, testing: null };
  let mx: string[] = [];
  let stsAddress = '';

  beforeAll(async () => {
    const pair = { cert: readFileSync(env.DNSSTACK_CERT!, 'utf8'), key: readFileSync(env.DNSSTACK_KEY!, 'utf8') };
    const policy = (mode: string, ...patterns: string[]) => (_req: unknown, res: import('node:http').ServerResponse): void => {
      res.writeHead(200, { 'content-type': 'text/plain' });
      res.end(['version: STSv1', `mode: ${mode}`, ...patterns.map((p) => `mx: ${p}`), 'max_age: 604800', ''].join('\n'));
    };
    servers.enforce = await startHttps(pair, policy('enforce', `*.${zone}`));
    servers.partial = await startHttps(pair, policy('enforce', `mx1.${zone}`));
    servers.testing = await startHttps(pair, policy('testing', `mx1.${zone}`));
    const answer = await dns.query(zone, 'MX');
    mx = [...answer.records].sort((a, b) => a.preference - b.preference).map((r) => r.exchange);
    const a = await dns.query(`mta-sts.${zone}`, 'A');
    stsAddress = a.records[0] ?? '';
  });
  afterAll(async () => {
    for (const s of Object.values(servers)) await s?.close();
  });

  const sts = (domain: string, s: TestHttps | null) =>
    runMtaSts(domain, mx, mtaStsOptions({ timeout_ms: 10_000 }, {
      ca: [readFileSync(env.DNSSTACK_CA!, 'utf8')],
      connectTo: [{ host: `mta-sts.${domain}`, port: 443, toHost: stsAddress, toPort: s?.port ?? 0 }],
    }), { txt, clock: systemClock });

  test('the signed zone: SPF -all with 0 lookups and DMARC p=reject pass', async () => {
    expect((await runSpf(zone, { txt })).map(row)).toEqual([[null, 'pass', null]]);
    const [dmarc] = await runDmarc(zone, { txt });
    expect(dmarc).toMatchObject({ result: 'pass', detail: 'p=reject pct=100' });
  });

  test('the signed zone: TLS-RPT passes at the domain and at _smtp._tls.mx1 (RFC 8460 3); mx2 and mx3 have none: n/a', async () => {
    expect(mx).toEqual([`mx1.${zone}`, `mx2.${zone}`, `mx3.${zone}`]);
    expect((await runTlsRpt(zone, mx, { txt })).map(row)).toEqual([
      [null, 'pass', null],
      [`mx1.${zone}`, 'pass', null],
      [`mx2.${zone}`, 'n/a', null],
      [`mx3.${zone}`, 'n/a', null],
    ]);
  });

  test('the signed zone: MTA-STS enforce with *.zone covers mx1..mx3: pass, max_age reported', async () => {
    expect(stsAddress).toBe('127.0.0.1');
    const found = await sts(zone, servers.enforce);
    expect(found.map(row)).toEqual([[null, 'pass', null], ...mx.map((h) => [h, 'pass', null])]);
    expect(found[0]?.detail).toMatch(/^mode enforce, max_age 604800 s \(7 d: senders keep a policy and its MX list that long\), id 20261205T000000/);
    expect(servers.enforce?.requests.at(-1)).toEqual({ path: '/.well-known/mta-sts.txt', host: `mta-sts.${zone}`, sni: `mta-sts.${zone}` });
  });

  test('the signed zone: enforce listing only mx1 fails mx2 and mx3; testing warns', async () => {
    expect((await sts(zone, servers.partial)).map(row)).toEqual([
      [null, 'pass', null],
      [`mx1.${zone}`, 'pass', null],
      [`mx2.${zone}`, 'fail', 'validation-failure'],
      [`mx3.${zone}`, 'fail', 'validation-failure'],
    ]);
    expect((await sts(zone, servers.testing)).map(row)).toEqual([
      [null, 'warn', 'sts-mode-testing'],
      [`mx1.${zone}`, 'pass', null],
      [`mx2.${zone}`, 'warn', 'validation-failure'],
      [`mx3.${zone}`, 'warn', 'validation-failure'],
    ]);
  });

  test('the unsigned zone: no SPF, no DMARC (fail), no TLS-RPT (warn); its MTA-STS host serves a certificate for another name', async () => {
    expect((await runSpf(insecure, { txt })).map(row)).toEqual([[null, 'fail', 'record-missing']]);
    expect((await runDmarc(insecure, { txt })).map(row)).toEqual([[null, 'fail', 'record-missing']]);
    expect((await runTlsRpt(insecure, [], { txt })).map(row)).toEqual([[null, 'warn', 'record-missing']]);
    const [f, ...rest] = await sts(insecure, servers.enforce);
    expect(rest).toEqual([]);
    expect(f).toMatchObject({ result: 'fail', reason: 'sts-webpki-invalid', detail: expect.stringMatching(/ERR_TLS_CERT_ALTNAME_INVALID/) });
  });
});
