/**
 * The worker pool on its own (the built worker, dist/src/pool/worker.js), against real servers on 127.0.0.1:
 * the same records as in-thread runs, sticky targets, aborts passed on, a worker that crashes or hangs (its runs
 * end `internal`, a new thread serves the next run), and stop (no thread left).
 */
import { setMaxListeners } from 'node:events';
import { writeFileSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterEach, describe, expect, test } from 'vitest';
import { systemClock } from '../../src/core/clock.js';
import type { CheckPlan } from '../../src/core/plan.js';
import type { CheckResult } from '../../src/core/result.js';
import { createLogger } from '../../src/log.js';
import { WorkerPool, type PoolOptions } from '../../src/pool/pool.js';
import { runTarget } from '../../src/runner/mx.js';
import { runCheck, systemDeps } from '../../src/runner/run.js';
import { testCa } from '../helpers/certs.js';
import { closeAll } from '../helpers/cleanup.js';
import { builtWorkerUrl } from '../helpers/daemon.js';
import { startFakeMx } from '../helpers/fake-mx.js';
import { authPlan, localPlan, trustedTls } from '../helpers/plans.js';
import { startScriptedServer, type ScriptedServer } from '../helpers/scripted-server.js';

const pools: WorkerPool[] = [];
afterEach(async () => {
  await Promise.all(pools.splice(0).map((p) => p.stop(500)));
  await closeAll();
});

function pool(over: Partial<PoolOptions> = {}): WorkerPool {
  const p = new WorkerPool({ size: 2, clock: systemClock, logger: createLogger('silent'), workerUrl: builtWorkerUrl(), testHooks: true, ...over });
  pools.push(p);
  return p;
}

async function until(what: () => boolean, ms = 5000): Promise<void> {
  for (const end = Date.now() + ms; !what(); await new Promise((r) => setTimeout(r, 20))) {
    if (Date.now() > end) throw new Error('condition not met in time');
  }
}

/** A record without what differs between two runs of one plan: times, the probe and message ids. */
function comparable(r: CheckResult): unknown {
  let text = JSON.stringify(r).replaceAll(r.probeId, 'PROBE-ID');
  if (r.messageId) text = text.replaceAll(r.messageId, 'MESSAGE-ID');
  const o = JSON.parse(text) as Record<string, unknown> & { phases: Record<string, unknown>[]; transcript?: Record<string, unknown>[] };
  delete o.startedAt;
  delete o.durationMs;
  for (const p of o.phases) delete p.durationMs;
  for (const l of o.transcript ?? []) delete l.t;
  return o;
}

/** A server that accepts and never says a word: a run holds at the banner until its deadline or an abort. */
const silent = (): Promise<ScriptedServer> => startScriptedServer([{ silence: true }]);
const held = (port: number, over: Partial<CheckPlan> = {}): CheckPlan => localPlan(port, { timeoutMs: 8000, phaseTimeoutMs: 6000, ...over });
const never = (): AbortSignal => new AbortController().signal;

describe('the same records as in-thread runs', () => {
  test('STARTTLS, AUTH and a message with a Buffer CA and a banner RegExp; a banner that does not match; a refused port', async () => {
    const mx = await startFakeMx({ users: { probe: 's3cret' } });
    const p = pool();
    const tlsParams = { ...trustedTls(), ca: Buffer.from(testCa().cert) };
    const base = { tls: 'starttls' as const, tlsParams, auth: authPlan('probe', 's3cret'), transcript: true };
    const plans: CheckPlan[] = [
      localPlan(mx.port, { ...base, bannerPattern: /fake-mx ready/, send: { from: 'probe@example.test', to: ['a@example.test'], deliver: true, subject: 's', body: 'b\r\n', headers: {}, size: null } }),
      localPlan(mx.port, { ...base, bannerPattern: /^220 nothing like this/ }),
      localPlan(1, { tls: 'none' }),
    ];
    for (const plan of plans) {
      const inThread = await runCheck(plan, systemDeps());
      const viaProbe = await p.runCheck(plan, never());
      const viaTarget = (await p.runTarget('t', plan, never())).results;
      const targetInThread = await runTarget(plan, systemDeps());
      expect(comparable(viaProbe)).toEqual(comparable(inThread));
      expect(viaTarget.map(comparable)).toEqual(targetInThread.map(comparable));
    }
    const [ok, badBanner] = [await p.runCheck(plans[0]!, never()), await p.runCheck(plans[1]!, never())];
    expect(ok.ok).toBe(true);
    expect(ok.tls?.verified).toBe(true);
    expect(ok.messageId).not.toBeNull();
    expect(badBanner.failure).toMatchObject({ phase: 'banner', reason: 'expectation' });
    expect(mx.received.length).toBe(5);
  });
});

describe('routing and aborts', () => {
  test('a scheduled target always runs on its own worker; /probe runs go to the least busy one', async () => {
    const server = await silent();
    const p = pool();
    const names = ['a', 'b', 'c', 'd', 'e', 'f', 'g', 'h'];
    const stop = new AbortController();
    setMaxListeners(names.length + 4, stop.signal); // one signal for twelve runs here; the daemon gives each run its own
    const runs = names.map((n) => p.runTarget(n, held(server.port), stop.signal));
    await until(() => server.connections.length === names.length);
    const expected = [0, 1].map((i) => names.filter((n) => p.slotOf(n) === i).length);
    expect(p.busy()).toEqual(expected);
    expect(names.map((n) => p.slotOf(n))).toEqual(names.map((n) => p.slotOf(n))); // stable
    const probes = [1, 2, 3, 4].map(() => p.runCheck(held(server.port), stop.signal));
    await until(() => server.connections.length === names.length + 4);
    // Each /probe run went to the less busy worker.
    const want = [...expected];
    for (let i = 0; i < 4; i += 1) want[want[0]! <= want[1]! ? 0 : 1]! += 1;
    expect([...p.busy()].sort()).toEqual(want.sort());
    const t0 = Date.now();
    stop.abort();
    const results = [...(await Promise.all(runs)).flatMap((r) => r.results), ...(await Promise.all(probes))];
    expect(Date.now() - t0).toBeLessThan(3000);
    // Aborted in the worker: each run's own result, not a lost one.
    for (const r of results) expect(r.failure).toMatchObject({ phase: 'banner', reason: 'timeout' });
    expect(p.busy()).toEqual([0, 0]);
  });
});

describe('a worker that dies or hangs', () => {
  test.each([
    ['exits', 'exit', /ended during the run: the thread exited with code 3/],
    ['throws an uncaught exception', 'throw', /ended during the run: test hook: an uncaught exception in the worker/],
    ['is terminated', 'terminate', /ended during the run: the thread exited with code 1/],
  ] as const)('a worker that %s: its runs end internal at once, a new thread serves the next run', async (_what, how, message) => {
    const server = await silent();
    const mx = await startFakeMx();
    const p = pool();
    const slot = p.slotOf('victim');
    const victimThread = p.threadIds()[slot];
    const other = ['x1', 'x2', 'x3', 'x4', 'x5'].find((n) => p.slotOf(n) !== slot)!;
    const t0 = Date.now();
    const victim = p.runTarget('victim', held(server.port), never());
    const bystander = p.runTarget(other, held(server.port, { timeoutMs: 1500, phaseTimeoutMs: 1000 }), never());
    await until(() => server.connections.length === 2);
    if (how === 'terminate') await p.terminate(slot);
    else p.testHook(slot, how);
    const lost = (await victim).results;
    expect(Date.now() - t0).toBeLessThan(4000);
    expect(lost).toHaveLength(1);
    expect(lost[0]).toMatchObject({ target: held(server.port).name, ok: false, failure: { phase: 'connect', reason: 'internal' } });
    expect(lost[0]!.failure!.message).toMatch(new RegExp(`^worker ${slot} \\(thread \\d+\\) ${message.source}`));
    // The other worker's run is untouched: its own result (the banner never came).
    expect((await bystander).results[0]!.failure).toMatchObject({ phase: 'banner', reason: 'timeout' });
    await until(() => p.threads() === 2);
    expect(p.threadIds()[slot]).not.toBe(victimThread);
    const next = await p.runTarget('victim', localPlan(mx.port), never());
    expect(next.results[0]!.ok).toBe(true);
  });

  test('a worker that holds its event loop: the watchdog ends its run internal, the unanswered ping replaces it', async () => {
    const server = await silent();
    const mx = await startFakeMx();
    const p = pool({ watchdogMarginMs: 200, pingTimeoutMs: 300 });
    const slot = p.slotOf('stuck');
    const stuckThread = p.threadIds()[slot];
    const t0 = Date.now();
    const run = p.runTarget('stuck', localPlan(server.port, { timeoutMs: 300, phaseTimeoutMs: 200 }), never());
    await until(() => server.connections.length === 1);
    p.testHook(slot, 'hang', 10_000);
    const lost = (await run).results[0]!;
    expect(lost.failure).toMatchObject({ phase: 'connect', reason: 'internal', message: `worker ${slot} (thread ${lost.failure!.message.match(/thread (\d+)/)![1]}) did not answer within 700 ms` });
    // The stuck thread is terminated and replaced: the next run is served long before the 10 s hang would end.
    await until(() => p.threadIds()[slot] !== stuckThread && p.threadIds()[slot] !== -1);
    expect((await p.runTarget('stuck', localPlan(mx.port), never())).results[0]!.ok).toBe(true);
    expect(Date.now() - t0).toBeLessThan(5000);
    expect(p.threads()).toBe(2);
  });

  test('a worker entry that fails to load: runs end internal with its error, one thread per run and no restart loop', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'smtp-probe-pool-'));
    writeFileSync(join(dir, 'worker.js'), "throw new Error('this worker cannot start');\n");
    const p = pool({ size: 1, workerUrl: pathToFileURL(join(dir, 'worker.js')) });
    const r = await p.runCheck(localPlan(1), never());
    expect(r.failure).toMatchObject({ reason: 'internal', message: expect.stringMatching(/^worker 0 \(thread \d+\) ended during the run: this worker cannot start/) });
    await new Promise((resolve) => setTimeout(resolve, 200));
    expect(p.threads()).toBe(0);
    expect((await p.runCheck(localPlan(1), never())).failure?.reason).toBe('internal');
  });

  test('a run that cannot be handed over (not plain data) ends internal instead of rejecting; the worker goes on', async () => {
    const mx = await startFakeMx();
    const p = pool();
    const odd = { ...localPlan(mx.port), name: 'odd', extra: () => 'a function does not clone' } as CheckPlan;
    const r = await p.runTarget('odd', odd, never());
    expect(r.results[0]!.failure).toMatchObject({ reason: 'internal', message: expect.stringMatching(/^worker \d: the run could not be handed over: .*could not be cloned/) });
    expect((await p.runCheck(odd, never())).failure?.reason).toBe('internal');
    expect((await p.runTarget('odd', localPlan(mx.port), never())).results[0]!.ok).toBe(true);
    expect(p.busy()).toEqual([0, 0]);
  });

  test('a missing worker entry is a clear error when the pool is made', () => {
    expect(() => pool({ workerUrl: pathToFileURL('/nonexistent/worker.js') })).toThrow(/worker pool's thread entry \/nonexistent\/worker\.js is missing/);
  });
});

describe('stop', () => {
  test('runs still held after the settle time end internal; every thread ends; later runs are refused', async () => {
    const server = await silent();
    const p = pool();
    const runs = [p.runTarget('a', held(server.port), never()), p.runCheck(held(server.port), never())];
    await until(() => server.connections.length === 2);
    const t0 = Date.now();
    await p.stop(300);
    expect(Date.now() - t0).toBeLessThan(2000);
    expect(p.threads()).toBe(0);
    const [target, probe] = await Promise.all(runs);
    for (const r of [(target as { results: CheckResult[] }).results[0]!, probe as CheckResult]) {
      expect(r.failure).toMatchObject({ reason: 'internal', message: expect.stringMatching(/ended during the run: the worker pool stopped$/) });
    }
    expect((await p.runCheck(held(server.port), never())).failure?.message).toBe('the worker pool is stopping');
  });

  test('runs that finish within the settle time come back whole', async () => {
    const server = await silent();
    const p = pool();
    const run = p.runCheck(localPlan(server.port, { timeoutMs: 400, phaseTimeoutMs: 300 }), never());
    await until(() => server.connections.length === 1);
    await p.stop(3000);
    expect((await run).failure).toMatchObject({ phase: 'banner', reason: 'timeout' });
    expect(p.threads()).toBe(0);
  });
});
