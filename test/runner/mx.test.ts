/** MX fan-out (src/runner/mx.ts runTarget): whole runs with the real runner against loopback SMTP responders and the tiny DNS server, then with an injected resolver and runner. */
import { afterEach, describe, expect, test } from 'vitest';
import { systemClock } from '../../src/core/clock.js';
import type { CheckPlan } from '../../src/core/plan.js';
import type { CheckResult } from '../../src/core/result.js';
import { makePlan } from '../../src/plan/build.js';
import { runTarget, type RunOne, type TargetDeps } from '../../src/runner/mx.js';
import { systemDeps } from '../../src/runner/run.js';
import { closeAll } from '../helpers/cleanup.js';
import { startDnsServer } from '../helpers/dns-server.js';
import { ZONE, fakeResolver } from '../dns/fixtures.js';
import { startResponders } from '../dns/responder.js';

afterEach(closeAll);

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
