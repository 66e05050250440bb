import { pino, type Logger, type LevelWithSilent } from 'pino';

/** Keys that may hold secrets anywhere in a log object: pino replaces their values. */
export const REDACT_PATHS = [
  'password', '*.password', '*.*.password', 'token', '*.token', 'secret', '*.secret',
  'headers.authorization', '*.headers.authorization', 'auth.password', 'plan.auth.password',
];

/** Structured logs on stderr (stdout carries the report only). */
export function createLogger(level: LevelWithSilent = 'info', destination: number = 2): Logger {
  return pino(
    { level, base: { name: 'smtp-probe' }, redact: { paths: REDACT_PATHS, censor: '***' } },
    pino.destination({ fd: destination, sync: true }),
  );
}

export { LOG_LEVELS } from './log-levels.js';
export type { Logger };
