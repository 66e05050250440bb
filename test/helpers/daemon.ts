/**
 * A daemon for tests: a config file, 127.0.0.1 on port 0, the system clock and lookup, a silent logger, every
 * result collected. A config that does not load is a test bug: it throws with the issues.
 */
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

export function createTestDaemon(configFile: string, over: Partial<DaemonOptions> = {}): { d: Daemon; results: CheckResult[] } {
  const results: CheckResult[] = [];
  const d = Daemon.create({
    configFile, env: {}, shard: null, listen: { host: '127.0.0.1', port: 0 }, clock: systemClock, lookup: systemLookup,
    logger: createLogger('silent'), version: 'test', onResult: (_t, r) => results.push(r), ...over,
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
