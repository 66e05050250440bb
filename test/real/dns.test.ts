/**
 * The secure DNS client against a real validating resolver: Debian's unbound in front of nsd serving zones signed
 * with ldns-signzone, on 127.0.0.1, started by test/real/dnsstack.sh (.ci/run does it). The signed zone's answers
 * come with AD, the unsigned zone's without, the tampered TLSA of the bogus zone is SERVFAIL, and a TLSA made stale
 * and fixed again (dnsstack.sh set-tlsa) is seen through the resolver each time.
 */
import { execFileSync } from 'node:child_process';
import { createHash, X509Certificate } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { describe, expect, test } from 'vitest';
import { systemClock } from '../../src/core/clock.js';
import { matchTlsa } from '../../checks/posture/tlsa.js';
import { createSecureDns } from '../../src/dns/secure.js';
import { stacksUp } from './stacks.js';

const env = process.env;
const server = stacksUp('dns.test', 'dns') ? env.DNSSTACK_SERVER : undefined;

const zone = env.DNSSTACK_ZONE ?? 'probe-posture.test';
const bogus = env.DNSSTACK_BOGUS_ZONE ?? 'bogus-posture.test';
const insecure = env.DNSSTACK_INSECURE_ZONE ?? 'insecure-posture.test';
const sha256 = (b: Buffer): Buffer => createHash('sha256').update(b).digest();
const spkiHash = (pemFile: string): Buffer => sha256(new X509Certificate(readFileSync(pemFile)).publicKey.export({ type: 'spki', format: 'der' }));
const certHash = (pemFile: string): Buffer => sha256(new X509Certificate(readFileSync(pemFile)).raw);

describe.skipIf(!server)('secure DNS against unbound + nsd (DNSSEC-signed test zones)', () => {
  const dns = createSecureDns({ server: server ?? null, timeoutMs: 5000, clock: systemClock });

  test('the signed zone: MX, A, CNAME and TXT answers come with AD', async () => {
    const mx = await dns.query(zone, 'MX');
    expect(mx).toMatchObject({ rcode: 'NOERROR', ad: true, error: null });
    expect([...mx.records].sort((a, b) => a.preference - b.preference)).toEqual([
      { preference: 10, exchange: `mx1.${zone}` },
      { preference: 20, exchange: `mx2.${zone}` },
      { preference: 30, exchange: `mx3.${zone}` },
    ]);
    expect(await dns.query(`mx2.${zone}`, 'A')).toMatchObject({ rcode: 'NOERROR', ad: true, records: ['127.0.0.2'] });
    expect(await dns.query(`www.${zone}`, 'A')).toMatchObject({ rcode: 'NOERROR', ad: true, records: ['127.0.0.1'], cnames: [`mx1.${zone}`] });
    expect(await dns.query(zone, 'TXT')).toMatchObject({ ad: true, records: ['v=spf1 ip4:127.0.0.0/8 -all'] });
    expect(await dns.query(`_mta-sts.${zone}`, 'TXT')).toMatchObject({ ad: true, records: ['v=STSv1; id=20261205T000000;'] });
    expect(await dns.query(`_smtp._tls.${zone}`, 'TXT')).toMatchObject({ ad: true, records: [`v=TLSRPTv1; rua=mailto:tlsrpt@${zone}`] });
    expect(await dns.query(`_dmarc.${zone}`, 'TXT')).toMatchObject({ ad: true, records: [`v=DMARC1; p=reject; rua=mailto:dmarc@${zone}`] });
  });

  test('an answer over the 1232-byte payload: truncated over UDP, asked again over TCP, still with AD', async () => {
    const big = await dns.query(`big.${zone}`, 'TXT');
    expect(big).toMatchObject({ rcode: 'NOERROR', ad: true, tcp: true, error: null });
    expect(big.records).toEqual([[1, 2, 3, 4, 5, 6, 7, 8].map((i) => String(i).padStart(200, '0')).join('')]);
  });

  test('the signed zone: TLSA 3 1 1 of the server key at mx1, a stale one at mx2, 2 0 1 of the CA at mx3, all with AD', async () => {
    const good = spkiHash(env.DNSSTACK_CERT!);
    const mx1 = await dns.query(`_25._tcp.mx1.${zone}`, 'TLSA');
    expect(mx1).toMatchObject({ rcode: 'NOERROR', ad: true, records: [{ usage: 3, selector: 1, matchingType: 1, data: good }] });
    const mx2 = await dns.query(`_25._tcp.mx2.${zone}`, 'TLSA');
    expect(mx2).toMatchObject({ rcode: 'NOERROR', ad: true, records: [{ usage: 3, selector: 1, matchingType: 1, data: spkiHash(env.DNSSTACK_STALE_CERT!) }] });
    expect(mx2.records[0]!.data.equals(good)).toBe(false);
    expect(await dns.query(`_25._tcp.mx3.${zone}`, 'TLSA')).toMatchObject({ ad: true, records: [{ usage: 2, selector: 0, matchingType: 1, data: certHash(env.DNSSTACK_CA!) }] });
  });

  test('the TLSA records as served match the test server\'s chain: mx1 the leaf, mx3 the CA, mx2 nothing', async () => {
    const chain = [env.DNSSTACK_CERT!, env.DNSSTACK_CA!].map((f) => new X509Certificate(readFileSync(f)).raw);
    const tlsa = async (host: string) => (await dns.query(`_25._tcp.${host}.${zone}`, 'TLSA')).records;
    expect(matchTlsa(await tlsa('mx1'), chain)).toMatchObject({ certIndex: 0, record: { usage: 3 } });
    expect(matchTlsa(await tlsa('mx3'), chain)).toMatchObject({ certIndex: 1, record: { usage: 2 } });
    expect(matchTlsa(await tlsa('mx2'), chain)).toBeNull();
  });

  test('a name the signed zone does not have: NXDOMAIN with AD (a validated denial)', async () => {
    expect(await dns.query(`nope.${zone}`, 'A')).toMatchObject({ rcode: 'NXDOMAIN', ad: true, records: [], error: null });
    expect(await dns.query(`_25._tcp.nope.${zone}`, 'TLSA')).toMatchObject({ rcode: 'NXDOMAIN', ad: true });
  });

  test('the unsigned zone: NOERROR with the records, AD clear', async () => {
    expect(await dns.query(insecure, 'MX')).toMatchObject({ rcode: 'NOERROR', ad: false, records: [{ preference: 10, exchange: `mx1.${insecure}` }] });
    const tlsa = await dns.query(`_25._tcp.mx1.${insecure}`, 'TLSA');
    expect(tlsa).toMatchObject({ rcode: 'NOERROR', ad: false });
    expect(tlsa.records).toHaveLength(1);
  });

  test('the bogus zone: the TLSA changed after signing is SERVFAIL with EDE 6 (DNSSEC Bogus); its untouched MX still validates', async () => {
    const tlsa = await dns.query(`_25._tcp.mx1.${bogus}`, 'TLSA');
    expect(tlsa).toMatchObject({ rcode: 'SERVFAIL', ad: false, records: [], error: null });
    // unbound's Extended DNS Error (ede: yes) says why: the answer is bogus, not the server unreachable. Its text
    // ("validation failure <...>: signature crypto failed from 127.0.0.1") comes with a fresh validation only.
    expect(tlsa.extendedErrors).toMatchObject([{ code: 6, name: 'DNSSEC Bogus' }]);
    expect(tlsa.extendedErrors[0]!.text).toMatch(/^$|^validation failure <_25\._tcp\.mx1\.bogus-posture\.test\. TLSA IN>: signature crypto failed/);
    expect(tlsa.detail).toMatch(/^SERVFAIL, 0 TLSA record\(s\); EDE 6 DNSSEC Bogus/);
    expect(await dns.query(bogus, 'MX')).toMatchObject({ rcode: 'NOERROR', ad: true });
  });

  test('the reverse zone (unsigned): PTR of 127.0.0.1-3, no AD; the name of 127.0.0.3 resolves to another address', async () => {
    expect(await dns.query('1.0.0.127.in-addr.arpa', 'PTR')).toMatchObject({ rcode: 'NOERROR', ad: false, records: [`mx1.${zone}`] });
    expect(await dns.query('2.0.0.127.in-addr.arpa', 'PTR')).toMatchObject({ rcode: 'NOERROR', ad: false, records: [`mx2.${zone}`] });
    expect(await dns.query('3.0.0.127.in-addr.arpa', 'PTR')).toMatchObject({ records: [`other.${zone}`] });
    expect(await dns.query(`other.${zone}`, 'A')).toMatchObject({ ad: true, records: ['127.0.0.9'] });
    expect(await dns.query('4.0.0.127.in-addr.arpa', 'PTR')).toMatchObject({ rcode: 'NXDOMAIN', records: [] });
  });

  test('names outside the test zones are refused: nothing is resolved outward', async () => {
    expect(await dns.query('example.com', 'A')).toMatchObject({ rcode: 'REFUSED', records: [] });
  });

  test('set-tlsa mx1 stale, then good: the resolver answers the new TLSA each time, still with AD', async () => {
    const good = spkiHash(env.DNSSTACK_CERT!);
    const stale = spkiHash(env.DNSSTACK_STALE_CERT!);
    const setTlsa = (to: 'good' | 'stale'): void => void execFileSync('bash', ['test/real/dnsstack.sh', 'set-tlsa', 'mx1', to], { stdio: 'ignore' });
    try {
      setTlsa('stale');
      const s = await dns.query(`_25._tcp.mx1.${zone}`, 'TLSA');
      expect(s).toMatchObject({ rcode: 'NOERROR', ad: true, records: [{ usage: 3, selector: 1, matchingType: 1, data: stale }] });
    } finally {
      setTlsa('good');
    }
    expect(await dns.query(`_25._tcp.mx1.${zone}`, 'TLSA')).toMatchObject({ ad: true, records: [{ data: good }] });
  });
});
