/** pino's level names, without loading pino (the one-shot CLI often needs no logger at all). */
export const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];

/**
 * How logs are written: `json` (pino's JSON lines), `text` (one readable line per record) or `auto` (text when
 * stderr is a terminal, JSON otherwise: pipes, files, containers).
 */
export const LOG_FORMATS = ['auto', 'json', 'text'] as const;
export type LogFormat = (typeof LOG_FORMATS)[number];
