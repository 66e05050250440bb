/**
 * Capacity runs against in-process servers on 127.0.0.1 (port 0): what each session sends and when, how it ends,
 * the counts, the percentiles, the first 421, timeouts, refusals and an interrupt mid-run.
 */
import net from 'node:net';
import { afterEach, describe, expect, test } from 'vitest';
import { runCapacity, summarize } from '../../src/capacity/run.js';
import type { CapacityPlan, CapacityReport } from '../../src/core/capacity.js';
import { systemClock } from '../../src/core/clock.js';
import { serverCert, testCa, TEST_SERVER_NAME } from '../helpers/certs.js';
import { closeAll } from '../helpers/cleanup.js';
import { startScriptedServer, type ScriptStep, type ScriptedServer } from '../helpers/scripted-server.js';

afterEach(closeAll);

const target = { address: '127.0.0.1', loopback: true };

function plan(port: number, over: Partial<CapacityPlan> = {}): CapacityPlan {
  return {
    url: `smtp://127.0.0.1:${port}`, host: '127.0.0.1', port, implicitTls: false,
    tlsParams: { servername: TEST_SERVER_NAME, ca: testCa().cert, insecure: false }, requireVerified: true,
    ehlo: 'probe.test', ipFamily: null, sourceAddress: null, phaseTimeoutMs: 2000, sessionTimeoutMs: 5000,
    sessions: 1, until: 'ehlo', durationMs: 200, ratePerSecond: null, ...over,
  };
}

const run = (p: CapacityPlan, signal?: AbortSignal): Promise<CapacityReport> =>
  runCapacity(p, target, { ...systemClock, ...(signal ? { signal } : {}) });

const GREETING: ScriptStep = { send: '220 cap.test ESMTP\r\n' };
const EHLO_OK: ScriptStep[] = [{ expect: /^EHLO probe\.test$/ }, { send: '250-cap.test\r\n250-PIPELINING\r\n250 STARTTLS\r\n' }];
const QUIT: ScriptStep[] = [{ expect: /^QUIT$/ }, { send: '221 2.0.0 bye\r\n' }, { close: true }];

async function until(what: () => boolean, ms = 5000): Promise<void> {
  for (const end = Date.now() + ms; !what(); await new Promise((r) => setTimeout(r, 5))) {
    if (Date.now() > end) throw new Error('condition not met in time');
  }
}

describe('a healthy server', () => {
  test('sessions repeat until the duration, each greeting awaited before EHLO, then QUIT; all accepted', async () => {
    // Each connection records what the client sent before the greeting, which comes 30 ms after the connect.
    const before: number[] = [];
    const s = await startScriptedServer([
      { delay: 30 }, { run: (c) => void before.push(Buffer.concat(c.raw).length) }, GREETING, ...EHLO_OK, ...QUIT,
    ]);
    const r = await run(plan(s.port, { sessions: 2, durationMs: 300 }));
    expect(r.ok).toBe(true);
    expect(r.failure).toBeNull();
    // More sessions than slots: each slot ran one after another for the duration.
    expect(r.started).toBeGreaterThan(2);
    expect(r.started).toBe(s.connections.length);
    expect(r.results).toEqual({ accepted: r.started, refused: 0, '421': 0, '4xx': 0, '5xx': 0, timeout: 0, error: 0 });
    expect(before).toHaveLength(r.started);
    expect(before.every((n) => n === 0)).toBe(true);
    for (const c of s.connections) {
      expect(c.commands()).toEqual(['EHLO probe.test', 'QUIT']);
      // EHLO after the greeting's write, QUIT after EHLO's reply: nothing pipelined.
      expect(c.lines.map((l) => l.writesBefore)).toEqual([1, 2]);
    }
    expect(Object.keys(r.phases)).toEqual(['connect', 'banner_first_byte', 'banner', 'ehlo']);
    const banner = r.phases.banner!;
    expect(banner.count).toBe(r.started);
    expect(banner.p50Ms).toBeGreaterThanOrEqual(25);
    expect(banner.p50Ms).toBeLessThanOrEqual(banner.p95Ms);
    expect(banner.p95Ms).toBeLessThanOrEqual(banner.maxMs);
    expect(r.stoppedBy421).toBeNull();
    expect(r.problems).toEqual([]);
    expect(r.elapsedMs).toBeGreaterThanOrEqual(300);
  });

  test('until banner: the greeting, then QUIT; no EHLO', async () => {
    const s = await startScriptedServer([GREETING, ...QUIT]);
    const r = await run(plan(s.port, { until: 'banner', durationMs: 50 }));
    expect(r.ok).toBe(true);
    expect(s.commands().every((c) => c === 'QUIT')).toBe(true);
    expect(Object.keys(r.phases)).toEqual(['connect', 'banner_first_byte', 'banner']);
  });

  test('until starttls: STARTTLS, the handshake verified against the CA, then QUIT over TLS; tls timed', async () => {
    const s = await startScriptedServer([
      GREETING, ...EHLO_OK, { expect: /^STARTTLS$/ }, { send: '220 2.0.0 go ahead\r\n' }, { starttls: serverCert() }, ...QUIT,
    ]);
    const r = await run(plan(s.port, { until: 'starttls', durationMs: 50 }));
    expect(s.errors()).toEqual([]);
    expect(r.results.accepted).toBe(r.started);
    expect(r.phases.tls?.count).toBe(r.started);
    expect(s.conn.lines.find((l) => l.text === 'QUIT')?.tls).toBe(true);
  });

  test('until starttls: a certificate that does not verify ends the session (error), unless insecure', async () => {
    const script: ScriptStep[] = [
      GREETING, ...EHLO_OK, { expect: /^STARTTLS$/ }, { send: '220 2.0.0 go ahead\r\n' }, { starttls: serverCert() }, ...QUIT,
    ];
    const s = await startScriptedServer(script);
    const strict = await run(plan(s.port, { until: 'starttls', durationMs: 50, tlsParams: { servername: TEST_SERVER_NAME, insecure: false } }));
    expect(strict.results.error).toBe(strict.started);
    expect(strict.problems[0]).toMatchObject({ result: 'error', phase: 'tls' });
    expect(strict.problems[0]!.message).toMatch(/^certificate not verified: /);
    expect(strict.ok).toBe(false);
    const lax = await run(plan(s.port, { until: 'starttls', durationMs: 50, requireVerified: false, tlsParams: { servername: TEST_SERVER_NAME, insecure: true } }));
    expect(lax.results.accepted).toBe(lax.started);
    expect(lax.ok).toBe(true);
  });

  test('the first sessions start staggered, not all at once', async () => {
    const at: number[] = [];
    const s = await startScriptedServer([{ run: () => void at.push(Date.now()) }, GREETING, ...EHLO_OK, { delay: 300 }, ...QUIT]);
    const r = await run(plan(s.port, { sessions: 3, durationMs: 60 }));
    expect(r.started).toBe(3);
    expect(s.connections).toHaveLength(3);
    // 25 ms apart: the third starts about 50 ms after the first.
    expect(at[2]! - at[0]!).toBeGreaterThanOrEqual(40);
  });

  test('--rate: sessions start no faster than the rate over all slots', async () => {
    const at: number[] = [];
    const s = await startScriptedServer([{ run: () => void at.push(Date.now()) }, GREETING, ...EHLO_OK, ...QUIT]);
    const r = await run(plan(s.port, { sessions: 4, durationMs: 500, ratePerSecond: 20 }));
    // 20 per second for 500 ms: starts due at 0, 50, ... 450 ms (a busy machine may start the last ones late).
    expect(r.started).toBeLessThanOrEqual(10);
    expect(r.started).toBeGreaterThanOrEqual(8);
    expect(at).toHaveLength(r.started);
    const gaps = at.slice(1).map((t, i) => t - at[i]!);
    expect(Math.min(...gaps)).toBeGreaterThanOrEqual(35);
    expect(at.at(-1)! - at[0]!).toBeGreaterThanOrEqual(50 * (r.started - 1) - 5);
    expect(r.ratePerSecond).toBe(20);
  });

  test('many sessions at once: no MaxListenersExceededWarning from the signals they all listen to', async () => {
    const warnings: string[] = [];
    const onWarning = (w: Error): void => void warnings.push(w.name);
    process.on('warning', onWarning);
    try {
      const s = await startScriptedServer([GREETING, ...EHLO_OK, ...QUIT]);
      const r = await run(plan(s.port, { sessions: 20, durationMs: 600 }));
      expect(r.results.accepted).toBe(r.started);
      // A warning is emitted on the next turn of the event loop.
      await new Promise((resolve) => setImmediate(resolve));
    } finally {
      process.off('warning', onWarning);
    }
    expect(warnings).toEqual([]);
  });

  test('maxConcurrentOk: sessions open at once past their greeting', async () => {
    // The server holds the EHLO of the first three connections until all three have sent one: three are then open
    // past the greeting at once. Later connections are answered at once.
    const waiting: (() => void)[] = [];
    const hold: ScriptStep = {
      run: () => new Promise<void>((resolve) => {
        waiting.push(resolve);
        if (waiting.length === 3) for (const w of waiting.splice(0)) w();
      }),
    };
    const s = await startScriptedServer([], {
      scriptFor: (i) => [GREETING, { expect: /^EHLO / }, ...(i < 3 ? [hold] : []), { send: '250 cap.test\r\n' }, ...QUIT],
    });
    const r = await run(plan(s.port, { sessions: 3, durationMs: 100 }));
    expect(r.maxConcurrentOk).toBe(3);
    expect(r.results.accepted).toBe(r.started);
  });
});

describe('the first 421', () => {
  test('stops every slot from starting another; the sessions going finish; reported with the sessions open then', async () => {
    // Connections 1 and 2 are served slowly (EHLO answered after 500 ms); the third gets 421 and is closed.
    const s = await startScriptedServer([], {
      scriptFor: (i) => i < 2
        ? [GREETING, { expect: /^EHLO / }, { delay: 500 }, { send: '250 cap.test\r\n' }, ...QUIT]
        : [{ send: '421 4.7.0 cap.test Error: too many connections from 127.0.0.1\r\n' }, { close: true }],
    });
    // 5 slots at 10 per second: starts due at 0, 100, 200 (the 421), 300, 400 ms; the last two never come.
    const r = await run(plan(s.port, { sessions: 5, durationMs: 5000, ratePerSecond: 10 }));
    expect(r.stoppedBy421).toMatchObject({
      phase: 'banner', reply: '421 4.7.0 cap.test Error: too many connections from 127.0.0.1', openSessions: 2, okSessions: 2,
    });
    expect(r.stoppedBy421!.atMs).toBeGreaterThanOrEqual(190);
    expect(r.started).toBe(3);
    expect(s.connections).toHaveLength(3);
    expect(r.results).toEqual({ accepted: 2, refused: 0, '421': 1, '4xx': 0, '5xx': 0, timeout: 0, error: 0 });
    expect(r.maxConcurrentOk).toBe(2);
    expect(r.ok).toBe(false);
    expect(r.elapsedMs).toBeLessThan(2000);
    expect(r.problems).toEqual([{ result: '421', phase: 'banner', message: '421 4.7.0 cap.test Error: too many connections from 127.0.0.1', count: 1 }]);
    // Phases are timed over the sessions that got the answer wanted: the 421 greeting is not a banner time.
    expect(r.phases.connect?.count).toBe(3);
    expect(r.phases.banner?.count).toBe(2);
    expect(r.phases.banner_first_byte?.count).toBe(2);
  });

  test('a 421 to EHLO stops the run too, in phase ehlo; a session refused after its greeting is not counted as open past it', async () => {
    const s = await startScriptedServer([GREETING, { expect: /^EHLO / }, { send: '421 4.3.2 cap.test service shutting down\r\n' }, { close: true }]);
    const r = await run(plan(s.port, { sessions: 1, durationMs: 5000 }));
    expect(r.stoppedBy421).toMatchObject({ phase: 'ehlo', openSessions: 0, okSessions: 0 });
    expect(r.started).toBe(1);
    expect(r.results['421']).toBe(1);
    expect(r.phases.ehlo).toBeUndefined();
  });

  test('other refusals do not stop the run: 554 greeting (5xx), 450 to EHLO (4xx)', async () => {
    const s5 = await startScriptedServer([{ send: '554 5.7.1 no service here\r\n' }, ...QUIT]);
    const r5 = await run(plan(s5.port, { sessions: 1, durationMs: 150 }));
    expect(r5.started).toBeGreaterThan(1);
    expect(r5.results['5xx']).toBe(r5.started);
    expect(r5.stoppedBy421).toBeNull();
    expect(r5.problems).toEqual([{ result: '5xx', phase: 'banner', message: '554 5.7.1 no service here', count: r5.started }]);
    // Refused politely: QUIT, not a dropped connection.
    for (const c of s5.connections) expect(c.commands()).toEqual(['QUIT']);
    const s4 = await startScriptedServer([GREETING, { expect: /^EHLO / }, { send: '450 4.7.1 try later\r\n' }, ...QUIT]);
    const r4 = await run(plan(s4.port, { sessions: 1, durationMs: 150 }));
    expect(r4.results['4xx']).toBe(r4.started);
    expect(r4.started).toBeGreaterThan(1);
  });
});

describe('sessions that fail', () => {
  test('a greeting that never comes: timeout at the phase timeout, counted per session', async () => {
    const s = await startScriptedServer([{ silence: true }]);
    const r = await run(plan(s.port, { sessions: 2, durationMs: 40, phaseTimeoutMs: 200 }));
    expect(r.started).toBe(2);
    expect(r.results.timeout).toBe(2);
    expect(r.problems).toEqual([{ result: 'timeout', phase: 'banner', message: 'no reply within 200 ms during banner', count: 2 }]);
    expect(r.phases.connect?.count).toBe(2);
    expect(r.phases.banner).toBeUndefined();
    expect(r.ok).toBe(false);
  });

  test('a greeting sent slowly: its first byte and the whole line are timed apart', async () => {
    // "220 slow.test ESMTP\r\n" in 4-byte writes 40 ms apart: the last arrives ~200 ms after the first.
    const s = await startScriptedServer([{ send: '220 slow.test ESMTP\r\n', chunkBytes: 4, gapMs: 40 }, ...QUIT]);
    const r = await run(plan(s.port, { until: 'banner', durationMs: 10 }));
    expect(r.started).toBe(1);
    expect(r.results.accepted).toBe(1);
    expect(r.phases.banner_first_byte!.maxMs).toBeLessThan(100);
    expect(r.phases.banner!.p50Ms).toBeGreaterThanOrEqual(180);
  });

  test('a server that closes at once, and a port nobody listens on: refused', async () => {
    const s = await startScriptedServer([{ close: true }]);
    const closed = await run(plan(s.port, { durationMs: 40 }));
    expect(closed.results.refused).toBe(closed.started);
    expect(closed.started).toBeGreaterThan(0);
    const port = await new Promise<number>((resolve) => {
      const srv = net.createServer().listen(0, '127.0.0.1', () => {
        const p = (srv.address() as net.AddressInfo).port;
        srv.close(() => resolve(p));
      });
    });
    const refused = await run(plan(port, { durationMs: 40 }));
    expect(refused.results.refused).toBe(refused.started);
    expect(refused.problems[0]).toMatchObject({ result: 'refused', phase: 'connect', message: `connection refused by 127.0.0.1:${port}` });
    expect(refused.phases).toEqual({});
  });

  test('STARTTLS not offered, until starttls: error in tls, no STARTTLS sent', async () => {
    const s = await startScriptedServer([GREETING, { expect: /^EHLO / }, { send: '250 cap.test\r\n' }, ...QUIT]);
    const r = await run(plan(s.port, { until: 'starttls', durationMs: 10 }));
    expect(r.results.error).toBe(r.started);
    expect(r.problems[0]).toMatchObject({ phase: 'tls', message: 'STARTTLS not offered in the EHLO reply', count: r.started });
    for (const c of s.connections) expect(c.commands()).toEqual(['EHLO probe.test', 'QUIT']);
  });
});

describe('an interrupt mid-run', () => {
  test('ends every session at once, closes every socket, starts no more; the report says interrupted', async () => {
    const s: ScriptedServer = await startScriptedServer([GREETING, { expect: /^EHLO / }, { silence: true }]);
    const controller = new AbortController();
    const pending = run(plan(s.port, { sessions: 3, durationMs: 60_000, phaseTimeoutMs: 30_000, sessionTimeoutMs: 60_000 }), controller.signal);
    await until(() => s.connections.length === 3 && s.connections.every((c) => c.lines.length === 1));
    const t0 = Date.now();
    controller.abort();
    const r = await pending;
    expect(Date.now() - t0).toBeLessThan(1000);
    await Promise.all(s.connections.map((c) => c.whenClosed()));
    expect(s.connections.every((c) => c.closed)).toBe(true);
    expect(s.connections).toHaveLength(3);
    expect(r.interrupted).toBe(true);
    expect(r.ok).toBe(false);
    expect(r.started).toBe(3);
    // Sessions cut short are in no result.
    expect(Object.values(r.results).every((n) => n === 0)).toBe(true);
    expect(r.maxConcurrentOk).toBe(3);
  });
});

describe('summarize', () => {
  test('nearest rank: p50 and p95 are values some session took; max is the largest; the mean', () => {
    const hundred = Array.from({ length: 100 }, (_, i) => 100 - i);
    expect(summarize(hundred)).toEqual({ count: 100, meanMs: 50.5, p50Ms: 50, p95Ms: 95, maxMs: 100 });
    expect(summarize([7])).toEqual({ count: 1, meanMs: 7, p50Ms: 7, p95Ms: 7, maxMs: 7 });
    expect(summarize([1, 2, 3, 40])).toEqual({ count: 4, meanMs: 11.5, p50Ms: 2, p95Ms: 40, maxMs: 40 });
  });
});
