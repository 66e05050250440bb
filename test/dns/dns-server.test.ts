/** The tiny DNS server (test/helpers/dns-server.ts) checked against node:dns's own resolver (c-ares). */
import dns from 'node:dns';
import { afterEach, describe, expect, test } from 'vitest';
import { closeAll } from '../helpers/cleanup.js';
import { encodeName, parseQuery, readName, startDnsServer, type DnsServer, type Zone } from '../helpers/dns-server.js';

afterEach(closeAll);

const ZONE: Zone = {
  'example.test': { mx: [[10, 'mx1.example.test'], [20, 'MX2.Example.Test.']], a: ['192.0.2.10'] },
  'mx1.example.test': { a: ['192.0.2.1', '192.0.2.2'], aaaa: ['2001:db8::1', '::1', '::ffff:192.0.2.1', '2001:db8:0:0:1:0:0:1'] },
  'mx2.example.test': { a: ['192.0.2.3'] },
  'alias.test': { cname: 'hop.test' },
  'hop.test': { cname: 'example.test.' },
  'dangling.test': { cname: 'nowhere.test' },
  'empty-alias.test': { cname: 'noaddr.test' },
  'noaddr.test': {},
  'null.test': { mx: [[0, '.']] },
  'loop1.test': { cname: 'loop2.test' },
  'loop2.test': { cname: 'loop1.test' },
  'slow.test': { a: ['192.0.2.99'], delayMs: 250 },
  'dead.test': { drop: true },
  'broken.test': { rcode: 'SERVFAIL' },
  'refused.test': { rcode: 'REFUSED' },
  'ttl.test': { a: ['192.0.2.5'], ttl: 1234 },
};

function resolverFor(s: DnsServer, timeout = 1000, tries = 1): dns.promises.Resolver {
  const r = new dns.promises.Resolver({ timeout, tries });
  r.setServers([s.address]);
  return r;
}

const code = async (p: Promise<unknown>): Promise<string | undefined> =>
  p.then(
    () => 'resolved',
    (e: NodeJS.ErrnoException) => e.code,
  );

describe('answers from the zone', () => {
  test('A, AAAA, MX as node:dns reads them (MX names without the root dot, case as published)', async () => {
    const s = await startDnsServer(ZONE);
    const r = resolverFor(s);
    expect(await r.resolve4('mx1.example.test')).toEqual(['192.0.2.1', '192.0.2.2']);
    expect(await r.resolve6('mx1.example.test')).toEqual(['2001:db8::1', '::1', '::ffff:192.0.2.1', '2001:db8::1:0:0:1']);
    expect(await r.resolveMx('example.test')).toEqual([
      { exchange: 'mx1.example.test', priority: 10 },
      { exchange: 'MX2.Example.Test', priority: 20 },
    ]);
    expect(await r.resolve4('ttl.test', { ttl: true })).toEqual([{ address: '192.0.2.5', ttl: 1234 }]);
  });

  test('names match case-insensitively and with a trailing dot', async () => {
    const s = await startDnsServer(ZONE);
    const r = resolverFor(s);
    expect(await r.resolve4('MX2.EXAMPLE.TEST.')).toEqual(['192.0.2.3']);
  });

  test('a null MX is one MX record with the root as exchange: node:dns gives exchange ""', async () => {
    const s = await startDnsServer(ZONE);
    expect(await resolverFor(s).resolveMx('null.test')).toEqual([{ exchange: '', priority: 0 }]);
  });

  test('CNAME chains: the CNAMEs, then the target records (followed by the resolver)', async () => {
    const s = await startDnsServer(ZONE);
    const r = resolverFor(s);
    expect(await r.resolve4('alias.test')).toEqual(['192.0.2.10']);
    expect(await r.resolveMx('alias.test')).toEqual([
      { exchange: 'mx1.example.test', priority: 10 },
      { exchange: 'MX2.Example.Test', priority: 20 },
    ]);
    expect(await r.resolveCname('alias.test')).toEqual(['hop.test']);
    // The answer carried the whole chain: two CNAMEs and the A record.
    expect(s.queriesFor('alias.test', 'A')).toEqual([expect.objectContaining({ rcode: 'NOERROR', answers: 3 })]);
  });

  test('a CNAME to a name outside the zone is NXDOMAIN (with the CNAME); to a name without the type, the CNAME alone', async () => {
    const s = await startDnsServer(ZONE);
    const r = resolverFor(s);
    expect(await code(r.resolve4('dangling.test'))).toBe('ENOTFOUND');
    expect(s.queriesFor('dangling.test')).toEqual([expect.objectContaining({ rcode: 'NXDOMAIN', answers: 1 })]);
    // NOERROR with only the CNAME: c-ares resolves that to an empty list, not ENODATA (callers must handle both).
    expect(await r.resolve4('empty-alias.test')).toEqual([]);
    expect(await r.resolveMx('empty-alias.test')).toEqual([]);
    expect(s.queriesFor('empty-alias.test', 'A')).toEqual([expect.objectContaining({ rcode: 'NOERROR', answers: 1 })]);
  });

  test('a CNAME loop ends in SERVFAIL instead of a long answer', async () => {
    const s = await startDnsServer(ZONE);
    expect(await code(resolverFor(s).resolve4('loop1.test'))).toBe('ESERVFAIL');
  });
});

describe('errors', () => {
  test('unknown name: NXDOMAIN (ENOTFOUND); known name without the type: NODATA (ENODATA)', async () => {
    const s = await startDnsServer(ZONE);
    const r = resolverFor(s);
    expect(await code(r.resolve4('nope.test'))).toBe('ENOTFOUND');
    expect(await code(r.resolveMx('mx1.example.test'))).toBe('ENODATA');
    expect(await code(r.resolve6('mx2.example.test'))).toBe('ENODATA');
    expect(await code(r.resolve4('null.test'))).toBe('ENODATA');
    expect(s.queriesFor('nope.test')[0]).toMatchObject({ type: 'A', rcode: 'NXDOMAIN', answers: 0 });
    expect(s.queriesFor('mx1.example.test', 'MX')[0]).toMatchObject({ rcode: 'NOERROR', answers: 0 });
  });

  test('rcode per name: SERVFAIL, REFUSED', async () => {
    const s = await startDnsServer(ZONE);
    const r = resolverFor(s);
    expect(await code(r.resolveMx('broken.test'))).toBe('ESERVFAIL');
    expect(await code(r.resolveMx('refused.test'))).toBe('EREFUSED');
  });
});

describe('timing', () => {
  test('a delayed name is answered late; a dropped name times out after the resolver timeout', async () => {
    const s = await startDnsServer(ZONE);
    const r = resolverFor(s, 1000);
    let t0 = performance.now();
    expect(await r.resolve4('slow.test')).toEqual(['192.0.2.99']);
    expect(performance.now() - t0).toBeGreaterThanOrEqual(240);
    const quick = resolverFor(s, 200);
    t0 = performance.now();
    expect(await code(quick.resolve4('dead.test'))).toBe('ETIMEOUT');
    const took = performance.now() - t0;
    expect(took).toBeGreaterThanOrEqual(190);
    expect(took).toBeLessThan(1500);
    expect(s.queriesFor('dead.test')).toEqual([expect.objectContaining({ rcode: null })]);
  });

  test('setDropAll: the whole server goes silent, then answers again', async () => {
    const s = await startDnsServer(ZONE);
    s.setDropAll(true);
    expect(await code(resolverFor(s, 150).resolve4('mx2.example.test'))).toBe('ETIMEOUT');
    s.setDropAll(false);
    expect(await resolverFor(s, 150).resolve4('mx2.example.test')).toEqual(['192.0.2.3']);
  });

  test('setZone: later queries see the new data', async () => {
    const s = await startDnsServer(ZONE);
    s.setZone({ 'new.test': { a: ['192.0.2.77'] } });
    const r = resolverFor(s);
    expect(await r.resolve4('new.test')).toEqual(['192.0.2.77']);
    expect(await code(r.resolve4('mx2.example.test'))).toBe('ENOTFOUND');
  });
});

describe('wire format helpers', () => {
  test('names encode as labels and read back, pointers followed', () => {
    expect(encodeName('a.bc.')).toEqual(Buffer.from([1, 0x61, 2, 0x62, 0x63, 0]));
    expect(encodeName('.')).toEqual(Buffer.from([0]));
    const msg = Buffer.concat([Buffer.alloc(12), encodeName('mx.example.test'), Buffer.from([3, 0x77, 0x77, 0x77, 0xc0, 12])]);
    expect(readName(msg, 12)).toEqual({ name: 'mx.example.test', end: 29 });
    expect(readName(msg, 29)).toEqual({ name: 'www.mx.example.test', end: 35 });
    const loop = Buffer.concat([Buffer.alloc(12), Buffer.from([0xc0, 12])]);
    expect(readName(loop, 12)).toBeNull();
    expect(() => encodeName(`${'x'.repeat(64)}.test`)).toThrow(/bad DNS label/);
  });

  test('a response or a short packet is not a query', () => {
    expect(parseQuery(Buffer.alloc(5))).toBeNull();
    const response = Buffer.concat([Buffer.from([0, 1, 0x80, 0, 0, 1, 0, 0, 0, 0, 0, 0]), encodeName('a.test'), Buffer.from([0, 1, 0, 1])]);
    expect(parseQuery(response)).toBeNull();
    response[2] = 0x01;
    expect(parseQuery(response)).toMatchObject({ id: 1, name: 'a.test', qtype: 1, qclass: 1, rd: true, opcode: 0 });
  });
});
