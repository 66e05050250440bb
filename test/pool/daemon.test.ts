/**
 * The daemon with a worker pool (workers: 2, the built worker): scheduled runs become metrics, /probe (also with
 * debug=true), stop with runs in flight (results come back, no thread is left, the process exits by itself),
 * reload while runs are in flight, and a round-trip target whose tracker stays on its worker.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, test } from 'vitest';
import type { CheckResult } from '../../src/core/result.js';
import type { Daemon, DaemonOptions } from '../../src/daemon/daemon.js';
import { testCa } from '../helpers/certs.js';
import { closeAll } from '../helpers/cleanup.js';
import { builtWorkerUrl, startTestDaemon } from '../helpers/daemon.js';
import { startFakeMx, type FakeMx } from '../helpers/fake-mx.js';
import { startScriptedServer, type ScriptedServer } from '../helpers/scripted-server.js';
import { startFakePop3 } from './pop3-server.js';

let dir: string;
let mx: FakeMx;
let quiet: ScriptedServer;
const daemons: Daemon[] = [];

beforeAll(() => {
  builtWorkerUrl(); // fails here, clearly, when dist/ is not built
  dir = mkdtempSync(join(tmpdir(), 'smtp-probe-pool-'));
  writeFileSync(join(dir, 'ca.pem'), testCa().cert);
  writeFileSync(join(dir, 'mailbox-password'), 'box-secret\n');
});
afterAll(async () => {
  await closeAll();
});
afterEach(async () => {
  await Promise.all(daemons.splice(0).map((d) => d.stop(500)));
  await closeAll();
});

async function servers(): Promise<void> {
  mx = await startFakeMx();
  quiet = await startScriptedServer([{ silence: true }]);
}

const MODULES = (): string => `modules:
  starttls:
    tls: starttls
    tls_config: { ca_file: ${join(dir, 'ca.pem')}, server_name: mail.example.test }
  plain: { tls: none }
  slow: { tls: none, timeout: 3s, phase_timeout: 3s }`;

async function start(text: string, over: Partial<DaemonOptions> = {}): Promise<{ d: Daemon; base: string; file: string; results: CheckResult[] }> {
  const file = join(dir, `config-${Date.now()}-${daemons.length}.yaml`);
  writeFileSync(file, text);
  const t = await startTestDaemon(file, { workers: 2, ...over });
  daemons.push(t.d);
  return { ...t, file };
}

async function until(what: () => boolean | Promise<boolean>, ms = 8000): Promise<void> {
  for (const end = Date.now() + ms; !(await what()); await new Promise((r) => setTimeout(r, 25))) {
    if (Date.now() > end) throw new Error('condition not met in time');
  }
}

const get = async (url: string): Promise<{ status: number; body: string }> => {
  const r = await fetch(url);
  return { status: r.status, body: await r.text() };
};

describe('the daemon on two worker threads', () => {
  test('scheduled runs are recorded as metrics; /probe and /probe?debug=true answer from the workers', async () => {
    await servers();
    const { d, base, results } = await start(`global: { interval: 1s, timeout: 900ms, phase_timeout: 800ms, ehlo: probe.test }
${MODULES()}
targets:
  - { name: a, url: "smtp://127.0.0.1:${mx.port}", module: starttls, labels: { env: test } }
  - { name: down, url: "smtp://127.0.0.1:1", module: plain, labels: { env: test } }
`);
    expect(d.workerPool?.threads()).toBe(2);
    await until(() => new Set(results.map((r) => r.target)).size === 2);
    const m = await get(`${base}/metrics`);
    expect(m.body).toMatch(/^smtp_probe_success\{target="a",env="test"\} 1$/m);
    expect(m.body).toMatch(/^smtp_probe_success\{target="down",env="test"\} 0$/m);
    expect(m.body).toMatch(/^smtp_probe_phase_last_duration_seconds\{target="a",env="test",phase="tls_upgrade"\} [\d.e-]+$/m);
    expect(m.body).toMatch(/^smtp_probe_failures_total\{target="down",env="test",phase="connect",reason="connect"\} [1-9]/m);

    const probe = (q: string): Promise<{ status: number; body: string }> => get(`${base}/probe?target=127.0.0.1:${mx.port}&module=starttls${q}`);
    const many = await Promise.all(Array.from({ length: 8 }, () => probe('')));
    for (const r of many) {
      expect(r.status).toBe(200);
      expect(r.body).toMatch(/^probe_success 1$/m);
      expect(r.body).toMatch(/^probe_tls_version_info\{version="TLSv1\.[23]"\} 1$/m);
    }
    const debug = await probe('&debug=true');
    expect(debug.status).toBe(200);
    expect(debug.body).toMatch(/^Transcript:\n/);
    expect(debug.body).toMatch(/ms C: STARTTLS$/m);
    expect(debug.body).toMatch(/"verified": true/);
    expect(debug.body).toMatch(/^probe_success 1$/m);
  });

  test('stop with a scheduled run and a /probe in flight: both are aborted in their worker, results come back, no thread is left', async () => {
    await servers();
    const { d, base, results } = await start(`global: { interval: 3s, timeout: 3s, phase_timeout: 3s, ehlo: probe.test }
${MODULES()}
targets:
  - { name: held, url: "smtp://127.0.0.1:${quiet.port}", module: plain }
`);
    const pool = d.workerPool!;
    await until(() => quiet.connections.length === 1, 5000); // the scheduled run waits for a banner
    const probe = get(`${base}/probe?target=127.0.0.1:${quiet.port}&module=slow`);
    await until(() => quiet.connections.length === 2);
    const t0 = Date.now();
    await d.stop(200);
    expect(Date.now() - t0).toBeLessThan(2500);
    expect(pool.threads()).toBe(0);
    expect(results).toHaveLength(1);
    expect(results[0]).toMatchObject({ target: 'held', ok: false, failure: { phase: 'banner', reason: 'timeout' } });
    expect(await probe).toEqual({ status: 503, body: 'smtp-probe stopped before the check finished\n' });
  });

  test('a process whose daemon stopped exits by itself: no worker thread keeps it', async () => {
    await servers();
    const file = join(dir, 'exit.yaml');
    writeFileSync(file, `global: { interval: 2s, timeout: 2s, phase_timeout: 2s, workers: 2 }
targets: [ { name: held, url: "smtp://127.0.0.1:${quiet.port}" } ]
`);
    const built = (f: string): string => JSON.stringify(new URL(`../../dist/src/${f}`, import.meta.url).href);
    // The daemon is started, holds a run in flight on a worker, is stopped, and nothing else is done.
    const program = `
import { Daemon } from ${built('daemon/daemon.js')};
import { systemClock } from ${built('core/clock.js')};
import { systemLookup } from ${built('runner/run.js')};
import { createLogger } from ${built('log.js')};
const d = Daemon.create({ configFile: ${JSON.stringify(file)}, env: {}, shard: null, listen: { host: '127.0.0.1', port: 0 },
  clock: systemClock, lookup: systemLookup, logger: createLogger('silent'), version: 'test' });
await d.start();
process.stdout.write('threads ' + d.workerPool.threads() + '\\n');
process.stdin.once('data', async () => {
  process.stdin.destroy();
  await d.stop(200);
  process.stdout.write('stopped, threads ' + d.workerPool.threads() + '\\n');
});
`;
    writeFileSync(join(dir, 'stop-and-exit.mjs'), program);
    const child = spawn(process.execPath, [join(dir, 'stop-and-exit.mjs')], { stdio: ['pipe', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    child.stdout.on('data', (b: Buffer) => (out += b.toString()));
    child.stderr.on('data', (b: Buffer) => (err += b.toString()));
    const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
    try {
      await until(() => out.includes('threads 2') && quiet.connections.length === 1, 8000).catch((e: Error) => {
        throw new Error(`${e.message}: ${quiet.connections.length} connections\n${out}\n${err}`);
      });
      child.stdin.write('stop\n');
      const code = await Promise.race([exited, new Promise<'alive'>((r) => setTimeout(() => r('alive'), 5000))]);
      expect(code, `still running 5 s after stop:\n${out}\n${err}`).toBe(0);
      expect(out).toMatch(/stopped, threads 0\n$/);
    } finally {
      if (child.exitCode === null) child.kill('SIGKILL');
    }
  });

  test('reload while a run is in flight: new targets run, the removed one comes back whole; a changed workers waits for a restart', async () => {
    await servers();
    const config = (workers: number, targets: string): string => `global: { interval: 3s, timeout: 2s, phase_timeout: 2s, ehlo: probe.test, workers: ${workers} }
${MODULES()}
targets:
${targets}`;
    const a = `  - { name: a, url: "smtp://127.0.0.1:${mx.port}", module: plain }\n`;
    const { d, file, results } = await start(config(2, `${a}  - { name: held, url: "smtp://127.0.0.1:${quiet.port}", module: plain }\n`), { workers: undefined });
    const pool = d.workerPool!;
    expect(pool.size).toBe(2);
    await until(() => quiet.connections.length === 1 && results.some((r) => r.target === 'a'));
    writeFileSync(file, config(3, `${a}  - { name: c, url: "smtp://127.0.0.1:${mx.port}", module: plain }\n`));
    const r = await d.reload();
    expect(r).toEqual({ ok: true, message: 'config reloaded: 2 targets; global.workers 3 takes effect at the next restart (running 2)' });
    expect(d.workerPool).toBe(pool);
    expect(pool.threads()).toBe(2);
    await until(() => results.some((x) => x.target === 'c' && x.ok));
    // The run of the removed target was in flight: it ends on its own deadline, with its own result.
    await until(() => results.some((x) => x.target === 'held'));
    expect(results.find((x) => x.target === 'held')).toMatchObject({ ok: false, failure: { phase: 'banner', reason: 'timeout' } });
    expect(pool.threads()).toBe(2);
  });
});

describe('a round-trip target on the pool', () => {
  /** A daemon with one round-trip target `rt` reading a POP3 box fed by the fake MX. */
  async function roundTrip(targets = ['rt']) {
    await servers();
    const pop = await startFakePop3(() => mx.received.map((m) => m.raw.toString('latin1')));
    const results: CheckResult[] = [];
    let missed: (() => void) | null = null;
    const text = (names: string[]): string => `global: { interval: 1s, timeout: 500ms, phase_timeout: 400ms, ehlo: probe.test }
modules:
  rt:
    tls: none
    send: { from: probe@example.test, to: [box@example.test] }
    roundtrip: { mailbox: "pop3://127.0.0.1:${pop.port}", username: box, password_file: ${join(dir, 'mailbox-password')}, allow_plaintext: true, timeout: 300ms, poll_interval: 100ms }
targets:
${names.map((n) => `  - { name: ${n}, url: "smtp://127.0.0.1:${mx.port}", module: rt }`).join('\n')}
`;
    const onResult = (_t: unknown, r: CheckResult): void => {
      results.push(r);
      if (missed && r.target === 'rt' && r.failure?.phase === 'roundtrip') {
        missed();
        missed = null;
      }
    };
    const t = await start(text(targets), { onResult });
    const late = async (): Promise<number | null> => {
      const hit = /^smtp_probe_roundtrip_late_total\{target="rt"\} (\d+)$/m.exec((await get(`${t.base}/metrics`)).body);
      return hit ? Number(hit[1]) : null;
    };
    /** Hide the mailbox until a run of rt gives up on its message (its tracker remembers it), then show it again unless told. */
    const missOne = (reveal = true): Promise<void> =>
      new Promise<void>((resolve) => {
        pop.hold = true;
        missed = () => {
          if (reveal) pop.hold = false;
          resolve();
        };
      });
    return { ...t, results, late, missOne, text, pop };
  }

  test('its tracker lives on its one worker: a message found a run late is counted; a replacement worker carries the count on', async () => {
    const { d, results, late, missOne } = await roundTrip();
    const pool = d.workerPool!;
    await missOne();
    await until(async () => (await late()) === 1); // the next run found the missed message: late, counted by rt's tracker
    expect(results.filter((r) => r.target === 'rt' && r.ok).length).toBeGreaterThan(0);

    const slot = pool.slotOf('rt');
    const before = pool.threadIds()[slot];
    await pool.terminate(slot);
    await until(() => pool.threads() === 2 && pool.threadIds()[slot] !== before);
    // The new worker's tracker starts from nothing; the counter goes on from 1: one more miss makes 2.
    await missOne();
    await until(async () => (await late()) === 2);
    await new Promise((r) => setTimeout(r, 1200)); // a run more: nothing counted twice
    expect(await late()).toBe(2);
  });

  test('a target removed on reload loses its tracker: added back, it starts from nothing', async () => {
    const { d, file, late, missOne, text, results, pop } = await roundTrip();
    await missOne(false); // rt's tracker now waits for the missed message, which stays hidden
    writeFileSync(file, text(['other']));
    expect((await d.reload()).ok).toBe(true);
    writeFileSync(file, text(['rt']));
    expect((await d.reload()).ok).toBe(true);
    const runs = results.length;
    pop.hold = false;
    await until(() => results.slice(runs).filter((r) => r.target === 'rt' && r.ok).length >= 2);
    // A kept tracker would have found the missed message (still in the box) and counted it late.
    expect(await late()).toBe(0);
  });
});
