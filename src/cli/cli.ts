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
  capacity: async () => (await import('./capacity.js')).capacityCommand,
  posture: async () => (await import('./posture.js')).postureCommand,
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
  // With --format nagios every problem is one UNKNOWN line on stdout, exit 3: Nagios reads stdout and the code only.
  const nagios = requestedFormat(rest) === 'nagios';
  const problem = (message: string, forPeople: string, exit: number): number => {
    if (!nagios) {
      io.stderr(forPeople);
      return exit;
    }
    io.stdout(`SMTP UNKNOWN - ${message.replace(/\s*\n\s*/g, '; ').trim()}\n`);
    return 3;
  };
  if (!load) {
    const message = `unknown command "${name}" (commands: ${Object.keys(COMMANDS).join(', ')}; see --help)`;
    return problem(message, `smtp-probe: ${message}\n`, 2);
  }
  try {
    return await (await load())(rest, io);
  } catch (e) {
    if (e instanceof UsageError) return problem(e.message, `smtp-probe ${name}: ${e.message}\n`, 2);
    if (e instanceof ConfigError) {
      const count = `${e.lines.length} problem${e.lines.length === 1 ? '' : 's'} in the config`;
      return problem(`${count}: ${e.lines.join('; ')}`, `${e.lines.join('\n')}\n${count}\n`, 2);
    }
    const message = `internal error: ${e instanceof Error ? e.message : String(e)}`;
    return problem(message, `smtp-probe ${name}: ${message}\n`, 1);
  }
}

/**
 * The --format a command line asks for, read before (and whatever) the command makes of the rest: the last one
 * given, as the flag parser takes it. A "nagios" that is another flag's value (`--to nagios`) is not one.
 */
function requestedFormat(args: readonly string[]): string | undefined {
  let format: string | undefined;
  for (let i = 0; i < args.length; i += 1) {
    const a = args[i]!;
    if (a === '--') break;
    if (a === '--format') format = args[++i];
    else if (a.startsWith('--format=')) format = a.slice('--format='.length);
  }
  return format?.trim();
}

