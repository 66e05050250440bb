import { systemClock } from '../core/clock.js';
import { parseListenAddress } from '../core/listen.js';
import { Daemon } from '../daemon/daemon.js';
import { createLogger, LOG_LEVELS } from '../log.js';
import { systemLookup } from '../runner/run.js';
import { parseShard } from '../scheduler/scheduler.js';
import { UsageError, choiceFlag, parseFlags } from './args.js';
import { ConfigError } from './config-error.js';
import { RUN_HELP } from './help.js';
import type { CliIo } from './io.js';
import { packageVersion } from './version.js';

const RUN_FLAGS = {
  config: { type: 'string' },
  listen: { type: 'string' },
  shard: { type: 'string' },
  'log-level': { type: 'string' },
  help: { type: 'boolean', short: 'h' },
} as const;

/** `smtp-probe run`: the daemon until SIGTERM/SIGINT; SIGHUP and POST /-/reload reload the config. */
export async function runCommand(argv: string[], io: CliIo): Promise<number> {
  const { values, positionals } = parseFlags('run', argv, RUN_FLAGS);
  if (values.help) {
    io.stdout(RUN_HELP);
    return 0;
  }
  if (positionals.length > 0) throw new UsageError(`unexpected argument "${positionals[0]}" (targets come from --config)`);
  if (!values.config) throw new UsageError('--config: required (smtp-probe run --config FILE)');
  const shard = values.shard === undefined ? null : parseShard(values.shard);
  if (typeof shard === 'string') throw new UsageError(`--shard: ${shard}`);
  const listen = values.listen === undefined ? null : parseListenFlag(values.listen);
  const logger = createLogger(choiceFlag('log-level', values['log-level'], LOG_LEVELS, 'info'));
  const daemon = Daemon.create({
    configFile: values.config, env: io.env, shard, listen, clock: systemClock, lookup: systemLookup, logger, version: packageVersion(),
  });
  if (Array.isArray(daemon)) throw new ConfigError(daemon);
  await serveUntilStopped(daemon, io);
  return 0;
}

/** Start, reload on SIGHUP, stop cleanly (running checks finish within their timeout) when the signal aborts. */
export async function serveUntilStopped(daemon: Daemon, io: CliIo, start = true): Promise<void> {
  if (start) {
    try {
      await daemon.start();
    } catch (e) {
      throw new UsageError(`cannot listen: ${(e as Error).message}`);
    }
  }
  const off = io.onHangup?.(() => void daemon.reload());
  await new Promise<void>((resolve) => {
    if (!io.signal || io.signal.aborted) return resolve();
    io.signal.addEventListener('abort', () => resolve(), { once: true });
  });
  off?.();
  await daemon.stop(daemon.longestRunMs() + 1000);
}

export function parseListenFlag(text: string): { host: string; port: number } {
  const at = parseListenAddress(text);
  if (!at) throw new UsageError(`--listen: "${text}" is not HOST:PORT or :PORT`);
  return at;
}
