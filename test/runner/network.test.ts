/** Address families, source addresses, DNS as its own phase, and retries, over real loopback sockets. */
import net from 'node:net';
import { afterEach, describe, expect, test } from 'vitest';
import { makePlan } from '../../src/plan/build.js';
import { runCheck, runWithRetries, systemDeps, type RunDeps } from '../../src/runner/run.js';

/** A minimal SMTP responder that records the peer address of each connection. */
function responder(host: string): Promise<{ port: number; peers: string[]; server: net.Server }> {
  const peers: string[] = [];
  const server = net.createServer((s) => {
    peers.push(s.remoteAddress ?? '');
    s.write('220 ready\r\n');
    s.on('data', (d) => {
      for (const line of d.toString().split('\r\n').filter(Boolean)) {
        if (/^EHLO/i.test(line)) s.write('250-hi\r\n250 PIPELINING\r\n');
        else if (/^QUIT/i.test(line)) s.end('221 bye\r\n');
        else s.write('250 ok\r\n');
      }
    });
    s.on('error', () => undefined);
  });
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, host, () => resolve({ port: (server.address() as net.AddressInfo).port, peers, server }));
  });
}

const servers: net.Server[] = [];
afterEach(async () => {
  await Promise.all(servers.splice(0).map((s) => new Promise((r) => s.close(r))));
});

const hasIpv6 = await responder('::1')
  .then(({ server }) => new Promise<boolean>((r) => server.close(() => r(true))))
  .catch(() => false);

describe('address families', () => {
  test('IPv4 literal: no dns phase, connect records the address', async () => {
    const s = await responder('127.0.0.1');
    servers.push(s.server);
    const r = await runCheck(makePlan({ host: '127.0.0.1', port: s.port, tls: 'none', steps: ['banner', 'ehlo', 'quit'] }), systemDeps());
    expect(r.ok).toBe(true);
    expect(r.phases[0]).toMatchObject({ phase: 'connect', address: '127.0.0.1' });
    expect(r.phases.some((p) => p.phase === 'dns')).toBe(false);
  });

  test.runIf(hasIpv6)('IPv6 literal', async () => {
    const s = await responder('::1');
    servers.push(s.server);
    const r = await runCheck(makePlan({ host: '::1', port: s.port, tls: 'none', steps: ['banner', 'quit'] }), systemDeps());
    expect(r.ok).toBe(true);
    expect(r.url).toBe(`smtp://[::1]:${s.port}`);
    expect(r.phases[0]).toMatchObject({ phase: 'connect', address: '::1' });
  });

  test('a name is resolved in its own dns phase; --ip 4 asks for IPv4 only', async () => {
    const s = await responder('127.0.0.1');
    servers.push(s.server);
    const asked: (4 | 6 | null)[] = [];
    const deps: RunDeps = { ...systemDeps(), lookup: async (_h, family) => (asked.push(family), ['127.0.0.1']) };
    const r = await runCheck(makePlan({ host: 'mx.example.test', port: s.port, tls: 'none', ipFamily: 4, steps: ['banner', 'quit'] }), deps);
    expect(r.ok).toBe(true);
    expect(asked).toEqual([4]);
    expect(r.phases.map((p) => p.phase)).toEqual(['dns', 'connect', 'banner', 'quit']);
  });

  test('the system resolver: localhost with --ip 4 connects to 127.0.0.1', async () => {
    const s = await responder('127.0.0.1');
    servers.push(s.server);
    const r = await runCheck(makePlan({ host: 'localhost', port: s.port, tls: 'none', ipFamily: 4, steps: ['banner', 'quit'] }), systemDeps());
    expect(r.ok).toBe(true);
    expect(r.phases.find((p) => p.phase === 'connect')?.address).toBe('127.0.0.1');
  });

  test('a literal of the wrong family is refused before connecting', async () => {
    const r = await runCheck(makePlan({ host: '127.0.0.1', port: 25, ipFamily: 6, steps: ['banner'] }), systemDeps());
    expect(r.failure).toMatchObject({ reason: 'dns' });
    expect(r.failure!.message).toMatch(/not an IPv6 address/);
  });

  test('an unresolvable name fails at dns', async () => {
    const deps: RunDeps = {
      ...systemDeps(),
      lookup: () => Promise.reject(Object.assign(new Error('getaddrinfo ENOTFOUND'), { code: 'ENOTFOUND' })),
    };
    const r = await runCheck(makePlan({ host: 'no-such-host.invalid', port: 25, steps: ['banner'] }), deps);
    expect(r.failure).toMatchObject({ phase: 'dns', reason: 'dns' });
    expect(r.failure!.message).toMatch(/no such host/);
  });

  test('a resolver that never answers is abandoned after the phase timeout', async () => {
    const deps: RunDeps = { ...systemDeps(), lookup: () => new Promise<string[]>(() => undefined) };
    const started = Date.now();
    const r = await runCheck(makePlan({ host: 'slow.example.test', port: 25, phaseTimeoutMs: 200, steps: ['banner'] }), deps);
    expect(r.failure).toMatchObject({ phase: 'dns', reason: 'timeout' });
    expect(Date.now() - started).toBeLessThan(3000);
  });

  test('the next address is tried when the first refuses, and the refusal is a warning', async () => {
    const s = await responder('127.0.0.1');
    servers.push(s.server);
    const deps: RunDeps = { ...systemDeps(), lookup: async () => ['127.0.0.3', '127.0.0.1'] };
    const r = await runCheck(makePlan({ host: 'two.example.test', port: s.port, tls: 'none', steps: ['banner', 'quit'] }), deps);
    expect(r.ok).toBe(true);
    expect(r.phases.find((p) => p.phase === 'connect')?.address).toBe('127.0.0.1');
    expect(r.warnings.join()).toMatch(/127\.0\.0\.3.*refused/);
  });
});

describe('source address', () => {
  test('--source-address binds the local end', async () => {
    const s = await responder('127.0.0.1');
    servers.push(s.server);
    const r = await runCheck(
      makePlan({ host: '127.0.0.1', port: s.port, tls: 'none', sourceAddress: '127.0.0.2', steps: ['banner', 'quit'] }),
      systemDeps(),
    );
    expect(r.ok).toBe(true);
    expect(s.peers).toEqual(['127.0.0.2']);
  });
});

describe('retries', () => {
  test('a failed check is run again up to N more times; attempts and earlier failures are reported', async () => {
    const r = await runWithRetries(makePlan({ host: '127.0.0.1', port: 1, steps: ['banner'] }), systemDeps(), 2, 10);
    expect(r.ok).toBe(false);
    expect(r.attempts).toBe(3);
    expect(r.warnings.filter((w) => /^attempt \d failed at connect/.test(w))).toHaveLength(2);
  });

  test('a passing check runs once', async () => {
    const s = await responder('127.0.0.1');
    servers.push(s.server);
    const r = await runWithRetries(makePlan({ host: '127.0.0.1', port: s.port, tls: 'none', steps: ['banner', 'quit'] }), systemDeps(), 3, 10);
    expect(r.attempts).toBe(1);
    expect(s.peers).toHaveLength(1);
  });
});
