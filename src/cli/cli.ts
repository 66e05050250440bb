import { UsageError } from './args.js';
import { ConfigError } from './config-error.js';
import { MAIN_HELP } from './help.js';
import type { CliIo } from './io.js';
import { packageVersion } from './version.js';

type Command = (argv: string[], io: CliIo) => Promise<number>;

/** Each command's module is loaded only when it runs: a one-shot `check` does not pay for the daemon's. */
const COMMANDS: Record<string, () => Promise<Command>> = {
  check: async () => (await import('./check.js')).checkCommand,
  run: async () => (await import('./run.js')).runCommand,
  validate: async () => (await import('./validate.js')).validateCommand,
  schema: async () => (await import('./validate.js')).schemaCommand,
  demo: async () => (await import('./demo.js')).demoCommand,
};

/** The whole CLI as a function: argv in, exit code out. Nothing here prints a stack trace. */
export async function runCli(argv: string[], io: CliIo): Promise<number> {
  const [name, ...rest] = argv;
  if (name === undefined || name === '--help' || name === '-h' || name === 'help') {
    io.stdout(MAIN_HELP);
    return name === undefined ? 2 : 0;
  }
  if (name === '--version' || name === '-V' || name === 'version') {
    io.stdout(`smtp-probe ${packageVersion()}\n`);
    return 0;
  }
  const load = COMMANDS[name];
  const usageExit = rest.includes('nagios') && rest.some((a) => a === '--format' || a === '--format=nagios') ? 3 : 2;
  if (!load) {
    io.stderr(`smtp-probe: unknown command "${name}" (commands: ${Object.keys(COMMANDS).join(', ')}; see --help)\n`);
    return usageExit;
  }
  try {
    return await (await load())(rest, io);
  } catch (e) {
    if (e instanceof UsageError) {
      io.stderr(`smtp-probe ${name}: ${e.message}\n`);
      return usageExit;
    }
    if (e instanceof ConfigError) {
      io.stderr(`${e.lines.join('\n')}\n${e.lines.length} problem${e.lines.length === 1 ? '' : 's'} in the config\n`);
      return usageExit;
    }
    io.stderr(`smtp-probe ${name}: internal error: ${e instanceof Error ? e.message : String(e)}\n`);
    return usageExit === 3 ? 3 : 1;
  }
}

