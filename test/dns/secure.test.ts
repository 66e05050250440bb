/**
 * The secure DNS client (src/dns/secure.ts) against a scripted DNS server on 127.0.0.1: what it asks (DO, RD, the
 * 1232-byte payload), the AD bit read back, typed records (TXT joined, TLSA, MX, CNAME followed), rcodes, TC → TCP,
 * and every broken answer (wrong id, another question, garbage, a TCP answer cut short, none at all) ending as an
 * error value.
 */
import { afterEach, describe, expect, test } from 'vitest';
import * as packet from 'dns-packet';
import { systemClock } from '../../src/core/clock.js';
import { createSecureDns, firstNameserver, memoizeSecureDns, parseDnsServer, sameAddress, type DnsAnswer, type SecureRrType } from '../../src/dns/secure.js';
import { closeAll } from '../helpers/cleanup.js';
import { flushMicrotasks, ManualClock } from '../helpers/manual-clock.js';
import { fakeSecureDns } from './secure-fake.js';
import { reply, startSecureResponder, type Handler } from './secure-responder.js';

afterEach(closeAll);

const A = (name: string, data: string): packet.Answer => ({ type: 'A', name, ttl: 60, class: 'IN', data });

async function ask<T extends SecureRrType>(handler: Handler, name: string, type: T, timeoutMs = 5000): Promise<{ answer: DnsAnswer<T>; seen: Awaited<ReturnType<typeof startSecureResponder>>['seen'] }> {
  const server = await startSecureResponder(handler);
  const dns = createSecureDns({ server: server.address, timeoutMs, clock: systemClock });
  const answer = await dns.query(name, type);
  return { answer, seen: server.seen };
}

describe('what it asks', () => {
  test('one question with RD, EDNS0 DO and a 1232-byte payload, a random id', async () => {
    const server = await startSecureResponder((q) => [reply(q, { answers: [A('mx1.example.test', '192.0.2.1')] })]);
    const dns = createSecureDns({ server: server.address, timeoutMs: 5000, clock: systemClock });
    for (let i = 0; i < 4; i++) await dns.query('MX1.Example.Test.', 'A');
    expect(server.seen.map((s) => [s.transport, s.name, s.type, s.rd, s.edns])).toEqual(
      new Array(4).fill(['udp', 'mx1.example.test', 'A', true, { do: true, udpPayloadSize: 1232 }]),
    );
    expect(new Set(server.seen.map((s) => s.id)).size).toBeGreaterThan(1);
  });
});

describe('the AD bit and the rcode', () => {
  test('AD set by the resolver is read; records typed', async () => {
    const { answer } = await ask((q) => [reply(q, { ad: true, answers: [A('mx1.example.test', '192.0.2.1'), A('mx1.example.test', '192.0.2.2')] })], 'mx1.example.test', 'A');
    expect(answer).toMatchObject({ name: 'mx1.example.test', type: 'A', rcode: 'NOERROR', ad: true, records: ['192.0.2.1', '192.0.2.2'], tcp: false, error: null });
    expect(answer.detail).toBe('NOERROR AD, 2 A record(s)');
  });

  test('AD clear: the same records, ad false', async () => {
    const { answer } = await ask((q) => [reply(q, { answers: [A('mx1.example.test', '192.0.2.1')] })], 'mx1.example.test', 'A');
    expect(answer).toMatchObject({ rcode: 'NOERROR', ad: false, records: ['192.0.2.1'], error: null });
  });

  test.each([
    [3, 'NXDOMAIN', true],
    [2, 'SERVFAIL', false],
    [5, 'REFUSED', false],
    [0, 'NOERROR', true], // NODATA: no records of the type
  ] as const)('rcode %i is %s, no records, not an error', async (rcode, name, ad) => {
    const { answer } = await ask((q) => [reply(q, { rcode, ad })], 'nothing.example.test', 'TLSA');
    expect(answer).toMatchObject({ rcode: name, ad, records: [], error: null });
  });
});

describe('Extended DNS Errors (RFC 8914)', () => {
  const withEde = (q: packet.DecodedPacket, options: { code: number; data: Buffer }[]): packet.Packet => ({
    ...reply(q, { rcode: 2 }),
    additionals: [{ type: 'OPT', name: '.', udpPayloadSize: 1232, extendedRcode: 0, ednsVersion: 0, flags: 0, flag_do: true, options: options as unknown as packet.PacketOpt[] }],
  });
  const ede = (code: number, text = ''): { code: number; data: Buffer } => ({ code: 15, data: Buffer.concat([Buffer.from([code >> 8, code & 0xff]), Buffer.from(text)]) });

  test('a SERVFAIL with EDE 6: the code, its name and the text, also in the detail', async () => {
    const { answer } = await ask((q) => [withEde(q, [ede(6, 'validation failure <x. TLSA IN>: signature crypto failed')])], 'x', 'TLSA');
    expect(answer).toMatchObject({ rcode: 'SERVFAIL', error: null, extendedErrors: [{ code: 6, name: 'DNSSEC Bogus', text: 'validation failure <x. TLSA IN>: signature crypto failed' }] });
    expect(answer.detail).toBe('SERVFAIL, 0 TLSA record(s); EDE 6 DNSSEC Bogus: validation failure <x. TLSA IN>: signature crypto failed');
  });

  test('untrusted text quoted and cut; an unknown code named by number; a too-short option and other options skipped', async () => {
    const { answer } = await ask((q) => [withEde(q, [ede(22, `a\r\nb${'z'.repeat(300)}`), ede(999), { code: 15, data: Buffer.from([6]) }, { code: 3, data: Buffer.from('nsid') }])], 'x', 'A');
    expect(answer.extendedErrors).toEqual([
      { code: 22, name: 'No Reachable Authority', text: `a\\r\\nb${'z'.repeat(114)}…` }, // 120 characters, then the ellipsis
      { code: 999, name: 'EDE 999', text: '' },
    ]);
  });

  test('none: an empty list', async () => {
    expect((await ask((q) => [reply(q)], 'x', 'A')).answer.extendedErrors).toEqual([]);
  });
});

describe('typed records', () => {
  test('TXT: the strings of one record joined with nothing between; one string per record', async () => {
    const txt = (data: string[]): packet.Answer => ({ type: 'TXT', name: 'example.test', ttl: 60, data });
    const { answer } = await ask((q) => [reply(q, { answers: [txt(['v=spf1 ip4:192.0.2.0/24 ', '-all']), txt(['google-site-verification=x'])] })], 'example.test', 'TXT');
    expect(answer.records).toEqual(['v=spf1 ip4:192.0.2.0/24 -all', 'google-site-verification=x']);
  });

  test('TLSA: usage, selector, matching type and the data as bytes', async () => {
    const hash = Buffer.from('99f85348dadeea1a23f0ea829828d38199b4f3b7fc51b4f7e532785229435f68', 'hex');
    const tlsa: packet.Answer = { type: 'TLSA', name: '_25._tcp.mx1.example.test', ttl: 60, data: { usage: 3, selector: 1, matchingType: 1, certificate: hash } };
    const { answer } = await ask((q) => [reply(q, { ad: true, answers: [tlsa] })], '_25._tcp.mx1.example.test', 'TLSA');
    expect(answer.records).toEqual([{ usage: 3, selector: 1, matchingType: 1, data: hash }]);
    expect(answer.ad).toBe(true);
  });

  test('MX: preference and exchange (lower case, no root dot); a null MX has exchange ""', async () => {
    const mx = (preference: number, exchange: string): packet.Answer => ({ type: 'MX', name: 'example.test', ttl: 60, data: { preference, exchange } });
    const { answer } = await ask((q) => [reply(q, { answers: [mx(10, 'MX1.Example.Test'), mx(0, '.')] })], 'example.test', 'MX');
    expect(answer.records).toEqual([{ preference: 10, exchange: 'mx1.example.test' }, { preference: 0, exchange: '' }]);
  });

  test('PTR and CNAME as names', async () => {
    const ptr: packet.Answer = { type: 'PTR', name: '1.2.0.192.in-addr.arpa', ttl: 60, data: 'MX1.example.test.' };
    expect((await ask((q) => [reply(q, { answers: [ptr] })], '1.2.0.192.in-addr.arpa', 'PTR')).answer.records).toEqual(['mx1.example.test']);
    const cname: packet.Answer = { type: 'CNAME', name: 'www.example.test', ttl: 60, data: 'mx1.example.test' };
    const { answer } = await ask((q) => [reply(q, { answers: [cname] })], 'www.example.test', 'CNAME');
    expect(answer).toMatchObject({ records: ['mx1.example.test'], cnames: [] });
  });

  test('a CNAME chain in the answer is followed: only the records at its end count', async () => {
    const answers: packet.Answer[] = [
      { type: 'CNAME', name: 'www.example.test', ttl: 60, data: 'alias.example.test' },
      { type: 'CNAME', name: 'alias.example.test', ttl: 60, data: 'mx1.example.test' },
      A('mx1.example.test', '192.0.2.1'),
      A('unrelated.example.test', '192.0.2.99'), // not on the chain: ignored
    ];
    const { answer } = await ask((q) => [reply(q, { ad: true, answers })], 'www.example.test', 'A');
    expect(answer).toMatchObject({ records: ['192.0.2.1'], cnames: ['alias.example.test', 'mx1.example.test'], ad: true });
    expect(answer.detail).toContain('via CNAME alias.example.test -> mx1.example.test');
  });
});

describe('a CNAME loop in the answer', () => {
  test('a loop: no records, the detail says so; an answer, not a hang or a crash', async () => {
    const answers: packet.Answer[] = [
      { type: 'CNAME', name: 'a.example.test', ttl: 60, data: 'b.example.test' },
      { type: 'CNAME', name: 'b.example.test', ttl: 60, data: 'a.example.test' },
      A('a.example.test', '192.0.2.1'), // an A beside a CNAME: not at the chain's end, so not taken
    ];
    const { answer } = await ask((q) => [reply(q, { answers })], 'a.example.test', 'A');
    expect(answer).toMatchObject({ rcode: 'NOERROR', error: null });
    expect(answer).toMatchObject({ cnames: ['b.example.test', 'a.example.test'], records: [] });
    expect(answer.detail).toBe('NOERROR, 0 A record(s) via CNAME b.example.test -> a.example.test (a CNAME loop: no records taken)');
  });

  test('a chain of 9 links (over 8): no records; 8 links: the records at the end', async () => {
    const chain = (n: number): packet.Answer[] => [
      ...Array.from({ length: n }, (_, i): packet.Answer => ({ type: 'CNAME', name: `c${i}.example.test`, ttl: 60, data: `c${i + 1}.example.test` })),
      A(`c${n}.example.test`, '192.0.2.1'),
    ];
    const long = (await ask((q) => [reply(q, { answers: chain(9) })], 'c0.example.test', 'A')).answer;
    expect(long).toMatchObject({ records: [] });
    expect(long.detail).toContain('(over 8 CNAME links: no records taken)');
    const ok = (await ask((q) => [reply(q, { answers: chain(8) })], 'c0.example.test', 'A')).answer;
    expect(ok).toMatchObject({ records: ['192.0.2.1'] });
    expect(ok.cnames).toHaveLength(8);
  });
});

describe('truncation: the same question again over TCP', () => {
  test('TC over UDP → asked over TCP; the TCP answer is the one returned', async () => {
    const big = Array.from({ length: 40 }, (_, i) => ({ type: 'TXT' as const, name: 'example.test', ttl: 60, data: [`record ${i} `.padEnd(60, 'x')] }));
    const { answer, seen } = await ask((q, t) => [t === 'udp' ? reply(q, { tc: true, ad: true }) : reply(q, { ad: true, answers: big })], 'example.test', 'TXT');
    expect(seen.map((s) => s.transport)).toEqual(['udp', 'tcp']);
    expect(seen[0]!.id).toBe(seen[1]!.id);
    expect(answer).toMatchObject({ rcode: 'NOERROR', ad: true, tcp: true, error: null });
    expect(answer.records).toHaveLength(40);
    expect(answer.records[39]).toBe('record 39 '.padEnd(60, 'x'));
  });

  test('without TC the answer is taken from UDP and TCP is never asked', async () => {
    const { answer, seen } = await ask((q) => [reply(q, { answers: [A('a.example.test', '192.0.2.1')] })], 'a.example.test', 'A');
    expect(seen.map((s) => s.transport)).toEqual(['udp']);
    expect(answer.tcp).toBe(false);
  });

  test('a TCP answer cut short (the connection closes mid-message) is a malformed error', async () => {
    const { answer } = await ask((q, t) => (t === 'udp' ? [reply(q, { tc: true })] : [Buffer.from([0, 200, 1, 2, 3, 4]), 'close']), 'a.example.test', 'A');
    expect(answer).toMatchObject({ rcode: null, tcp: true, records: [], error: 'malformed' });
    expect(answer.detail).toMatch(/^truncated over UDP, then over TCP: TCP to 127\.0\.0\.1:\d+: connection closed after 6 bytes/);
  });

  test('a TCP answer with another id is a malformed error (no second chance over TCP)', async () => {
    const { answer } = await ask((q, t) => [t === 'udp' ? reply(q, { tc: true }) : reply(q, { id: ((q.id ?? 0) + 1) & 0xffff })], 'a.example.test', 'A');
    expect(answer).toMatchObject({ rcode: null, tcp: true, error: 'malformed' });
    expect(answer.detail).toContain('wrong query id');
  });
});

describe('answers that are not ours, or broken', () => {
  const other = (q: packet.DecodedPacket): number => ((q.id ?? 0) + 1) & 0xffff;

  test('an answer with a wrong id, then one for another question, are ignored; the right one after them counts', async () => {
    const { answer } = await ask(
      (q) => [
        reply(q, { id: other(q), answers: [A('a.example.test', '203.0.113.66')] }),
        { ...reply(q, { answers: [A('evil.example.test', '203.0.113.66')] }), questions: [{ type: 'A', name: 'evil.example.test', class: 'IN' }] },
        reply(q, { ad: true, answers: [A('a.example.test', '192.0.2.1')] }),
      ],
      'a.example.test',
      'A',
    );
    expect(answer).toMatchObject({ rcode: 'NOERROR', ad: true, records: ['192.0.2.1'], error: null });
  });

  test('an answer from another port (right id and question: a spoof) is ignored; the server\'s own counts', async () => {
    const { answer } = await ask(
      (q) => [{ spoof: reply(q, { ad: true, answers: [A('a.example.test', '203.0.113.66')] }) }, reply(q, { answers: [A('a.example.test', '192.0.2.1')] })],
      'a.example.test',
      'A',
    );
    expect(answer).toMatchObject({ rcode: 'NOERROR', ad: false, records: ['192.0.2.1'], error: null });
  });

  test('only spoofed answers: a timeout naming where they came from', async () => {
    const { answer } = await ask((q) => [{ spoof: reply(q, { ad: true, answers: [A('a.example.test', '203.0.113.66')] }) }], 'a.example.test', 'A', 1500);
    expect(answer).toMatchObject({ rcode: null, records: [], error: 'timeout' });
    expect(answer.detail).toMatch(/^no answer within 1500 ms; ignored [123] answer\(s\) that did not match \(from 127\.0\.0\.1:\d+\)$/);
  });

  test('only wrong-id answers: a timeout, and the detail says what was ignored', async () => {
    const { answer, seen } = await ask((q) => [reply(q, { id: other(q), ad: true, answers: [A('a.example.test', '203.0.113.66')] })], 'a.example.test', 'A', 1500);
    expect(answer).toMatchObject({ rcode: null, ad: false, records: [], error: 'timeout' });
    // Three UDP sends (at 0, 1/3 and 2/3 of the timeout), each answered with the wrong id; on a stalled machine the
    // last wrong answer may come after the deadline, so one or two may be counted instead of three.
    expect(seen).toHaveLength(3);
    expect(answer.detail).toMatch(/^no answer within 1500 ms; ignored [123] answer\(s\) that did not match \(wrong query id\)$/);
  });

  test.each([
    ['a header that promises records that are not there', (id: number) => Buffer.from([id >> 8, id & 0xff, 0x81, 0x80, 0, 1, 0, 5, 0, 0, 0, 0, 1, 97, 0])],
    ['a compression pointer that points forward', (id: number) => Buffer.from([id >> 8, id & 0xff, 0x81, 0x80, 0, 1, 0, 0, 0, 0, 0, 0, 0xc0, 0x20, 0, 1, 0, 1])],
    ['random bytes after the id', (id: number) => Buffer.concat([Buffer.from([id >> 8, id & 0xff]), Buffer.from('garbage garbage garbage garbage')])],
    ['five bytes', (id: number) => Buffer.from([id >> 8, id & 0xff, 1, 2, 3])],
  ])('garbage (%s) is a malformed error, at once, not a crash', async (_what, bytes) => {
    const { answer } = await ask((q) => [bytes(q.id ?? 0)], 'a.example.test', 'A', 60_000);
    expect(answer).toMatchObject({ rcode: null, records: [], error: 'malformed' });
    expect(answer.detail).toMatch(/^UDP from 127\.0\.0\.1:\d+: /);
  });

  test('a query echoed back (QR clear) is malformed', async () => {
    const { answer } = await ask((q) => [{ ...reply(q), type: 'query' }], 'a.example.test', 'A', 60_000);
    expect(answer).toMatchObject({ error: 'malformed' });
    expect(answer.detail).toContain('a query came back');
  });
});

describe('bounded in time', () => {
  test('no answer: a timeout error exactly at the deadline on the injected clock, not before', async () => {
    const server = await startSecureResponder(() => []);
    const clock = new ManualClock();
    const dns = createSecureDns({ server: server.address, timeoutMs: 3000, clock });
    let settled: DnsAnswer<'A'> | null = null;
    void dns.query('a.example.test', 'A').then((a) => (settled = a));
    await server.waitForQueries(1);
    await clock.advance(2999);
    await server.waitForQueries(3); // sent again at 1000 and 2000 ms, the same question and id
    await flushMicrotasks();
    expect(settled).toBeNull();
    await clock.advance(1);
    await expect.poll(() => settled).not.toBeNull();
    expect(settled).toMatchObject({ rcode: null, error: 'timeout', detail: 'no answer within 3000 ms' });
    expect(server.seen.map((s) => [s.transport, s.id, s.name])).toEqual(new Array(3).fill(['udp', server.seen[0]!.id, 'a.example.test']));
  });

  test('a lost UDP datagram: the query is sent again at a third of the timeout and the answer to it counts', async () => {
    const server = await startSecureResponder(() => []);
    const clock = new ManualClock();
    const dns = createSecureDns({ server: server.address, timeoutMs: 3000, clock });
    const pending = dns.query('a.example.test', 'A');
    await server.waitForQueries(1);
    server.setHandler((q) => [reply(q, { ad: true, answers: [A('a.example.test', '192.0.2.1')] })]);
    await clock.advance(999);
    expect(server.seen).toHaveLength(1);
    await clock.advance(1);
    await server.waitForQueries(2);
    expect(await pending).toMatchObject({ rcode: 'NOERROR', ad: true, records: ['192.0.2.1'], error: null });
    expect(server.seen[1]!.id).toBe(server.seen[0]!.id);
  });

  test('the caller\'s AbortSignal ends a query at once', async () => {
    const server = await startSecureResponder(() => []);
    const ac = new AbortController();
    const dns = createSecureDns({ server: server.address, timeoutMs: 60_000, clock: systemClock, signal: ac.signal });
    const pending = dns.query('a.example.test', 'A');
    await server.waitForQueries(1);
    ac.abort();
    expect(await pending).toMatchObject({ error: 'aborted', detail: 'query aborted' });
  });

  test('a port nobody listens on: an error value (ICMP refused or the timeout), never a rejection', async () => {
    const server = await startSecureResponder(() => []);
    const address = server.address;
    await server.close();
    const dns = createSecureDns({ server: address, timeoutMs: 1000, clock: systemClock });
    const answer = await dns.query('a.example.test', 'A');
    expect(answer.rcode).toBeNull();
    expect(['network', 'timeout']).toContain(answer.error);
  });
});

describe('names that cannot be asked', () => {
  test.each([
    ['a..example.test', 'an empty label'],
    [`${'x'.repeat(64)}.example.test`, 'a label of 64 characters (at most 63)'],
    [`${'abc.'.repeat(64)}test`, '260 characters (at most 253)'],
    ['ünï.example.test', 'not printable ASCII (give an internationalized name as its xn-- form)'],
    ['a b.example.test', 'not printable ASCII (give an internationalized name as its xn-- form)'],
  ])('%j: a bad-name error, nothing sent', async (name, why) => {
    const server = await startSecureResponder((q) => [reply(q)]);
    const dns = createSecureDns({ server: server.address, timeoutMs: 1000, clock: systemClock });
    const answer = await dns.query(name, 'A');
    expect(answer).toMatchObject({ rcode: null, error: 'bad-name' });
    expect(answer.detail).toBe(`cannot ask for ${JSON.stringify(name.slice(0, 80))}: ${why}`); // a long name cut in the detail
    expect(server.seen).toHaveLength(0);
  });

  test('the longest names and labels that are allowed are asked as they are', async () => {
    const name = `${'x'.repeat(63)}.${'y'.repeat(63)}.${'z'.repeat(63)}.${'w'.repeat(61)}`; // 253 characters
    const { answer, seen } = await ask((q) => [reply(q)], name, 'A');
    expect(answer).toMatchObject({ rcode: 'NOERROR', error: null });
    expect(seen[0]!.name).toBe(name);
  });
});

describe('which server', () => {
  test.each([
    ['127.0.0.1', { host: '127.0.0.1', port: 53 }],
    ['127.0.0.1:2053', { host: '127.0.0.1', port: 2053 }],
    ['::1', { host: '::1', port: 53 }],
    ['[::1]:5353', { host: '::1', port: 5353 }],
    ['[2001:db8::1]', { host: '2001:db8::1', port: 53 }],
    ['localhost', null],
    ['127.0.0.1:0', null],
    ['127.0.0.1:65536', null],
    ['[127.0.0.1]:53', null],
    ['1.2.3:53', null],
    ['', null],
  ])('parseDnsServer(%j)', (text, expected) => {
    expect(parseDnsServer(text)).toEqual(expected);
  });

  test.each([
    ['127.0.0.1', '127.0.0.1', true],
    ['127.0.0.1', '127.0.0.2', false],
    ['::1', '0:0:0:0:0:0:0:1', true],
    ['2001:DB8::1', '2001:db8:0::1', true],
    ['::ffff:127.0.0.1', '::ffff:7f00:1', true],
    ['::1', '::2', false],
    ['127.0.0.1', '::ffff:127.0.0.1', false],
  ])('sameAddress(%j, %j) is %s (an answer must come from the address asked)', (a, b, same) => {
    expect(sameAddress(a, b)).toBe(same);
  });

  test('resolv.conf: the first nameserver that is an address; none is a clear error', () => {
    expect(firstNameserver('# comment\nsearch example.test\nnameserver bogus\nnameserver 192.0.2.53 # x\nnameserver 192.0.2.54\n')).toEqual({ host: '192.0.2.53', port: 53 });
    expect(firstNameserver('nameserver fe80::1%eth0\n')).toEqual({ host: 'fe80::1', port: 53 });
    expect(firstNameserver('search example.test\n')).toBeNull();
    expect(() => createSecureDns({ timeoutMs: 1000, clock: systemClock, resolvConf: 'search x\n' })).toThrow('/etc/resolv.conf: no nameserver line with an IP address; give a DNS server');
    expect(() => createSecureDns({ server: 'dns.example.test', timeoutMs: 1000, clock: systemClock })).toThrow('DNS server "dns.example.test": expected IP, IP:PORT or [IPv6]:PORT');
  });
});

describe('one run\'s memo (memoizeSecureDns)', () => {
  test('each name and type is asked once, whatever the case or root dot; concurrent askers share the answer', async () => {
    const server = await startSecureResponder((q) => [reply(q, { ad: true, answers: [A(q.questions![0]!.name, '192.0.2.1')] })]);
    const dns = memoizeSecureDns(createSecureDns({ server: server.address, timeoutMs: 5000, clock: systemClock }));
    const [a, b] = await Promise.all([dns.query('mx1.example.test', 'A'), dns.query('MX1.example.test.', 'A')]);
    expect(a).toBe(b);
    expect(a).toMatchObject({ ad: true, records: ['192.0.2.1'] });
    await dns.query('mx1.example.test', 'AAAA');
    await dns.query('mx2.example.test', 'A');
    await dns.query('mx1.example.test', 'A');
    expect(server.seen.map((q) => `${q.name} ${q.type}`)).toEqual(['mx1.example.test A', 'mx1.example.test AAAA', 'mx2.example.test A']);
  });

  test('an error is remembered too: a dead server costs one timeout per question', async () => {
    const server = await startSecureResponder(() => []);
    const clock = new ManualClock();
    const dns = memoizeSecureDns(createSecureDns({ server: server.address, timeoutMs: 300, clock }));
    const first = dns.query('a.example.test', 'TXT');
    await server.waitForQueries(1);
    await clock.advance(300);
    expect(await first).toMatchObject({ error: 'timeout' });
    expect(await dns.query('a.example.test', 'TXT')).toBe(await first);
    await server.waitForQueries(3);
    expect(server.seen.map((q) => q.id)).toEqual(new Array(3).fill(server.seen[0]!.id)); // the three UDP sends of one query
  });
});

describe('the fake for checks (test/dns/secure-fake.ts)', () => {
  test('answers from its table by name and type; a missing name is NXDOMAIN, a missing type NODATA; errors carry no rcode', async () => {
    const dns = fakeSecureDns({
      'Example.Test. MX': { ad: true, records: [{ preference: 10, exchange: 'mx1.example.test' }] },
      '_25._tcp.mx1.example.test TLSA': { rcode: 'SERVFAIL' },
      'mx1.example.test A': { error: 'timeout' },
    }, { ad: true });
    expect(await dns.query('example.test', 'MX')).toMatchObject({ rcode: 'NOERROR', ad: true, records: [{ preference: 10, exchange: 'mx1.example.test' }], error: null });
    expect(await dns.query('_25._tcp.MX1.example.test.', 'TLSA')).toMatchObject({ rcode: 'SERVFAIL', ad: false, records: [] });
    expect(await dns.query('mx1.example.test', 'A')).toMatchObject({ rcode: null, ad: false, error: 'timeout' });
    expect(await dns.query('nope.example.test', 'A')).toMatchObject({ rcode: 'NXDOMAIN', ad: true, records: [] });
    expect(await dns.query('example.test', 'TXT')).toMatchObject({ rcode: 'NOERROR', ad: true, records: [] }); // NODATA
    expect(dns.asked).toEqual(['example.test MX', '_25._tcp.mx1.example.test TLSA', 'mx1.example.test A', 'nope.example.test A', 'example.test TXT']);
  });
});
