/**
 * A daemon for tests: a config file, 127.0.0.1 on port 0, the system clock and lookup, a silent logger, every
 * result collected. A config that does not load is a test bug: it throws with the issues. Runs stay in the test's
 * thread (workers: 1, so an injected clock or lookup is the one runs use) unless a test asks for more workers (or
 * for global.workers, with `workers: undefined`): then the pool runs the built worker, dist/src/pool/worker.js.
 */
import { existsSync } from 'node:fs';
import { systemClock } from '../../src/core/clock.js';
import type { CheckResult } from '../../src/core/result.js';
import { Daemon, type DaemonOptions } from '../../src/daemon/daemon.js';
import { createLogger } from '../../src/log.js';
import { systemLookup } from '../../src/runner/run.js';

export interface TestDaemon {
  d: Daemon;
  /** `http://127.0.0.1:PORT` once started. */
  base: string;
  /** Every scheduled run's result, in order. */
  results: CheckResult[];
}

/** The pool's worker as built (tests run against dist/, like the CLI tests); a clear failure when it is not built. */
export function builtWorkerUrl(): URL {
  const url = new URL('../../dist/src/pool/worker.js', import.meta.url);
  if (!existsSync(url)) throw new Error('dist/src/pool/worker.js is missing: run npm run build before the pool tests');
  return url;
}

export function createTestDaemon(configFile: string, over: Partial<DaemonOptions> = {}): { d: Daemon; results: CheckResult[] } {
  const results: CheckResult[] = [];
  // `workers: undefined` given on purpose: global.workers decides, and the pool may start.
  const workers = 'workers' in over ? over.workers : 1;
  const pool = workers !== 1 ? { workerUrl: builtWorkerUrl(), ...over.pool } : over.pool;
  const d = Daemon.create({
    configFile, env: {}, shard: null, listen: { host: '127.0.0.1', port: 0 }, clock: systemClock, lookup: systemLookup,
    logger: createLogger('silent'), version: 'test', onResult: (_t, r) => results.push(r), workers: 1, ...over, ...(pool ? { pool } : {}),
  });
  if (Array.isArray(d)) throw new Error(d.join('\n'));
  return { d, results };
}

/** Created and started; the caller stops it (`d.stop`). */
export async function startTestDaemon(configFile: string, over: Partial<DaemonOptions> = {}): Promise<TestDaemon> {
  const { d, results } = createTestDaemon(configFile, over);
  const a = await d.start();
  return { d, base: `http://127.0.0.1:${a.port}`, results };
}
