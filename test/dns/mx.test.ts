/**
 * MX routing (src/dns/mx.ts) as RFC 5321 5.1 and RFC 7505 describe it: first with an injected resolver (plain
 * objects), then through node:dns (systemMxResolver) against the tiny DNS server. Whole runs: test/runner/mx.test.ts.
 */
import { performance } from 'node:perf_hooks';
import { afterEach, describe, expect, test } from 'vitest';
import { resolveMx, systemMxResolver, type MxOptions, type MxResolution } from '../../src/dns/mx.js';
import { closeAll } from '../helpers/cleanup.js';
import { startDnsServer, type DnsServer } from '../helpers/dns-server.js';
import { ZONE, fakeResolver } from './fixtures.js';

afterEach(closeAll);

const opts = (o: Partial<MxOptions> = {}): MxOptions => ({ family: null, maxHosts: null, now: () => performance.now(), ...o });

function hostsOf(r: MxResolution): { host: string; preference: number; addresses: string[] }[] {
  if (r.kind !== 'hosts') throw new Error(`expected hosts, got ${JSON.stringify(r)}`);
  return r.hosts.map(({ host, preference, addresses }) => ({ host, preference, addresses }));
}

describe('resolveMx with an injected resolver', () => {
  test('MX hosts by preference, ties by name; names lower-cased without the root dot; each with A then AAAA', async () => {
    const r = fakeResolver({
      'example.test': {
        mx: [
          { exchange: 'mx-c.example.test', priority: 30 },
          { exchange: 'MX-B.Example.Test.', priority: 10 },
          { exchange: 'mx-z.example.test', priority: 20 },
          { exchange: 'mx-a.example.test', priority: 10 },
        ],
      },
      'mx-a.example.test': { a: ['192.0.2.1'], aaaa: ['2001:db8::1'] },
      'mx-b.example.test': { a: ['192.0.2.2', '192.0.2.22'] },
      'mx-c.example.test': { aaaa: ['2001:db8::3'] },
      'mx-z.example.test': { a: ['192.0.2.26'] },
    });
    const found = await resolveMx('example.test', r, opts());
    expect(hostsOf(found)).toEqual([
      { host: 'mx-a.example.test', preference: 10, addresses: ['192.0.2.1', '2001:db8::1'] },
      { host: 'mx-b.example.test', preference: 10, addresses: ['192.0.2.2', '192.0.2.22'] },
      { host: 'mx-z.example.test', preference: 20, addresses: ['192.0.2.26'] },
      { host: 'mx-c.example.test', preference: 30, addresses: ['2001:db8::3'] },
    ]);
    expect(found.kind === 'hosts' && found.hosts.every((h) => !h.implicit)).toBe(true);
  });

  test('ties are broken by name the same way whatever order the server lists them in', async () => {
    const mx = ['mx10.example.test', 'b.example.test', 'mx9.example.test', 'a.example.test'].map((exchange) => ({ exchange, priority: 5 }));
    const names = Object.fromEntries(mx.map((m) => [m.exchange, { a: ['192.0.2.1'] }]));
    const one = await resolveMx('example.test', fakeResolver({ 'example.test': { mx }, ...names }), opts());
    const two = await resolveMx('example.test', fakeResolver({ 'example.test': { mx: [...mx].reverse() }, ...names }), opts());
    expect(hostsOf(one).map((h) => h.host)).toEqual(['a.example.test', 'b.example.test', 'mx10.example.test', 'mx9.example.test']);
    expect(hostsOf(two)).toEqual(hostsOf(one));
  });

  test('a host listed twice is probed once, at its best (lowest) preference', async () => {
    // RFC 5321 5.1: a sender tries hosts in preference order, so mx1 is tried at 10, before mx2 at 15.
    const r = fakeResolver({
      'example.test': {
        mx: [
          { exchange: 'mx1.example.test', priority: 10 },
          { exchange: 'mx2.example.test', priority: 15 },
          { exchange: 'MX1.example.test.', priority: 20 },
        ],
      },
      'mx1.example.test': { a: ['192.0.2.1'] },
      'mx2.example.test': { a: ['192.0.2.2'] },
    });
    expect(hostsOf(await resolveMx('example.test', r, opts()))).toEqual([
      { host: 'mx1.example.test', preference: 10, addresses: ['192.0.2.1'] },
      { host: 'mx2.example.test', preference: 15, addresses: ['192.0.2.2'] },
    ]);
    expect(r.calls.filter((c) => c === 'A mx1.example.test')).toHaveLength(1);
  });

  test('null MX (RFC 7505): a single MX with exchange "." (node:dns: "") means no mail; no address is asked', async () => {
    for (const exchange of ['', '.']) {
      const r = fakeResolver({ 'nomail.test': { mx: [{ exchange, priority: 0 }], a: ['192.0.2.9'] } });
      const found = await resolveMx('nomail.test', r, opts());
      expect(found.kind).toBe('null-mx');
      expect(r.calls).toEqual(['MX nomail.test']);
    }
  });

  test('implicit MX (RFC 5321 5.1): no MX record (ENODATA) → the domain itself at preference 0', async () => {
    const r = fakeResolver({ 'solo.test': { a: ['192.0.2.7'], aaaa: ['2001:db8::7'] } });
    const found = await resolveMx('Solo.Test', r, opts());
    expect(found).toMatchObject({ kind: 'hosts', hosts: [{ host: 'solo.test', preference: 0, implicit: true, addresses: ['192.0.2.7', '2001:db8::7'] }] });
  });

  test('implicit MX also when the MX answer is empty (c-ares: NOERROR with only a CNAME gives [])', async () => {
    const r = fakeResolver({ 'solo.test': { mx: [], a: ['192.0.2.7'] } });
    expect(await resolveMx('solo.test', r, opts())).toMatchObject({ kind: 'hosts', hosts: [{ host: 'solo.test', implicit: true }] });
  });

  test('neither MX nor an address: an error (RFC 5321 5.1: the implicit MX is unusable)', async () => {
    const r = fakeResolver({ 'bare.test': {} });
    const found = await resolveMx('bare.test', r, opts());
    expect(found).toMatchObject({ kind: 'error', message: expect.stringMatching(/bare\.test has no MX record and no address/) });
  });

  test('NXDOMAIN, SERVFAIL, a timeout, a refusal: errors that say which, and no address lookups', async () => {
    const cases: [string, RegExp][] = [
      ['ENOTFOUND', /gone\.test does not exist \(NXDOMAIN\)/],
      ['ESERVFAIL', /SERVFAIL/],
      ['ETIMEOUT', /MX lookup for gone\.test timed out/],
      ['ECONNREFUSED', /refused/],
      ['EBADRESP', /MX lookup for gone\.test failed: EBADRESP/],
    ];
    for (const [code, message] of cases) {
      const r = fakeResolver(code === 'ENOTFOUND' ? {} : { 'gone.test': { mx: { error: code } } });
      const found = await resolveMx('gone.test', r, opts());
      expect(found).toMatchObject({ kind: 'error', message: expect.stringMatching(message) });
      expect(r.calls).toEqual(['MX gone.test']);
    }
  });

  test('an MX host without addresses (NXDOMAIN, NODATA, lookup errors) stays in the list with none', async () => {
    const r = fakeResolver({
      'example.test': {
        mx: [
          { exchange: 'mx1.example.test', priority: 10 },
          { exchange: 'ghost.example.test', priority: 20 },
          { exchange: 'empty.example.test', priority: 30 },
          { exchange: 'flaky.example.test', priority: 40 },
        ],
      },
      'mx1.example.test': { a: ['192.0.2.1'] },
      'empty.example.test': {},
      'flaky.example.test': { a: { error: 'ETIMEOUT' }, aaaa: { error: 'ESERVFAIL' } },
    });
    expect(hostsOf(await resolveMx('example.test', r, opts()))).toEqual([
      { host: 'mx1.example.test', preference: 10, addresses: ['192.0.2.1'] },
      { host: 'ghost.example.test', preference: 20, addresses: [] },
      { host: 'empty.example.test', preference: 30, addresses: [] },
      { host: 'flaky.example.test', preference: 40, addresses: [] },
    ]);
  });

  test('a DNS answer of 400 MX records yields at most 50 hosts (max_mx\'s bound), whatever maxHosts says', async () => {
    const records = Array.from({ length: 400 }, (_, i) => ({ exchange: `mx${String(i).padStart(3, '0')}.big.test`, priority: 10 }));
    const r = fakeResolver({ 'big.test': { mx: records } });
    expect(hostsOf(await resolveMx('big.test', r, opts({ maxHosts: null })))).toHaveLength(50);
    expect(hostsOf(await resolveMx('big.test', r, opts({ maxHosts: 400 })))).toHaveLength(50);
    expect(r.calls.filter((c) => c.startsWith('A '))).toHaveLength(100);
  });

  test('maxHosts: only the first N by preference, and only their addresses are asked', async () => {
    const r = fakeResolver({
      'example.test': { mx: [{ exchange: 'mx2.example.test', priority: 20 }, { exchange: 'mx1.example.test', priority: 10 }, { exchange: 'mx3.example.test', priority: 30 }] },
      'mx1.example.test': { a: ['192.0.2.1'] },
      'mx2.example.test': { a: ['192.0.2.2'] },
      'mx3.example.test': { a: ['192.0.2.3'] },
    });
    expect(hostsOf(await resolveMx('example.test', r, opts({ maxHosts: 2 }))).map((h) => h.host)).toEqual(['mx1.example.test', 'mx2.example.test']);
    expect(r.calls.some((c) => c.includes('mx3'))).toBe(false);
  });

  test('family 4 / 6: only that family is asked and kept; null: A then AAAA', async () => {
    const names = {
      'example.test': { mx: [{ exchange: 'mx1.example.test', priority: 10 }, { exchange: 'v4only.example.test', priority: 20 }] },
      'mx1.example.test': { a: ['192.0.2.1'], aaaa: ['2001:db8::1'] },
      'v4only.example.test': { a: ['192.0.2.4'] },
    };
    const r4 = fakeResolver(names);
    expect(hostsOf(await resolveMx('example.test', r4, opts({ family: 4 }))).map((h) => h.addresses)).toEqual([['192.0.2.1'], ['192.0.2.4']]);
    expect(r4.calls.some((c) => c.startsWith('AAAA'))).toBe(false);
    const r6 = fakeResolver(names);
    expect(hostsOf(await resolveMx('example.test', r6, opts({ family: 6 }))).map((h) => h.addresses)).toEqual([['2001:db8::1'], []]);
    expect(r6.calls.some((c) => c.startsWith('A '))).toBe(false);
    expect(hostsOf(await resolveMx('example.test', fakeResolver(names), opts())).map((h) => h.addresses)).toEqual([['192.0.2.1', '2001:db8::1'], ['192.0.2.4']]);
  });

  test('implicit MX with a family the domain lacks: an error, not a host without addresses', async () => {
    const r = fakeResolver({ 'solo.test': { a: ['192.0.2.7'] } });
    expect((await resolveMx('solo.test', r, opts({ family: 6 }))).kind).toBe('error');
  });

  test('lookupMs covers the MX lookup and the address lookups (the injected clock)', async () => {
    let t = 1000;
    const r = fakeResolver(
      { 'example.test': { mx: [{ exchange: 'mx1.example.test', priority: 10 }] }, 'mx1.example.test': { a: ['192.0.2.1'] } },
      (what) => {
        t += what.startsWith('mx ') ? 30 : 5;
      },
    );
    expect(await resolveMx('example.test', r, opts({ now: () => t }))).toMatchObject({ kind: 'hosts', lookupMs: 40 });
    const err = await resolveMx('nope.test', fakeResolver({}, () => (t += 12)), opts({ now: () => t }));
    expect(err).toMatchObject({ kind: 'error', lookupMs: 12 });
  });
});

// ---------------------------------------------------------------------------------------------------------
// Through node:dns (systemMxResolver) against the tiny server.

describe('resolveMx through node:dns and the tiny DNS server', () => {
  let dns: DnsServer;
  const resolve = async (domain: string, o: Partial<MxOptions> = {}, timeoutMs = 1000): Promise<MxResolution> => {
    dns ??= await startDnsServer(ZONE);
    return resolveMx(domain, systemMxResolver([dns.address], timeoutMs), opts(o));
  };
  afterEach(() => {
    dns = undefined as unknown as DnsServer;
  });

  test('preference order, ties by name, duplicates once at their best preference', async () => {
    expect(hostsOf(await resolve('example.test'))).toEqual([
      { host: 'mx1.example.test', preference: 10, addresses: ['127.0.0.1', '::1'] },
      { host: 'mx0.example.test', preference: 20, addresses: ['127.0.0.1'] },
      { host: 'mx2.example.test', preference: 20, addresses: ['127.0.0.1'] },
    ]);
  });

  test('a domain that is a CNAME chain: its target\'s MX hosts', async () => {
    const found = await resolve('alias.test');
    expect(hostsOf(found).map((h) => h.host)).toEqual(['mx1.example.test', 'mx0.example.test', 'mx2.example.test']);
    expect(dns.queriesFor('alias.test', 'MX')).toEqual([expect.objectContaining({ rcode: 'NOERROR', answers: 6 })]);
  });

  test('an MX target behind a CNAME chain is resolved through it; a target that does not exist has no address', async () => {
    expect(hostsOf(await resolve('cnamed.test'))).toEqual([
      { host: 'mail.cnamed.test', preference: 10, addresses: ['127.0.0.1', '::1'] },
      { host: 'ghost.cnamed.test', preference: 20, addresses: [] },
    ]);
    expect(dns.queriesFor('mail.cnamed.test', 'A')).toEqual([expect.objectContaining({ answers: 3 })]);
  });

  test('null MX', async () => {
    expect((await resolve('nomail.test')).kind).toBe('null-mx');
    expect(dns.queriesFor('nomail.test', 'A')).toEqual([]);
  });

  test('implicit MX: a domain with an A record only, directly or through a CNAME', async () => {
    expect(await resolve('solo.test')).toMatchObject({ kind: 'hosts', hosts: [{ host: 'solo.test', preference: 0, implicit: true, addresses: ['127.0.0.1'] }] });
    expect(await resolve('solo-alias.test')).toMatchObject({ kind: 'hosts', hosts: [{ host: 'solo-alias.test', implicit: true, addresses: ['127.0.0.1'] }] });
  });

  test('a domain with neither MX nor address: an error', async () => {
    expect(await resolve('bare.test')).toMatchObject({ kind: 'error', message: expect.stringMatching(/no MX record and no address/) });
  });

  test('NXDOMAIN and SERVFAIL: errors naming them', async () => {
    expect(await resolve('nowhere.test')).toMatchObject({ kind: 'error', message: 'nowhere.test does not exist (NXDOMAIN)' });
    expect(await resolve('broken.test')).toMatchObject({ kind: 'error', message: expect.stringMatching(/SERVFAIL/) });
  });

  test('MX hosts without addresses (NODATA, NXDOMAIN) stay in the list', async () => {
    expect(hostsOf(await resolve('partial.test'))).toEqual([
      { host: 'mx1.example.test', preference: 10, addresses: ['127.0.0.1', '::1'] },
      { host: 'noaddr.partial.test', preference: 20, addresses: [] },
      { host: 'nx.partial.test', preference: 30, addresses: [] },
    ]);
  });

  test('maxHosts: the other hosts\' addresses are never asked', async () => {
    expect(hostsOf(await resolve('example.test', { maxHosts: 1 })).map((h) => h.host)).toEqual(['mx1.example.test']);
    expect(dns.queriesFor('mx0.example.test')).toEqual([]);
    expect(dns.queriesFor('mx2.example.test')).toEqual([]);
  });

  test('family 4 asks A only, family 6 AAAA only', async () => {
    expect(hostsOf(await resolve('example.test', { family: 4, maxHosts: 1 }))[0]!.addresses).toEqual(['127.0.0.1']);
    expect(dns.queriesFor('mx1.example.test', 'AAAA')).toEqual([]);
    expect(hostsOf(await resolve('example.test', { family: 6 })).map((h) => h.addresses)).toEqual([['::1'], [], []]);
  });

  test('a server that never answers: an error after a few resolver timeouts (one try)', async () => {
    const t0 = performance.now();
    const found = await resolve('dead.test', {}, 200);
    const took = performance.now() - t0;
    expect(found).toMatchObject({ kind: 'error', message: 'MX lookup for dead.test timed out' });
    expect(took).toBeGreaterThanOrEqual(190);
    expect(took).toBeLessThan(200 * 4 + 400);
    expect(dns.queriesFor('dead.test', 'MX').length).toBe(1); // one try: the caller bounds the lookup
  });
});
