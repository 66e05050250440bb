/**
 * The address lookup (src/dns/lookup.ts): hosts file first, then A/AAAA through c-ares against the tiny DNS
 * server, getaddrinfo's error codes and address order, the search list; and the runner's default lookup.
 */
import dns from 'node:dns';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, describe, expect, test } from 'vitest';
import { createLookup, systemAddressLookup, type AddressResolver } from '../../src/dns/lookup.js';
import { orderAddresses, type LocalAddress } from '../../src/dns/order.js';
import { parseHosts, parseResolvConf } from '../../src/dns/system-files.js';
import { makePlan } from '../../src/plan/build.js';
import { runCheck, systemDeps, systemLookup } from '../../src/runner/run.js';
import { closeAll } from '../helpers/cleanup.js';
import { startDnsServer, type Zone } from '../helpers/dns-server.js';

afterEach(closeAll);

const dir = mkdtempSync(join(tmpdir(), 'smtp-probe-lookup-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

async function until(what: () => boolean, ms = 3000): Promise<void> {
  for (const end = Date.now() + ms; !what(); await new Promise((r) => setTimeout(r, 20))) {
    if (Date.now() > end) throw new Error('condition not met in time');
  }
}

let fileCount = 0;
/** A hosts file and an empty resolv.conf of the test's own (each test its own paths: the files are cached). */
function files(hosts: string): { hosts: string; resolvConf: string } {
  fileCount += 1;
  const paths = { hosts: join(dir, `hosts-${fileCount}`), resolvConf: join(dir, `resolv-${fileCount}.conf`) };
  writeFileSync(paths.hosts, hosts);
  writeFileSync(paths.resolvConf, '');
  return paths;
}

const ZONE: Zone = {
  'both.test': { a: ['192.0.2.1'], aaaa: ['2001:db8::1'] },
  'v4.test': { a: ['192.0.2.4'] },
  'files.test': { a: ['192.0.2.99'] },
  'black.test': { drop: true },
  'broken.test': { rcode: 'SERVFAIL' },
};

const V4_ONLY: LocalAddress[] = [
  { address: '127.0.0.1', family: 'IPv4', internal: true },
  { address: '::1', family: 'IPv6', internal: true },
  { address: '192.0.2.2', family: 'IPv4', internal: false },
  { address: 'fe80::1', family: 'IPv6', internal: false },
];
const DUAL: LocalAddress[] = [...V4_ONLY, { address: '2001:db8:1::2', family: 'IPv6', internal: false }];
const ULA_ONLY: LocalAddress[] = [...V4_ONLY, { address: 'fd00::2', family: 'IPv6', internal: false }];

describe('the address lookup against the tiny DNS server', () => {
  test('the hosts file answers first; a family it has no address of goes to DNS', async () => {
    const server = await startDnsServer(ZONE);
    const lookup = systemAddressLookup({ servers: [server.address], timeoutMs: 1000, tries: 1, files: files('192.0.2.50 files.test Alias.Files.Test # comment\n') });
    expect(await lookup('files.test', null)).toEqual(['192.0.2.50']);
    expect(await lookup('ALIAS.files.test.', 4)).toEqual(['192.0.2.50']);
    expect(server.queriesFor('files.test')).toEqual([]);
    await expect(lookup('files.test', 6)).rejects.toMatchObject({ code: 'ENOTFOUND' });
    expect(server.queriesFor('files.test', 'AAAA')).toHaveLength(1);
  });

  test('A and AAAA from DNS, one family when asked; NXDOMAIN and NODATA are ENOTFOUND', async () => {
    const server = await startDnsServer(ZONE);
    const lookup = systemAddressLookup({ servers: [server.address], timeoutMs: 1000, tries: 1, files: files('') });
    expect((await lookup('both.test', null)).sort()).toEqual(['192.0.2.1', '2001:db8::1']);
    expect(await lookup('both.test', 4)).toEqual(['192.0.2.1']);
    expect(await lookup('both.test', 6)).toEqual(['2001:db8::1']);
    await expect(lookup('nowhere.test', null)).rejects.toMatchObject({ code: 'ENOTFOUND' });
    await expect(lookup('v4.test', 6)).rejects.toMatchObject({ code: 'ENOTFOUND' });
  });

  test('a server that never answers or fails is EAI_AGAIN (temporary), ended by the resolver\'s own timeout', async () => {
    const server = await startDnsServer(ZONE);
    const lookup = systemAddressLookup({ servers: [server.address], timeoutMs: 200, tries: 1, files: files('') });
    await expect(lookup('black.test', 4)).rejects.toMatchObject({ code: 'EAI_AGAIN', cause: 'ETIMEOUT' });
    await expect(lookup('broken.test', null)).rejects.toMatchObject({ code: 'EAI_AGAIN', cause: 'ESERVFAIL' });
  });

  test('a lookup whose signal aborts ends its queries at once (ECANCELLED), not at the resolver\'s timeout', async () => {
    const server = await startDnsServer(ZONE);
    const lookup = systemAddressLookup({ servers: [server.address], timeoutMs: 30_000, tries: 1, files: files('') });
    const stop = new AbortController();
    const pending = lookup('black.test', null, stop.signal);
    await until(() => server.queriesFor('black.test').length === 2);
    const t0 = performance.now();
    stop.abort();
    await expect(pending).rejects.toMatchObject({ code: 'EAI_AGAIN', cause: 'ECANCELLED' });
    expect(performance.now() - t0).toBeLessThan(1000);
  });

  test('the runner aborts the lookup\'s signal when it stops waiting (phase timeout)', async () => {
    let seen: AbortSignal | undefined;
    const lookup = (_h: string, _f: 4 | 6 | null, signal?: AbortSignal): Promise<string[]> => ((seen = signal), new Promise<string[]>(() => undefined));
    const r = await runCheck(makePlan({ host: 'slow.test', port: 25, tls: 'none', steps: ['banner'], phaseTimeoutMs: 200, timeoutMs: 1000 }), { ...systemDeps(), lookup });
    expect(r.failure).toMatchObject({ phase: 'dns', reason: 'timeout' });
    expect(seen?.aborted).toBe(true);
  });

  test('literals are answered as they are; localhost is loopback even without a hosts entry', async () => {
    const lookup = systemAddressLookup({ servers: ['127.0.0.1:9'], timeoutMs: 200, tries: 1, files: files('') });
    expect(await lookup('192.0.2.7', null)).toEqual(['192.0.2.7']);
    await expect(lookup('192.0.2.7', 6)).rejects.toMatchObject({ code: 'ENOTFOUND' });
    expect((await lookup('localhost', null)).sort()).toEqual(['127.0.0.1', '::1']);
    expect(await lookup('mail.localhost', 4)).toEqual(['127.0.0.1']);
  });

  test('the runner\'s default lookup answers localhost as getaddrinfo does on this machine', async () => {
    const viaGetaddrinfo = (await dns.promises.lookup('localhost', { all: true, verbatim: true })).map((a) => a.address);
    expect(await systemLookup('localhost', null)).toEqual(viaGetaddrinfo);
    const r = await runCheck(makePlan({ host: 'localhost', port: 9, tls: 'none', ipFamily: 4, steps: ['banner'], phaseTimeoutMs: 1000 }), systemDeps());
    expect(r.phases[0]).toMatchObject({ phase: 'dns', ok: true });
  });

  test('the runner maps the lookup\'s errors: no such host, temporary DNS failure', async () => {
    const server = await startDnsServer(ZONE);
    const lookup = systemAddressLookup({ servers: [server.address], timeoutMs: 200, tries: 1, files: files('') });
    const plan = (host: string) => makePlan({ host, port: 25, tls: 'none', steps: ['banner'], phaseTimeoutMs: 3000, timeoutMs: 4000 });
    const nx = await runCheck(plan('nowhere.test'), { ...systemDeps(), lookup });
    expect(nx.failure).toMatchObject({ phase: 'dns', reason: 'dns', message: 'cannot resolve nowhere.test: no such host' });
    const black = await runCheck(plan('black.test'), { ...systemDeps(), lookup });
    expect(black.failure).toMatchObject({ phase: 'dns', reason: 'dns', message: 'cannot resolve black.test: temporary DNS failure' });
  });
});

describe('the search list (resolv.conf ndots and search)', () => {
  function recorder(known: Record<string, string[]>): AddressResolver & { asked: string[] } {
    const asked: string[] = [];
    const ask = async (name: string, v: 4 | 6): Promise<string[]> => {
      asked.push(`${v} ${name}`);
      const found = known[name]?.filter((a) => (v === 4) === a.includes('.'));
      if (!found) throw Object.assign(new Error('nx'), { code: 'ENOTFOUND' });
      if (found.length === 0) throw Object.assign(new Error('nodata'), { code: 'ENODATA' });
      return found;
    };
    return { asked, resolve4: (n) => ask(n, 4), resolve6: (n) => ask(n, 6) };
  }
  const lookupWith = (r: AddressResolver, resolvConf: string) =>
    createLookup({ resolver: () => r, cancelOnAbort: false, search: () => parseResolvConf(resolvConf), hosts: null, locals: () => V4_ONLY });

  test('a name with fewer dots than ndots tries the search domains first; a trailing dot asks only the name', async () => {
    const r = recorder({ 'mail.svc.cluster.test': ['192.0.2.25'] });
    const lookup = lookupWith(r, 'search ns.svc.cluster.test svc.cluster.test\noptions ndots:5 timeout:1\n');
    expect(await lookup('mail', 4)).toEqual(['192.0.2.25']);
    expect(r.asked).toEqual(['4 mail.ns.svc.cluster.test', '4 mail.svc.cluster.test']);
    r.asked.length = 0;
    await expect(lookup('mail.', 4)).rejects.toMatchObject({ code: 'ENOTFOUND' });
    expect(r.asked).toEqual(['4 mail']);
  });

  test('a name with ndots dots is asked as written first; a temporary failure stops the search', async () => {
    const r = recorder({ 'mx.example.test': ['192.0.2.1'] });
    const lookup = lookupWith(r, 'domain corp.test\n');
    expect(await lookup('mx.example.test', 4)).toEqual(['192.0.2.1']);
    expect(r.asked).toEqual(['4 mx.example.test']);
    const failing: AddressResolver = { resolve4: async () => Promise.reject(Object.assign(new Error('t'), { code: 'ETIMEOUT' })), resolve6: async () => [] };
    const calls: string[] = [];
    const stop = createLookup({
      resolver: () => ({ resolve4: (n) => (calls.push(n), failing.resolve4(n)), resolve6: failing.resolve6 }),
      cancelOnAbort: false,
      search: () => parseResolvConf('search a.test b.test\noptions ndots:2'),
      hosts: null,
      locals: () => V4_ONLY,
    });
    await expect(stop('mail', 4)).rejects.toMatchObject({ code: 'EAI_AGAIN' });
    expect(calls).toEqual(['mail.a.test']);
  });
});

describe('the files', () => {
  test('hosts(5): comments, several names, several lines for one name, bad addresses skipped', () => {
    const t = parseHosts('# c\n127.0.0.1 localhost\n::1 localhost ip6-localhost\n\n192.0.2.1\tA.test  b.test # x\nnot-an-ip c.test\n192.0.2.2 a.test.\n');
    expect(t.get('localhost')).toEqual(['127.0.0.1', '::1']);
    expect(t.get('a.test')).toEqual(['192.0.2.1', '192.0.2.2']);
    expect(t.get('b.test')).toEqual(['192.0.2.1']);
    expect(t.has('c.test')).toBe(false);
  });

  test('resolv.conf(5): the last search/domain wins; ndots', () => {
    expect(parseResolvConf('nameserver 10.0.0.1\nsearch a.test b.test.\noptions ndots:5 edns0\n')).toEqual({ search: ['a.test', 'b.test'], ndots: 5 });
    expect(parseResolvConf('search a.test\ndomain c.test\n')).toEqual({ search: ['c.test'], ndots: 1 });
    expect(parseResolvConf('')).toEqual({ search: [], ndots: 1 });
  });
});

describe('the order of the answer (RFC 6724 destination selection, glibc\'s policy table)', () => {
  test('localhost: ::1 before 127.0.0.1', () => {
    expect(orderAddresses(['127.0.0.1', '::1'], V4_ONLY)).toEqual(['::1', '127.0.0.1']);
  });

  test('no global IPv6 address here: A before AAAA; with one: AAAA first', () => {
    expect(orderAddresses(['2001:db8::1', '192.0.2.1'], V4_ONLY)).toEqual(['192.0.2.1', '2001:db8::1']);
    expect(orderAddresses(['192.0.2.1', '2001:db8::1'], DUAL)).toEqual(['2001:db8::1', '192.0.2.1']);
  });

  test('only a ULA source: a global AAAA loses to A (label mismatch); a ULA destination wins', () => {
    expect(orderAddresses(['2001:db8::1', '192.0.2.1'], ULA_ONLY)).toEqual(['192.0.2.1', '2001:db8::1']);
    expect(orderAddresses(['192.0.2.1', 'fd00::25'], ULA_ONLY)).toEqual(['fd00::25', '192.0.2.1']);
  });

  test('otherwise the order of the answer is kept', () => {
    expect(orderAddresses(['192.0.2.3', '192.0.2.1', '192.0.2.2'], V4_ONLY)).toEqual(['192.0.2.3', '192.0.2.1', '192.0.2.2']);
  });
});
