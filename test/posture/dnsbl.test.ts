import { afterEach, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { dnsblOptions, gatherDnsbl, judgeDnsbl, judgeZone, options, parseDnsblZone, runDnsbl, type DnsblSeen, type DnsblZoneSeen } from '../../checks/posture/dnsbl.js';
import type { LookupSeen } from '../../checks/posture/reverse.js';
import { systemClock } from '../../src/core/clock.js';
import { createSecureDns } from '../../src/dns/secure.js';
import { closeAll } from '../helpers/cleanup.js';
import { fakeSecureDns } from '../dns/secure-fake.js';
import { reply, startSecureResponder } from '../dns/secure-responder.js';
import { runPosture, type PostureRequest } from '../../src/posture/run.js';
import { postureOptions } from '../../src/posture/options.js';
import { banner, ehloSteps, quitSteps, startScriptedServer } from '../helpers/scripted-server.js';

afterEach(closeAll);

const where = { mxHost: 'mx.example.test', address: '192.0.2.1' };
const a = (extra: Partial<LookupSeen>): LookupSeen => ({ name: '1.2.0.192.bl.test', type: 'A', rcode: 'NOERROR', records: [], detail: 'NOERROR', ...extra });
const zoneSeen = (extra: Partial<LookupSeen>, txt: string[] | null = null, zone = 'bl.test'): DnsblZoneSeen => ({
  zone,
  a: a(extra),
  txt: txt === null ? null : { ...a({ records: txt }), type: 'TXT' },
});

describe('judgeZone / judgeDnsbl', () => {
  const rows: [string, DnsblZoneSeen, string, string | null][] = [
    ['NXDOMAIN: not listed', zoneSeen({ rcode: 'NXDOMAIN' }), 'pass', null],
    ['NOERROR, no A: not listed', zoneSeen({}), 'pass', null],
    ['127.0.0.2: listed', zoneSeen({ records: ['127.0.0.2'] }, ['spam source']), 'fail', 'dnsbl-listed'],
    ['127.0.0.4 and 127.0.0.10: listed', zoneSeen({ records: ['127.0.0.4', '127.0.0.10'] }), 'fail', 'dnsbl-listed'],
    ['127.255.255.254: query refused', zoneSeen({ records: ['127.255.255.254'] }), 'warn', 'dnsbl-refused'],
    ['127.255.255.255 beside a listing code: refused', zoneSeen({ records: ['127.0.0.2', '127.255.255.255'] }), 'warn', 'dnsbl-refused'],
    ['SERVFAIL', zoneSeen({ rcode: 'SERVFAIL', detail: 'SERVFAIL, 0 A record(s)' }), 'warn', 'dnsbl-unavailable'],
    ['REFUSED', zoneSeen({ rcode: 'REFUSED', detail: 'REFUSED, 0 A record(s)' }), 'warn', 'dnsbl-unavailable'],
    ['timeout', zoneSeen({ rcode: null, detail: 'no answer within 5000 ms' }), 'warn', 'dnsbl-unavailable'],
    ['an answer outside 127/8 (wildcard)', zoneSeen({ records: ['192.0.2.80'] }), 'warn', 'dnsbl-bad-answer'],
    ['127/8 mixed with outside', zoneSeen({ records: ['127.0.0.2', '10.0.0.1'] }), 'warn', 'dnsbl-bad-answer'],
  ];
  it.each(rows)('%s → %s %s', (_, z, result, reason) => {
    expect(judgeZone(z)).toMatchObject({ result, reason });
    expect(judgeDnsbl(where, { address: where.address, zones: [z] })).toEqual([expect.objectContaining({ check: 'dnsbl', scope: 'address', result, reason })]);
  });

  it('no zones: n/a; not an address: n/a', () => {
    expect(judgeDnsbl(where, { address: where.address, zones: [] })).toEqual([expect.objectContaining({ result: 'n/a', reason: 'no-zones', detail: 'no DNSBL zones configured' })]);
    expect(judgeDnsbl(where, { address: 'x', zones: null })).toEqual([expect.objectContaining({ result: 'n/a', reason: 'not-an-address' })]);
  });

  it('one finding: the worst zone, every zone named in order', () => {
    const seen: DnsblSeen = {
      address: where.address,
      zones: [
        zoneSeen({ rcode: 'NXDOMAIN' }, null, 'a.test'),
        zoneSeen({ records: ['127.255.255.254'] }, null, 'b.test'),
        zoneSeen({ records: ['127.0.0.2'] }, ['listed: see http://c.test/'], 'c.test'),
      ],
    };
    const [f] = judgeDnsbl(where, seen);
    expect(f).toMatchObject({ result: 'fail', reason: 'dnsbl-listed' });
    expect(f!.detail).toBe('not listed in a.test; b.test refused the query (127.255.255.254); listed in c.test (127.0.0.2): "listed: see http://c.test/"');
    const warnOnly = judgeDnsbl(where, { address: where.address, zones: [seen.zones![0]!, seen.zones![1]!] });
    expect(warnOnly[0]).toMatchObject({ result: 'warn', reason: 'dnsbl-refused' });
  });
});

describe('dnsbl options', () => {
  it('zones: none by default; parsed lower case without the final dot, each once', () => {
    expect(dnsblOptions()).toEqual({ zones: [] });
    expect(dnsblOptions({ zones: ['Zen.Spamhaus.org.', 'zen.spamhaus.org', 'b.test'] })).toEqual({ zones: ['zen.spamhaus.org', 'b.test'] });
    expect(parseDnsblZone('not a zone')).toBeNull();
    expect(parseDnsblZone('localhost')).toBeNull();
  });

  it('the config shape takes a list of domain names and refuses anything else', () => {
    const shape = z.object(options({ z, oneLine: () => z.string(), mailAddress: z.string(), file: z.string() }));
    expect(shape.parse({ zones: ['zen.spamhaus.org'] })).toEqual({ zones: ['zen.spamhaus.org'] });
    expect(shape.safeParse({ zones: ['bad zone'] }).success).toBe(false);
    expect(shape.safeParse({ zones: Array.from({ length: 21 }, (_, i) => `z${i}.test`) }).success).toBe(false);
  });
});

describe('gatherDnsbl', () => {
  it('asks A per zone under the reversed octets, TXT only where listed', async () => {
    const dns = fakeSecureDns({
      '1.2.0.192.listed.test A': { records: ['127.0.0.2'] },
      '1.2.0.192.listed.test TXT': { records: ['spam source'] },
      '1.2.0.192.refused.test A': { records: ['127.255.255.254'] },
    });
    const [f] = await runDnsbl(where, { dns }, { zones: ['clean.test', 'listed.test', 'refused.test'] });
    expect(f).toMatchObject({ result: 'fail', reason: 'dnsbl-listed' });
    expect(f!.detail).toBe('not listed in clean.test; listed in listed.test (127.0.0.2): "spam source"; refused.test refused the query (127.255.255.254)');
    expect([...dns.asked].sort()).toEqual(['1.2.0.192.clean.test A', '1.2.0.192.listed.test A', '1.2.0.192.listed.test TXT', '1.2.0.192.refused.test A']);
  });

  it('asks nothing without zones', async () => {
    const dns = fakeSecureDns({});
    expect((await gatherDnsbl('192.0.2.1', { dns })).zones).toEqual([]);
    expect(dns.asked).toEqual([]);
  });

  it('IPv6 over a real DNS socket: the 32 nibbles under the zone (RFC 5782 2.4); SERVFAIL from another zone warns', async () => {
    const address = '2001:db8::2';
    const nibbles = `2.${'0.'.repeat(23)}8.b.d.0.1.0.0.2`;
    const server = await startSecureResponder((q) => {
      const { name, type } = q.questions![0]!;
      if (name === `${nibbles}.bl.test` && type === 'A') return [reply(q, { answers: [{ type: 'A', name, ttl: 60, data: '127.0.0.2' }] })];
      if (name === `${nibbles}.bl.test` && type === 'TXT') return [reply(q, { answers: [{ type: 'TXT', name, ttl: 60, data: ['test point'] }] })];
      return [reply(q, { rcode: 2 })];
    });
    const dns = createSecureDns({ server: server.address, timeoutMs: 2_000, clock: systemClock });
    const [f] = await runDnsbl({ mxHost: 'mx.example.test', address }, { dns }, { zones: ['bl.test', 'broken.test'] });
    expect(f).toMatchObject({ result: 'fail', reason: 'dnsbl-listed', address });
    expect(f!.detail).toBe('listed in bl.test (127.0.0.2): "test point"; broken.test: could not ask (SERVFAIL, 0 A record(s))');
    const [warn] = await runDnsbl({ mxHost: 'mx.example.test', address }, { dns }, { zones: ['broken.test'] });
    expect(warn).toMatchObject({ result: 'warn', reason: 'dnsbl-unavailable' });
  });
});

describe('runPosture: dnsbl, banner_hostname and fcrdns per address', () => {
  it('DNS checks ask about the address DNS gave; the session goes to --connect-to; POSTURE_CHECKS order', async () => {
    const s = await startScriptedServer([banner('220 mx1.example.test ESMTP'), ...ehloSteps([], 'mx1.example.test'), ...quitSteps]);
    const dns = fakeSecureDns({
      'example.test MX': { records: [{ preference: 10, exchange: 'mx1.example.test' }] },
      'mx1.example.test A': { records: ['192.0.2.1'] },
      '1.2.0.192.in-addr.arpa PTR': { records: ['mx1.example.test'] },
      '1.2.0.192.bl.test A': { records: ['127.0.0.2'] },
    });
    const req: PostureRequest = {
      domain: 'example.test', port: 25, implicitTls: false, checks: ['dnsbl', 'banner_hostname', 'fcrdns'], ca: null,
      connectTo: [{ host: 'mx1.example.test', port: 25, toHost: '127.0.0.1', toPort: s.port }],
      ehloName: 'probe.example.test', smtpTimeoutMs: 3_000, at: null, options: postureOptions({ dnsbl: { zones: ['bl.test'] } }, null),
    };
    const run = await runPosture(req, { dns, clock: systemClock });
    expect(run.findings.map((f) => [f.check, f.address, f.result, f.reason])).toEqual([
      ['dnsbl', '192.0.2.1', 'fail', 'dnsbl-listed'],
      ['banner_hostname', '192.0.2.1', 'pass', null],
      ['fcrdns', '192.0.2.1', 'pass', null],
    ]);
    expect(run.findings[1]!.detail).toBe(`greeting and EHLO name mx1.example.test, the forward-confirmed PTR name (connected to 127.0.0.1:${s.port} by --connect-to)`);
    expect(run.findings[2]!.detail).toBe('PTR 192.0.2.1 → mx1.example.test, mx1.example.test A → 192.0.2.1');
    expect(s.commands()).toEqual(['EHLO probe.example.test', 'QUIT']);
    const none = await runPosture({ ...req, checks: ['dnsbl'], options: postureOptions({}, null) }, { dns, clock: systemClock });
    expect(none.findings).toEqual([expect.objectContaining({ check: 'dnsbl', result: 'n/a', reason: 'no-zones' })]);
  });
});
