import { RECEIVERS } from '../alerts/providers/index.js';
import type { ConfigIssue, ConfigPath, SourceMap } from './issues.js';

/**
 * Secrets written inline in the config file: warnings, not errors (the config works, but the file now holds a
 * secret that ends up in repositories, backups and ConfigMaps). A value that came from `${ENV}` expansion, or a
 * `*_file` key, is not inline. The messages name the key, never the value.
 */

/** Keys that hold a secret wherever they appear (module auth and roundtrip passwords, receiver secrets). */
const SECRET_KEYS = new Set(['password', 'secret', 'routing_key']);

/** A query parameter whose name says it carries a key. */
const KEY_PARAM = /key|token|secret|sig|pass|auth|code/i;

/** A path segment that looks like a generated key: long, URL-safe, letters and digits mixed. */
function looksLikeKey(segment: string): boolean {
  return segment.length >= 20 && /^[A-Za-z0-9_-]+$/.test(segment) && /[0-9]/.test(segment) && /[A-Za-z]/.test(segment);
}

/**
 * Warnings for every secret written inline. `fromEnv` holds the paths (pathKey) of the scalars `${ENV}` expansion
 * filled in.
 */
export function inlineSecretWarnings(raw: unknown, src: SourceMap, fromEnv: ReadonlySet<string>): ConfigIssue[] {
  const out: ConfigIssue[] = [];
  const inline = (path: ConfigPath, value: unknown): value is string =>
    typeof value === 'string' && value.trim() !== '' && !fromEnv.has(pathKey(path));
  const walk = (v: unknown, path: (string | number)[]): void => {
    if (Array.isArray(v)) v.forEach((x, i) => walk(x, [...path, i]));
    else if (v !== null && typeof v === 'object') {
      for (const [k, x] of Object.entries(v)) {
        if (SECRET_KEYS.has(k) && inline([...path, k], x)) out.push(src.issue([...path, k], secretMessage(k)));
        walk(x, [...path, k]);
      }
    }
  };
  walk(raw, []);
  const receivers = (raw as { alerts?: { receivers?: unknown } } | null)?.alerts?.receivers;
  if (Array.isArray(receivers)) receivers.forEach((r, i) => out.push(...receiverWarnings(r, ['alerts', 'receivers', i], src, inline)));
  return out.sort((a, b) => a.line - b.line || a.col - b.col);
}

/** A receiver's own secret keys other than the common ones (slack's `url`), and any URL carrying a credential. */
function receiverWarnings(
  r: unknown,
  path: ConfigPath,
  src: SourceMap,
  inline: (path: ConfigPath, value: unknown) => value is string,
): ConfigIssue[] {
  if (r === null || typeof r !== 'object') return [];
  const entry = r as Record<string, unknown>;
  const module = (RECEIVERS as Record<string, { secrets?: readonly string[] }>)[String(entry.type)];
  const declared: readonly string[] = module?.secrets ?? [];
  const out: ConfigIssue[] = [];
  for (const k of declared) {
    if (!SECRET_KEYS.has(k) && inline([...path, k], entry[k])) out.push(src.issue([...path, k], secretMessage(k)));
  }
  if (!declared.includes('url') && inline([...path, 'url'], entry.url)) {
    const problem = urlProblem(entry.url);
    if (problem) out.push(src.issue([...path, 'url'], `${problem}; use \${ENV_VAR} for the URL`));
  }
  return out;
}

function secretMessage(key: string): string {
  return `a secret written inline; use ${key}_file or ${key}: \${ENV_VAR}`;
}

/** What in a URL is a credential: user info, a key-named query parameter, a key-like path segment. */
function urlProblem(text: string): string | null {
  let u: URL;
  try {
    u = new URL(text);
  } catch {
    return null;
  }
  if (u.username !== '' || u.password !== '') return 'credentials written inline in the URL';
  if ([...u.searchParams.keys()].some((k) => KEY_PARAM.test(k))) return "a key written inline in the URL's query";
  if (u.pathname.split('/').some(looksLikeKey)) return "a key written inline in the URL's path";
  return null;
}

/** The key of a config path in `fromEnv` (load.ts builds it the same way). */
export function pathKey(path: readonly PropertyKey[]): string {
  return path.map(String).join('\u0000');
}
