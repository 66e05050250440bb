/**
 * pino's JSON line as one readable line for a terminal: `HH:MM:SS.mmm LEVEL msg key=value ...`. Pure (no pino, no
 * Node module), so the formatter costs nothing until a logger writes text. The JSON line has been redacted by pino
 * already: what pino masks is masked here too.
 */

export interface TextOptions {
  /** ANSI colours (the terminal supports them and NO_COLOR is unset). */
  color: boolean;
  /** Errors with their stack on the lines that follow (the logger is at debug or trace). */
  stack: boolean;
}

/** pino's numeric levels: the name (padded, so messages line up) and its colour (SGR code). */
const LEVELS: Readonly<Record<number, readonly [string, string]>> = {
  10: ['TRACE', '90'],
  20: ['DEBUG', '36'],
  30: ['INFO ', '32'],
  40: ['WARN ', '33'],
  50: ['ERROR', '31'],
  60: ['FATAL', '1;31'],
};

/** Keys the line shows in its own places, or that say nothing on a terminal. */
const OMIT = new Set(['level', 'time', 'msg', 'name', 'pid', 'hostname']);

/** Nested objects are flattened to dotted keys this deep; deeper ones print as compact JSON. */
const MAX_DEPTH = 3;

/**
 * Characters a terminal could act on or hide: C0 controls (but not in JSON text, where they are escaped already),
 * DEL, C1 controls (CSI is U+009B), and the bidirectional overrides and isolates. Server text reaches the logs.
 */
const UNSAFE = /[\u0000-\u001f\u007f-\u009f\u061c\u200e\u200f\u2028\u2029\u202a-\u202e\u2066-\u2069]/g;

/** A value that needs no quotes: printable ASCII without space, quote, backslash or `=`. */
const BARE = /^[!#-<>-[\]-~]+$/;

const escapeUnsafe = (s: string): string => s.replace(UNSAFE, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);

/** A string as it prints after `key=`: bare when it is one harmless word, else in double quotes with escapes. */
export function quoteValue(s: string): string {
  return BARE.test(s) ? s : escapeUnsafe(JSON.stringify(s));
}

/** One JSON log line (pino's output, newline included) → one text line; anything that is not a record, as is. */
export function formatLine(json: string, options: TextOptions): string {
  let record: unknown;
  try {
    record = JSON.parse(json);
  } catch {
    return `${escapeUnsafe(json.replace(/\n$/, ''))}\n`;
  }
  if (record === null || typeof record !== 'object' || Array.isArray(record)) return `${escapeUnsafe(json.replace(/\n$/, ''))}\n`;
  return formatRecord(record as Record<string, unknown>, options);
}

/** A parsed record → its text line (and, with `stack`, the stacks of its errors indented below). */
export function formatRecord(record: Record<string, unknown>, options: TextOptions): string {
  const paint = (code: string, s: string): string => (options.color ? `\x1b[${code}m${s}\x1b[0m` : s);
  const [name, colour] = LEVELS[Number(record.level)] ?? [String(record.level ?? '?').toUpperCase().padEnd(5), '0'];
  const head = `${paint('2', clock(record.time))} ${paint(colour, escapeUnsafe(name))} ${escapeUnsafe(String(record.msg ?? ''))}`;
  const pairs: [string, string][] = [];
  const stacks: string[] = [];
  for (const [key, value] of Object.entries(record)) {
    if (!OMIT.has(key)) flatten(key, value, 1, pairs, stacks);
  }
  const tail = pairs.map(([k, v]) => ` ${paint('2', `${k}=`)}${v}`).join('');
  const below = options.stack ? stacks.map((s) => `\n${s}`).join('') : '';
  return `${head}${tail}${below}\n`;
}

/** Local wall-clock time of a record, HH:MM:SS.mmm (a person at a terminal reads their own time zone). */
function clock(time: unknown): string {
  if (typeof time !== 'number' || !Number.isFinite(time)) return '--:--:--.---';
  const d = new Date(time);
  const two = (n: number): string => String(n).padStart(2, '0');
  return `${two(d.getHours())}:${two(d.getMinutes())}:${two(d.getSeconds())}.${String(d.getMilliseconds()).padStart(3, '0')}`;
}

interface ErrorLike {
  message: string;
  stack: string;
  code?: unknown;
}

/** pino's err serializer output (and any object shaped like it): a message and a stack. */
function isError(v: unknown): v is ErrorLike {
  return typeof v === 'object' && v !== null && typeof (v as ErrorLike).message === 'string' && typeof (v as ErrorLike).stack === 'string';
}

function isPlainObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function flatten(key: string, value: unknown, depth: number, pairs: [string, string][], stacks: string[]): void {
  const k = quoteValue(key);
  if (isError(value)) {
    pairs.push([k, quoteValue(value.message)]);
    if (typeof value.code === 'string' || typeof value.code === 'number') pairs.push([`${k}.code`, quoteValue(String(value.code))]);
    stacks.push(indentStack(value.stack));
  } else if (isPlainObject(value) && depth < MAX_DEPTH && Object.keys(value).length > 0) {
    for (const [sub, v] of Object.entries(value)) flatten(`${key}.${sub}`, v, depth + 1, pairs, stacks);
  } else {
    pairs.push([k, render(value)]);
  }
}

function render(value: unknown): string {
  if (typeof value === 'string') return quoteValue(value);
  if (typeof value === 'number' || typeof value === 'boolean' || value === null) return String(value);
  return escapeUnsafe(JSON.stringify(value) ?? String(value));
}

/** A stack's frames, each on its own line, indented under the record. */
function indentStack(stack: string): string {
  return stack
    .split('\n')
    .map((line) => `    ${escapeUnsafe(line.trim())}`)
    .join('\n');
}
