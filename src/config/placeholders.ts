import { pathString, type ConfigIssue, type ConfigPath } from './issues.js';

/**
 * Offline loading (`validate --offline`, README "Validating offline"): no `${VAR}` is expanded, so a value that
 * holds one is a placeholder standing for "some value". What it is still checked for:
 *   - it is text: a key that takes a number, a boolean or a list cannot hold one (expansion gives text too);
 *   - the text written around it must fit the key: `ftp://${HOST}` is no target URL whatever HOST holds;
 *   - a pattern, format, enum or range passes when some value fits: the schema is tried with stand-ins (its
 *     own enum values first, then STAND_INS) filled in for every reference, and one that fits is kept;
 *   - a problem between values (an interval under a timeout, max_mx on a URL that might be mx://) is reported
 *     only if the first and the last fitting stand-ins both have it, and never at the placeholder itself (a
 *     name, a reference to a module: its value is not known).
 */

/** `${VAR}`, `${VAR:-default}` and `$$` (a literal `$`) inside a scalar: the loader's whole `${ENV}` syntax. */
export const ENV_REFERENCE = /\$\$|\$\{([A-Za-z_][A-Za-z0-9_]*)(?::-([^}]*))?\}/g;

/** A scalar holding a `${VAR}` (offline): where it is and the text as written. */
export interface Placeholder {
  path: ConfigPath;
  /** As written in the file (`$$` not yet `$`): `smtp://${MAIL_HOST}:587`. */
  template: string;
  /** The variables it names: `MAIL_HOST`. */
  names: string[];
}

/** Values tried for a reference, in order: one of each shape a key of the config takes, then other extremes. */
export const STAND_INS: readonly string[] = [
  'placeholder', // names, hosts, one line of text
  '1s', // durations: short, so a timeout stays under an interval
  '2xx', // reply codes (expect)
  'probe@placeholder.invalid', // mail addresses
  'smtp://placeholder.invalid', // target URLs
  'imaps://placeholder.invalid', // mailbox URLs
  'https://placeholder.invalid/', // receiver URLs
  '192.0.2.1', // IP addresses, DNS servers
  '127.0.0.1:9469', // listen addresses
  '2000-01-01T00:00:00Z', // silence start and end
  '1', // a number inside text (a port, a size)
  '24h', // durations again: long
  'mx://placeholder.invalid', // target URLs again: the other kind
  '2099-12-31T23:59:59Z',
];

/** The text of a `*_file` offline, never read: one line, not empty, and an http URL (Slack's `url_file`). */
export const OFFLINE_FILE_TEXT = 'https://placeholder.invalid/';

/** `$$` → `$`, references kept: the placeholder as the schema first sees it. */
export function asWritten(text: string): string {
  return text.replace(ENV_REFERENCE, (m) => (m === '$$' ? '$' : m));
}

/** Every reference replaced by `value`, `$$` by `$`. */
export function fill(template: string, value: string): string {
  return template.replace(ENV_REFERENCE, (m) => (m === '$$' ? '$' : value));
}

/** The variable names a scalar refers to (none: not a placeholder). */
export function referencedNames(text: string): string[] {
  return [...text.matchAll(ENV_REFERENCE)].flatMap((m) => (m[1] === undefined ? [] : [m[1]]));
}

interface PathIssue {
  readonly path: readonly PropertyKey[];
}

export interface StandIns<I> {
  /** The config with each placeholder's first fitting value (its text as written when the key takes any text). */
  first: unknown;
  /** The same with each one's last fitting value. */
  last: unknown;
  /** Placeholders no stand-in fits, each with the problems the first stand-in met. */
  unfit: { placeholder: Placeholder; issues: I[] }[];
}

/**
 * Try stand-ins for every placeholder: its text as written (`written` holds `asWritten`), then each candidate
 * filled in. One `check` (a schema
 * pass over the whole config) per round for all placeholders at once: each key's schema judges its own value.
 */
export function standIns<I extends PathIssue>(written: unknown, placeholders: readonly Placeholder[], check: (config: unknown) => I[]): StandIns<I> {
  const fits = new Map<Placeholder, string[]>();
  const candidates = new Map<Placeholder, string[]>();
  const firstIssues = new Map<Placeholder, I[]>();
  const asIs = check(written);
  for (const p of placeholders) {
    const own = asIs.filter((i) => within(i.path, p.path));
    if (own.length === 0) fits.set(p, [asWritten(p.template)]);
    else candidates.set(p, [...enumValues(own), ...STAND_INS].map((v) => fill(p.template, v)));
  }
  const rounds = Math.max(0, ...[...candidates.values()].map((c) => c.length));
  for (let r = 0; r < rounds; r += 1) {
    const values = new Map([...candidates].flatMap(([p, c]) => (r < c.length ? [[p, c[r]!] as const] : [])));
    const issues = check(withValues(written, values));
    for (const [p, value] of values) {
      const own = issues.filter((i) => within(i.path, p.path));
      if (own.length === 0) fits.set(p, [...(fits.get(p) ?? []), value]);
      else if (!firstIssues.has(p)) firstIssues.set(p, own);
    }
  }
  const pick = (end: 'first' | 'last'): Map<Placeholder, string> =>
    new Map([...fits].map(([p, f]) => [p, end === 'first' ? f[0]! : f[f.length - 1]!]));
  return {
    first: withValues(written, pick('first')),
    last: withValues(written, pick('last')),
    unfit: placeholders.filter((p) => !fits.has(p)).map((p) => ({ placeholder: p, issues: firstIssues.get(p) ?? [] })),
  };
}

/** Is this loader issue at a placeholder (or inside one)? */
export function atPlaceholder(issue: ConfigIssue, placeholders: readonly Placeholder[]): boolean {
  return placeholders.some((p) => {
    const at = pathString(p.path);
    return issue.path === at || issue.path.startsWith(`${at}.`) || issue.path.startsWith(`${at}[`);
  });
}

/** Is `path` the placeholder's path or under it? */
export function within(path: readonly PropertyKey[], placeholder: ConfigPath): boolean {
  return path.length >= placeholder.length && placeholder.every((k, i) => String(path[i]) === String(k));
}

/** The allowed values a schema named for a key (an enum), to try first. */
function enumValues(issues: readonly PathIssue[]): string[] {
  const values = issues.flatMap((i) => (i as { values?: unknown[] }).values ?? []);
  return values.filter((v): v is string => typeof v === 'string');
}

function withValues(config: unknown, values: ReadonlyMap<Placeholder, string>): unknown {
  const copy = structuredClone(config) as Record<string | number, unknown>;
  for (const [p, value] of values) {
    let node: Record<string | number, unknown> | undefined = copy;
    for (const k of p.path.slice(0, -1)) node = node?.[k] as Record<string | number, unknown> | undefined;
    if (node && typeof node === 'object') node[p.path[p.path.length - 1]!] = value;
  }
  return copy;
}
