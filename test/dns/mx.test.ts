/**
 * MX routing (src/dns/mx.ts, src/runner/mx.ts) as RFC 5321 5.1 and RFC 7505 describe it: first with an injected
 * resolver (plain objects), then through node:dns (systemMxResolver) against the tiny DNS server, then whole
 * runs (runTarget) with the real runner against a loopback SMTP responder.
 */
import { systemClock } from '../../src/core/clock.js';
import { performance } from 'node:perf_hooks';
import { afterEach, describe, expect, test } from 'vitest';
import type { CheckPlan } from '../../src/core/plan.js';
import { makePlan } from '../../src/plan/build.js';
import type { CheckResult } from '../../src/core/result.js';
import { resolveMx, systemMxResolver, type MxOptions, type MxResolution, type MxResolver } from '../../src/dns/mx.js';
import { runTarget, type RunOne, type TargetDeps } from '../../src/runner/mx.js';
import { systemDeps } from '../../src/runner/run.js';
import { closeAll } from '../helpers/cleanup.js';
import { startDnsServer, type DnsServer, type Zone } from '../helpers/dns-server.js';
import { startResponders } from './responder.js';

afterEach(closeAll);

// ---------------------------------------------------------------------------------------------------------
// An injected resolver: plain objects, errors as node:dns gives them (an Error with a `code`).

type Answer<T> = T | { error: string };
interface FakeName {
  mx?: Answer<{ exchange: string; priority: number }[]>;
  a?: Answer<string[]>;
  aaaa?: Answer<string[]>;
}

interface FakeResolver extends MxResolver {
  calls: string[];
}

function dnsError(code: string, syscall: string, name: string): NodeJS.ErrnoException {
  return Object.assign(new Error(`${syscall} ${code} ${name}`), { code, syscall, hostname: name });
}

/** Unknown names are NXDOMAIN (ENOTFOUND); a known name without that type is NODATA (ENODATA), as c-ares says. */
function fakeResolver(names: Record<string, FakeName>, onCall?: (what: string) => void): FakeResolver {
  const calls: string[] = [];
  const ask = async <T>(kind: 'mx' | 'a' | 'aaaa', syscall: string, name: string): Promise<T> => {
    calls.push(`${kind.toUpperCase()} ${name}`);
    onCall?.(`${kind} ${name}`);
    const n = names[name.toLowerCase()];
    if (!n) throw dnsError('ENOTFOUND', syscall, name);
    const v = n[kind];
    if (v === undefined) throw dnsError('ENODATA', syscall, name);
    if (typeof v === 'object' && v !== null && 'error' in v) throw dnsError(v.error, syscall, name);
    return structuredClone(v) as T;
  };
  return {
    calls,
    resolveMx: (n) => ask('mx', 'queryMx', n),
    resolve4: (n) => ask('a', 'queryA', n),
    resolve6: (n) => ask('aaaa', 'queryAaaa', n),
  };
}

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

const ZONE: Zone = {
  'example.test': { mx: [[20, 'mx2.example.test'], [10, 'mx1.example.test'], [20, 'MX0.example.test.'], [30, 'mx2.example.test']] },
  'mx0.example.test': { a: ['127.0.0.1'] },
  'fan.test': { mx: [[20, 'mx2.example.test'], [10, 'mx1.example.test'], [20, 'MX0.example.test.']] },
  'mx1.example.test': { a: ['127.0.0.1'], aaaa: ['::1'] },
  'mx2.example.test': { a: ['127.0.0.1'] },
  // The domain is an alias: its MX records are the target's (RFC 5321 5.1: processed as if it were the target).
  'alias.test': { cname: 'hop.alias.test' },
  'hop.alias.test': { cname: 'example.test' },
  // An MX target that is an alias (RFC 2181 10.3 says it should not be, but senders follow it).
  'cnamed.test': { mx: [[10, 'mail.cnamed.test'], [20, 'ghost.cnamed.test']] },
  'mail.cnamed.test': { cname: 'relay.hosting.test' },
  'relay.hosting.test': { cname: 'box.hosting.test' },
  'box.hosting.test': { a: ['127.0.0.1'], aaaa: ['::1'] },
  'nomail.test': { mx: [[0, '.']], a: ['127.0.0.1'] },
  'solo.test': { a: ['127.0.0.1'] },
  'solo-alias.test': { cname: 'solo.test' },
  'bare.test': {},
  'broken.test': { rcode: 'SERVFAIL' },
  'partial.test': { mx: [[10, 'mx1.example.test'], [20, 'noaddr.partial.test'], [30, 'nx.partial.test']] },
  'noaddr.partial.test': {},
  'dead.test': { drop: true },
};

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

// ---------------------------------------------------------------------------------------------------------
// Whole runs: runTarget with the real runner.

const STEPS: CheckPlan['steps'] = ['banner', 'ehlo', 'noop', 'quit'];

function mxPlan(domain: string, port: number, dnsAddress: string, p: Partial<CheckPlan> = {}): CheckPlan {
  return makePlan({
    host: domain, port, tls: 'none', ehlo: 'probe.example.test', steps: STEPS,
    phaseTimeoutMs: 1000, timeoutMs: 3000, mx: { maxHosts: null }, dnsServers: [dnsAddress], ...p,
  });
}

const phaseNames = (r: CheckResult): string[] => r.phases.map((p) => p.phase);

describe('runTarget: one result per MX host', () => {
  test('through the DNS server: results in preference order, each with mx {host, preference, address} and a dns phase first', async () => {
    const dns = await startDnsServer(ZONE);
    const smtp = await startResponders({ '127.0.0.1': {} });
    const results = await runTarget(mxPlan('fan.test', smtp.port, dns.address, { ipFamily: 4 }), systemDeps());
    expect(results.map((r) => r.mx)).toEqual([
      { host: 'mx1.example.test', preference: 10, address: '127.0.0.1' },
      { host: 'mx0.example.test', preference: 20, address: '127.0.0.1' },
      { host: 'mx2.example.test', preference: 20, address: '127.0.0.1' },
    ]);
    for (const r of results) {
      expect(r.ok, JSON.stringify(r.failure)).toBe(true);
      expect(r.target).toBe(`fan.test:${smtp.port}`);
      expect(r.url).toBe(`mx://fan.test:${smtp.port}`);
      expect(phaseNames(r).slice(0, 3)).toEqual(['dns', 'connect', 'banner']);
    }
    expect(smtp.connections).toHaveLength(3);
    expect(smtp.connections.every((c) => c.commands[0] === 'EHLO probe.example.test')).toBe(true);
  });

  test('an MX host without addresses fails at dns (reason dns); the others are still probed', async () => {
    const dns = await startDnsServer(ZONE);
    const smtp = await startResponders({ '127.0.0.1': {} });
    const results = await runTarget(mxPlan('partial.test', smtp.port, dns.address), systemDeps());
    expect(results.map((r) => [r.mx?.host, r.ok, r.failure?.phase ?? null, r.failure?.reason ?? null])).toEqual([
      ['mx1.example.test', true, null, null],
      ['noaddr.partial.test', false, 'dns', 'dns'],
      ['nx.partial.test', false, 'dns', 'dns'],
    ]);
    expect(results[1]!.mx).toEqual({ host: 'noaddr.partial.test', preference: 20, address: null });
    expect(results[1]!.failure!.message).toMatch(/noaddr\.partial\.test/);
    expect(phaseNames(results[1]!)[0]).toBe('dns');
    expect(smtp.connections).toHaveLength(1);
  });

  test('implicit MX: one result for the domain itself, with a warning saying so', async () => {
    const dns = await startDnsServer(ZONE);
    const smtp = await startResponders({ '127.0.0.1': {} });
    const [r, ...rest] = await runTarget(mxPlan('solo.test', smtp.port, dns.address), systemDeps());
    expect(rest).toEqual([]);
    expect(r!.ok).toBe(true);
    expect(r!.mx).toEqual({ host: 'solo.test', preference: 0, address: '127.0.0.1' });
    expect(r!.warnings.join('\n')).toMatch(/implicit MX/);
  });

  test('null MX: one result failing at dns with reason expectation, nothing connected', async () => {
    const dns = await startDnsServer(ZONE);
    const smtp = await startResponders({ '127.0.0.1': {} });
    const results = await runTarget(mxPlan('nomail.test', smtp.port, dns.address), systemDeps());
    expect(results).toHaveLength(1);
    expect(results[0]).toMatchObject({ ok: false, failure: { phase: 'dns', reason: 'expectation', message: expect.stringMatching(/null MX/) } });
    expect(phaseNames(results[0]!)).toEqual(['dns']);
    expect(smtp.connections).toEqual([]);
  });

  test('NXDOMAIN and a domain with neither: one result failing at dns with reason dns', async () => {
    const dns = await startDnsServer(ZONE);
    const [nx] = await runTarget(mxPlan('nowhere.test', 1, dns.address), systemDeps());
    expect(nx).toMatchObject({ ok: false, failure: { phase: 'dns', reason: 'dns', message: 'nowhere.test does not exist (NXDOMAIN)' } });
    const [bare] = await runTarget(mxPlan('bare.test', 1, dns.address), systemDeps());
    expect(bare).toMatchObject({ ok: false, failure: { phase: 'dns', reason: 'dns' } });
    expect(bare!.mx).toBeUndefined();
  });

  test('a DNS server that never answers: one result failing at dns (reason dns or timeout)', async () => {
    const dns = await startDnsServer(ZONE);
    dns.setDropAll(true);
    const plan = mxPlan('example.test', 1, dns.address, { phaseTimeoutMs: 300, timeoutMs: 2000 });
    const results = await runTarget(plan, systemDeps());
    expect(results).toHaveLength(1);
    expect(results[0]!.failure).toMatchObject({ phase: 'dns', reason: expect.stringMatching(/^(dns|timeout)$/), message: expect.stringMatching(/timed out|took longer than/) });
  });

  test('a DNS server that never answers: the run still ends within the plan\'s timeout', async () => {
    const dns = await startDnsServer(ZONE);
    dns.setDropAll(true);
    // phase timeout 400 ms, run timeout 500 ms: nothing of the run may take longer than the run's timeout.
    const plan = mxPlan('example.test', 1, dns.address, { phaseTimeoutMs: 400, timeoutMs: 500 });
    const t0 = performance.now();
    const [r] = await runTarget(plan, systemDeps());
    const took = performance.now() - t0;
    expect(r!.failure?.phase).toBe('dns');
    expect(took).toBeLessThan(plan.timeoutMs + 250);
    expect(r!.durationMs).toBeLessThan(plan.timeoutMs + 250);
  });

  test('smtp:// with dns_servers: the host name is resolved through them', async () => {
    const dns = await startDnsServer(ZONE);
    const smtp = await startResponders({ '127.0.0.1': {} });
    const plan = mxPlan('mx2.example.test', smtp.port, dns.address, { mx: null });
    const [r] = await runTarget(plan, systemDeps());
    expect(r!.ok, JSON.stringify(r!.failure)).toBe(true);
    expect(r!.mx).toBeUndefined();
    expect(dns.queriesFor('mx2.example.test', 'A')).toHaveLength(1);
    const [missing] = await runTarget({ ...plan, host: 'nx.partial.test' }, systemDeps());
    expect(missing!.failure).toMatchObject({ phase: 'dns', reason: 'dns' });
  });
});

describe('runTarget with an injected resolver and runner', () => {
  function canned(plan: CheckPlan, phases: CheckResult['phases']): CheckResult {
    return {
      target: plan.name, url: plan.url, ok: true, startedAt: new Date(0).toISOString(), attempts: 1, warnings: [], failure: null,
      durationMs: phases.reduce((n, p) => n + p.durationMs, 0), phases,
      banner: null, capabilities: null, capabilitiesBeforeTls: null, tls: null, messageId: null, probeId: 'x',
    };
  }
  const names = {
    'example.test': { mx: [{ exchange: 'mx2.example.test', priority: 20 }, { exchange: 'mx1.example.test', priority: 10 }] },
    'mx1.example.test': { a: ['192.0.2.1'] },
    'mx2.example.test': { a: ['192.0.2.2', '192.0.2.22'] },
  };

  test('the MX lookup time is added to each host\'s dns phase and duration; each host runs with its own addresses', async () => {
    let t = 0;
    const resolver = fakeResolver(names, (what) => {
      t += what.startsWith('mx ') ? 40 : 0;
    });
    const seen: { host: string; servername: string; addresses: string[] }[] = [];
    const runOne: RunOne = async (plan, deps) => {
      seen.push({ host: plan.host, servername: plan.tlsParams.servername, addresses: await deps.lookup(plan.host, null) });
      return canned(plan, [{ phase: 'dns', ok: true, durationMs: 2 }, { phase: 'connect', ok: true, durationMs: 3, address: `addr-of-${plan.host}` }]);
    };
    const deps: TargetDeps = { now: () => t, wallNow: () => 0, setTimer: systemClock.setTimer, lookup: async () => { throw new Error('system lookup used'); }, mxResolver: () => resolver };
    const plan = makePlan({ host: 'example.test', port: 2525, tls: 'none', mx: { maxHosts: null }, name: 'mail' });
    const results = await runTarget(plan, deps, runOne);
    expect(seen).toEqual([
      { host: 'mx1.example.test', servername: 'mx1.example.test', addresses: ['192.0.2.1'] },
      { host: 'mx2.example.test', servername: 'mx2.example.test', addresses: ['192.0.2.2', '192.0.2.22'] },
    ]);
    for (const r of results) {
      expect(r.target).toBe('mail');
      expect(r.url).toBe('mx://example.test:2525');
      expect(r.phases[0]).toEqual({ phase: 'dns', ok: true, durationMs: 42 });
      expect(r.durationMs).toBe(45);
    }
    expect(results.map((r) => r.mx)).toEqual([
      { host: 'mx1.example.test', preference: 10, address: 'addr-of-mx1.example.test' },
      { host: 'mx2.example.test', preference: 20, address: 'addr-of-mx2.example.test' },
    ]);
  });

  test('a result without a dns phase gets one in front, holding the MX lookup time', async () => {
    let t = 0;
    const resolver = fakeResolver(names, () => (t += 10));
    const runOne: RunOne = async (plan) => canned(plan, [{ phase: 'connect', ok: true, durationMs: 1, address: '192.0.2.1' }]);
    const deps: TargetDeps = { now: () => t, wallNow: () => 0, setTimer: systemClock.setTimer, lookup: async () => [], mxResolver: () => resolver };
    const results = await runTarget(makePlan({ host: 'example.test', port: 25, mx: { maxHosts: 1 } }), deps, runOne);
    expect(results).toHaveLength(1);
    expect(results[0]!.phases.map((p) => p.phase)).toEqual(['dns', 'connect']);
    expect(results[0]!.phases[0]!.durationMs).toBe(t);
  });

  test('an explicit TLS server name is kept for every MX host', async () => {
    const servernames: string[] = [];
    const runOne: RunOne = async (plan) => {
      servernames.push(plan.tlsParams.servername);
      return canned(plan, []);
    };
    const deps: TargetDeps = { now: () => 0, wallNow: () => 0, setTimer: systemClock.setTimer, lookup: async () => [], mxResolver: () => fakeResolver(names) };
    await runTarget(makePlan({ host: 'example.test', port: 25, mx: { maxHosts: null }, tlsParams: { servername: 'mail.example.test', insecure: false } }), deps, runOne);
    expect(servernames).toEqual(['mail.example.test', 'mail.example.test']);
  });

  test('the resolver is built with the plan\'s dns servers and phase timeout', async () => {
    const asked: [readonly string[] | null, number][] = [];
    const deps: TargetDeps = {
      now: () => 0, wallNow: () => 0, setTimer: systemClock.setTimer, lookup: async () => [],
      mxResolver: (servers, timeoutMs) => {
        asked.push([servers, timeoutMs]);
        return fakeResolver(names);
      },
    };
    const runOne: RunOne = async (plan) => canned(plan, []);
    await runTarget(makePlan({ host: 'example.test', port: 25, mx: { maxHosts: null }, dnsServers: ['127.0.0.1:5353'], phaseTimeoutMs: 1234 }), deps, runOne);
    expect(asked).toEqual([[['127.0.0.1:5353'], 1234]]);
  });
});
