import { readFileSync } from 'node:fs';
import { parseArgs, type ParseArgsConfig } from 'node:util';
import { parseDuration } from '../core/duration.js';

/** A mistake in the command line: exit 2 (3 with --format nagios), message names the flag. */
export class UsageError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'UsageError';
  }
}

type Options = NonNullable<ParseArgsConfig['options']>;

const HINTS: Record<string, string> = {
  '--auth-pass': 'passwords are never taken on the command line: use --auth-pass-env VAR or --auth-pass-file FILE',
  '--password': 'passwords are never taken on the command line: use --auth-pass-env VAR or --auth-pass-file FILE',
};

/** node:util parseArgs with errors rewritten to name the flag and point at --help. */
export function parseFlags<O extends Options>(command: string, argv: string[], options: O) {
  try {
    return parseArgs({ args: argv, options, allowPositionals: true, strict: true });
  } catch (e) {
    const err = e as Error & { code?: string };
    const flag = /'(-{1,2}[^' ]+)/.exec(err.message)?.[1] ?? '';
    const name = flag.split('=')[0] ?? '';
    const hint = HINTS[name];
    if (hint) throw new UsageError(`${name}: ${hint}`);
    if (err.code === 'ERR_PARSE_ARGS_UNKNOWN_OPTION') {
      throw new UsageError(`unknown flag ${name} (see smtp-probe ${command} --help)`);
    }
    if (err.code === 'ERR_PARSE_ARGS_INVALID_OPTION_VALUE') {
      throw new UsageError(`${name || 'a flag'}: ${err.message.replace(/^Option '[^']*' /, '')}`);
    }
    throw new UsageError(`${err.message} (see smtp-probe ${command} --help)`);
  }
}

export function durationFlag(flag: string, value: string | undefined, fallbackMs: number): number {
  if (value === undefined) return fallbackMs;
  const ms = parseDuration(value);
  if (typeof ms === 'string') throw new UsageError(`--${flag}: ${ms}`);
  return ms;
}

export function intFlag(flag: string, value: string | undefined, min: number, max: number): number | null {
  if (value === undefined) return null;
  if (!/^\d+$/.test(value.trim()) || Number(value) < min || Number(value) > max) {
    throw new UsageError(`--${flag}: "${value}" is not a whole number from ${min} to ${max}`);
  }
  return Number(value);
}

export function choiceFlag<T extends string>(flag: string, value: string | undefined, choices: readonly T[], fallback: T): T {
  if (value === undefined) return fallback;
  const v = value.trim() as T;
  if (!choices.includes(v)) throw new UsageError(`--${flag}: "${value}" is not one of ${choices.join(', ')}`);
  return v;
}

/** A file's contents for a flag, with one trailing newline stripped (secrets files). */
export function readFlagFile(flag: string, path: string, stripNewline = false): string {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (e) {
    throw new UsageError(`--${flag}: cannot read ${path}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
  }
  return stripNewline ? text.replace(/\r?\n$/, '') : text;
}

/** A secret from an environment variable named by a flag; the value itself never appears in messages. */
export function readEnvFlag(flag: string, name: string, env: NodeJS.ProcessEnv): string {
  const v = env[name];
  if (v === undefined || v === '') throw new UsageError(`--${flag}: environment variable ${name} is not set or empty`);
  return v;
}
