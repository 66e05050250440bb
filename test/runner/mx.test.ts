/** MX fan-out (src/runner/mx.ts runTarget): whole runs with the real runner against loopback SMTP responders and the tiny DNS server, then with an injected resolver and runner. */
import net from 'node:net';
import { afterEach, describe, expect, test } from 'vitest';
import { systemClock } from '../../src/core/clock.js';
import type { CheckPlan } from '../../src/core/plan.js';
import type { CheckResult } from '../../src/core/result.js';
import { parseTargetUrl } from '../../src/core/target.js';
import { buildPlan, defaultGlobal, defaultModule, makePlan } from '../../src/plan/build.js';
import { runTarget, type RunOne, type TargetDeps } from '../../src/runner/mx.js';
import { runCheck, systemDeps, type RunDeps } from '../../src/runner/run.js';
import { closeAll, track } from '../helpers/cleanup.js';
import { startDnsServer } from '../helpers/dns-server.js';
import { ZONE, fakeResolver, type FakeName } from '../dns/fixtures.js';
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

  test('implicit MX under strict: that warning fails the check too, at dns', async () => {
    const dns = await startDnsServer(ZONE);
    const smtp = await startResponders({ '127.0.0.1': {} });
    const [r] = await runTarget(mxPlan('solo.test', smtp.port, dns.address, { strict: true }), systemDeps());
    expect(r!.ok).toBe(false);
    expect(r!.failure).toMatchObject({ phase: 'dns', reason: 'dns', code: null, message: expect.stringMatching(/implicit MX/) });
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

// ---------------------------------------------------------------------------------------------------------
// Bounds: the DNS answer decides how many hosts there are, not how many connections or results.

describe('runTarget: bounded by max_mx and a per-target connection cap', () => {
  /** A domain with `n` MX hosts (mx00.big.test ...), all at 127.0.0.1. */
  function bigDomain(n: number): Record<string, FakeName> {
    const names: Record<string, FakeName> = { 'big.test': { mx: [] } };
    for (let i = 0; i < n; i++) {
      const host = `mx${String(i).padStart(3, '0')}.big.test`;
      (names['big.test']!.mx as { exchange: string; priority: number }[]).push({ exchange: host, priority: 10 });
      names[host] = { a: ['127.0.0.1'] };
    }
    return names;
  }

  /**
   * A raw SMTP server that answers its banner late (so runs overlap) and counts connections. Connections open at
   * once are counted by the runner wrapped around runCheck: the server sees a closed connection's FIN after the
   * next one may already be accepted.
   */
  async function slowBanner(bannerAfterMs: number | null): Promise<{ port: number; connections: number }> {
    const stats = { port: 0, connections: 0 };
    const sockets = new Set<net.Socket>();
    const timers = new Set<NodeJS.Timeout>();
    const server = net.createServer((sock) => {
      sockets.add(sock);
      stats.connections += 1;
      sock.on('close', () => sockets.delete(sock));
      sock.on('error', () => undefined);
      sock.on('data', (d) => {
        if (/^QUIT/im.test(d.toString())) sock.end('221 bye\r\n');
      });
      if (bannerAfterMs === null) return;
      const t = setTimeout(() => (timers.delete(t), sock.write('220 slow.test ESMTP\r\n')), bannerAfterMs);
      timers.add(t);
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    stats.port = (server.address() as net.AddressInfo).port;
    track({
      close: () => {
        for (const t of timers) clearTimeout(t);
        for (const s of sockets) s.destroy();
        return new Promise<void>((resolve) => server.close(() => resolve()));
      },
    });
    return stats;
  }

  /** runCheck, counting the runs (each one SMTP connection) in progress at once. */
  function counted(): RunOne & { maxAtOnce: number } {
    let now = 0;
    const run = Object.assign(
      async (plan: CheckPlan, deps: RunDeps): Promise<CheckResult> => {
        run.maxAtOnce = Math.max(run.maxAtOnce, (now += 1));
        return runCheck(plan, deps).finally(() => (now -= 1));
      },
      { maxAtOnce: 0 },
    );
    return run;
  }

  const defaultsPlan = (port: number): CheckPlan => {
    const url = parseTargetUrl(`mx://big.test:${port}`);
    if (typeof url === 'string') throw new Error(url);
    return { ...buildPlan('big', url, { ...defaultModule(), tls: 'none', steps: ['banner', 'quit'] }, defaultGlobal()), phaseTimeoutMs: 2000 };
  };

  test('max_mx defaults to 10: a domain with 400 MX records gives 10 results, and only their addresses are asked', async () => {
    const smtp = await slowBanner(0);
    const resolver = fakeResolver(bigDomain(400));
    const plan = defaultsPlan(smtp.port);
    expect(plan.mx).toEqual({ maxHosts: 10 });
    const results = await runTarget(plan, { ...systemDeps(), mxResolver: () => resolver });
    expect(results).toHaveLength(10);
    expect(results.every((r) => r.ok)).toBe(true);
    expect(resolver.calls.filter((c) => c.startsWith('A '))).toHaveLength(10);
  });

  test('at most 4 SMTP connections of one mx:// target at once, and no MaxListenersExceededWarning on the run\'s signal', async () => {
    const smtp = await slowBanner(30);
    const resolver = fakeResolver(bigDomain(40));
    const warnings: string[] = [];
    const onWarning = (w: Error): void => void warnings.push(`${w.name}: ${w.message}`);
    process.on('warning', onWarning);
    try {
      const plan = { ...defaultsPlan(smtp.port), mx: { maxHosts: 40 } };
      const shutdown = new AbortController();
      const runOne = counted();
      const results = await runTarget(plan, { ...systemDeps(shutdown.signal), mxResolver: () => resolver }, runOne);
      await new Promise((r) => setImmediate(r)); // warnings are emitted on the next tick
      expect(results).toHaveLength(40);
      expect(results.filter((r) => !r.ok).map((r) => r.failure)).toEqual([]);
      expect(smtp.connections).toBe(40);
      expect(runOne.maxAtOnce).toBe(4);
      expect(warnings.filter((w) => w.startsWith('MaxListenersExceededWarning'))).toEqual([]);
    } finally {
      process.off('warning', onWarning);
    }
  });

  test('hosts waiting for a slot share the run\'s deadline: the target run still ends within its timeout', async () => {
    const smtp = await slowBanner(null); // never sends a banner
    const resolver = fakeResolver(bigDomain(12));
    const plan = { ...defaultsPlan(smtp.port), mx: { maxHosts: 12 }, phaseTimeoutMs: 300, timeoutMs: 700 };
    const runOne = counted();
    const t0 = performance.now();
    const results = await runTarget(plan, { ...systemDeps(), mxResolver: () => resolver }, runOne);
    const took = performance.now() - t0;
    expect(took).toBeLessThan(plan.timeoutMs + 250);
    expect(results.map((r) => r.mx?.host)).toEqual(Object.keys(bigDomain(12)).slice(1));
    for (const r of results) expect(r.failure?.reason).toBe('timeout');
    expect(runOne.maxAtOnce).toBe(4);
    // The third wave had no time left: it never connected, and says why.
    const late = results.filter((r) => /before its turn/.test(r.failure?.message ?? ''));
    expect(late.length).toBeGreaterThan(0);
    expect(smtp.connections).toBe(12 - late.length);
  });
});
