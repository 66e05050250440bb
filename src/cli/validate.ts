import { configJsonSchema } from '../config/schema.js';
import { UsageError, parseFlags } from './args.js';
import { formatIssue } from '../config/issues.js';
import { loadConfig } from '../config/load.js';
import { ConfigError } from './config-file.js';
import { SCHEMA_HELP, VALIDATE_HELP } from './help.js';
import type { CliIo } from './io.js';

/**
 * `smtp-probe validate --config FILE [--offline]`: load and check, run nothing. Exit 0, or 2 with every problem
 * listed. Warnings (a secret written inline) go to stderr, one line each, and leave the exit code at 0.
 * `--offline` reads no `*_file` and no environment variable (CI validating a production config); the ok line
 * says how many files and `${VAR}` values it took on trust.
 */
export async function validateCommand(argv: string[], io: CliIo): Promise<number> {
  const { values, positionals } = parseFlags('validate', argv, {
    config: { type: 'string' },
    offline: { type: 'boolean' },
    help: { type: 'boolean', short: 'h' },
  } as const);
  if (values.help) {
    io.stdout(VALIDATE_HELP);
    return 0;
  }
  const file = values.config ?? positionals[0];
  if (!file) throw new UsageError('--config: which file? (smtp-probe validate --config FILE)');
  const r = loadConfig(file, { env: io.env, offline: values.offline === true });
  if (!r.ok) throw new ConfigError(r.issues.map(formatIssue));
  const config = r.config;
  for (const w of r.warnings) io.stderr(`${formatIssue({ ...w, message: `warning: ${w.message}` })}\n`);
  const modules = Object.keys(config.modules).length - 1;
  const counts = `${plural(config.targets.length, 'target')}, ${plural(modules, 'module')}, ${plural(config.alerts.rules?.length ?? 0, 'alert rule')}`;
  const trusted = r.offline ? `; not checked: ${plural(r.offline.files, 'named file')}, ${plural(r.offline.values, '${VAR} value')}` : '';
  io.stdout(`${file}: ok${r.offline ? ' offline' : ''} (${counts}${trusted})\n`);
  return 0;
}

/** `smtp-probe schema`: the config's JSON Schema, for editors and CI linting. */
export async function schemaCommand(argv: string[], io: CliIo): Promise<number> {
  const { values } = parseFlags('schema', argv, { help: { type: 'boolean', short: 'h' } } as const);
  if (values.help) {
    io.stdout(SCHEMA_HELP);
    return 0;
  }
  io.stdout(`${JSON.stringify(configJsonSchema(), null, 2)}\n`);
  return 0;
}

function plural(n: number, word: string): string {
  return `${n} ${word}${n === 1 ? '' : 's'}`;
}
