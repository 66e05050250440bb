import { systemClock } from '../core/clock.js';
import { bounded } from '../core/deadline.js';
import { parseListenAddress } from '../core/listen.js';
import { Daemon } from '../daemon/daemon.js';
import { createLogger, LOG_FORMATS, LOG_LEVELS } from '../log.js';
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
  'log-format': { type: 'string' },
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
  const format = choiceFlag('log-format', values['log-format'], LOG_FORMATS, 'auto');
  const logger = createLogger(choiceFlag('log-level', values['log-level'], LOG_LEVELS, 'info'), { format, env: io.env });
  const daemon = Daemon.create({
    configFile: values.config, env: io.env, shard, listen, clock: systemClock, lookup: systemLookup, logger, version: packageVersion(),
  });
  if (Array.isArray(daemon)) throw new ConfigError(daemon);
  return (await serveUntilStopped(daemon, io)) ? 0 : 1;
}

/** On top of the grace period for running checks: alert flush (5 s at most), state save, HTTP shutdown. */
const STOP_SLACK_MS = 15_000;

/**
 * Start, reload on SIGHUP, stop cleanly (running checks finish within their timeout) when the signal aborts.
 * False when the stop was not clean: the alert state could not be saved, or the stop did not end in time.
 */
export async function serveUntilStopped(daemon: Daemon, io: CliIo, start = true): Promise<boolean> {
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
  return stopWithin(daemon, daemon.longestRunMs() + 1000, io);
}

/** daemon.stop(graceMs), waited for at most graceMs + STOP_SLACK_MS (a hung disk must not keep a stopped daemon). */
async function stopWithin(daemon: Daemon, graceMs: number, io: CliIo): Promise<boolean> {
  const stop = daemon.stop(graceMs).catch(() => false);
  const stopped = await bounded(stop, graceMs + STOP_SLACK_MS, undefined, systemClock, () => 'late' as const);
  if (stopped === 'late') io.stderr(`smtp-probe run: the shutdown did not end within ${(graceMs + STOP_SLACK_MS) / 1000} s; exiting anyway\n`);
  return stopped === true;
}

export function parseListenFlag(text: string): { host: string; port: number } {
  const at = parseListenAddress(text);
  if (!at) throw new UsageError(`--listen: "${text}" is not HOST:PORT or :PORT`);
  return at;
}
