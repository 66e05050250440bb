import { isatty, WriteStream } from 'node:tty';
import { pino, type Logger, type LevelWithSilent } from 'pino';
import type { LogFormat } from './log-levels.js';
import { formatLine } from './log-text.js';

/** Keys that may hold secrets anywhere in a log object: pino replaces their values. */
export const REDACT_PATHS = [
  'password', '*.password', '*.*.password', 'token', '*.token', 'secret', '*.secret',
  'headers.authorization', '*.headers.authorization', 'auth.password', 'plan.auth.password',
];

export interface LoggerOptions {
  /** `auto` (the default): text when the destination is a terminal, JSON lines otherwise. */
  format?: LogFormat;
  /** The file descriptor written to (default 2: stderr, as stdout carries the report only). */
  fd?: number;
  /** Whether the destination is a terminal, for `auto`; default: asked of the descriptor. */
  isTTY?: boolean;
  /** The environment colours are decided by (NO_COLOR, TERM, FORCE_COLOR); the CLI passes its own. */
  env?: NodeJS.ProcessEnv;
  /** Colours in text, decided by the caller instead of by the terminal and `env`. */
  color?: boolean;
  /** Where the lines go instead of `fd` (tests). */
  write?: (text: string) => void;
}

/**
 * Logs on stderr: pino's JSON lines, or on a terminal one readable line per record (`HH:MM:SS.mmm LEVEL msg
 * key=value ...`). Both are written synchronously, so nothing is lost at exit, and both are redacted by pino
 * before they are formatted.
 */
export function createLogger(level: LevelWithSilent = 'info', options: LoggerOptions = {}): Logger {
  const fd = options.fd ?? 2;
  const write = options.write ?? syncWriter(fd);
  const settings = { level, base: { name: 'smtp-probe' }, redact: { paths: REDACT_PATHS, censor: '***' } };
  const tty = options.isTTY ?? isatty(fd);
  if (!textWanted(options.format ?? 'auto', tty)) return pino(settings, { write });
  const text = { color: options.color ?? (tty && supportsColor(options.env ?? {})), stack: level === 'debug' || level === 'trace' };
  return pino(settings, { write: (line: string) => write(formatLine(line, text)) });
}

/** Text for `text`, and for `auto` on a terminal; JSON for `json`, and for `auto` on a pipe, a file, a container. */
export function textWanted(format: LogFormat, isTTY: boolean): boolean {
  return format === 'text' || (format === 'auto' && isTTY);
}

/** Colours unless NO_COLOR is set (https://no-color.org) or the terminal has fewer than 16 (TERM=dumb...). */
export function supportsColor(env: NodeJS.ProcessEnv): boolean {
  if (env.NO_COLOR !== undefined) return false;
  // hasColors reads only its arguments (TERM, COLORTERM, FORCE_COLOR, CI...), not the stream.
  return WriteStream.prototype.hasColors(16, env);
}

/** Synchronous writes to a descriptor through pino's SonicBoom, which retries a full non-blocking pipe (EAGAIN). */
function syncWriter(fd: number): (text: string) => void {
  const dest = pino.destination({ fd, sync: true });
  return (text) => void dest.write(text);
}

export { LOG_FORMATS, LOG_LEVELS, type LogFormat } from './log-levels.js';
export type { Logger };
