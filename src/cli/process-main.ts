import { runCli } from './cli.js';
import type { CliIo } from './io.js';

/** The CLI as a process: argv, stdout/stderr, the environment and signals; sets the exit code. */
export async function main(): Promise<void> {
  const controller = new AbortController();
  const stop = (): void => controller.abort();
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
  const io: CliIo = {
    stdout: (t) => process.stdout.write(t),
    stderr: (t) => process.stderr.write(t),
    env: process.env,
    signal: controller.signal,
    onHangup: (fn) => {
      process.on('SIGHUP', fn);
      return () => process.off('SIGHUP', fn);
    },
  };
  process.exitCode = await runCli(process.argv.slice(2), io);
  process.off('SIGINT', stop);
  process.off('SIGTERM', stop);
  // Stopped by a signal: the command has ended (bounded), so nothing left open (a hung write, a socket) keeps us.
  if (controller.signal.aborted) process.exit();
}
