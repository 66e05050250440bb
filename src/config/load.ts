import { readFileSync } from 'node:fs';
import { LineCounter, isScalar, parseDocument, visit, type Document } from 'yaml';
import type { z } from 'zod';
import { RECEIVER_TYPES } from '../alerts/providers/index.js';
import { parseDuration } from '../core/duration.js';
import { EXPECTABLE_PHASES } from '../core/expect.js';
import { configJsonSchema, configSchema, type WrittenConfig } from './schema.js';
import { SourceMap, type ConfigIssue, type ConfigPath } from './issues.js';
import { FileReader } from './files.js';
import { ENV_REFERENCE, asWritten, atPlaceholder, referencedNames, standIns, within, type Placeholder } from './placeholders.js';
import { referenceIssues, resolveConfig, type LoadedConfig } from './resolve.js';
import { inlineSecretWarnings, pathKey } from './secrets.js';
import { RULE_KINDS } from '../alerts/rules.js';

/**
 * `warnings`: what works but should not be written so (secrets inline); `validate` prints them. `offline`: what an
 * offline load took on trust (the files the config names, the values holding a `${VAR}`); its `config` holds
 * stand-ins for them and is for counting, never for running.
 */
export type LoadResult =
  | { ok: true; config: LoadedConfig; warnings: ConfigIssue[]; offline?: { files: number; values: number } }
  | { ok: false; issues: ConfigIssue[] };

export interface LoadOptions {
  env: NodeJS.ProcessEnv;
  /** Reads `*_file` values and the config itself; tests may pass their own. */
  readFile?: (path: string) => string;
  /**
   * `validate --offline`: read no `*_file` and no environment variable; a value holding a `${VAR}` stands for some
   * value (placeholders.ts). Only the config file itself is read.
   */
  offline?: boolean;
}

/**
 * Load and validate a config file: YAML with positions, `${ENV}` expansion inside scalar values, the strict
 * schema, then the checks that need the whole file. Every problem is reported, each with file:line:col and the
 * key path; nothing is half-loaded.
 */
export function loadConfig(file: string, opts: LoadOptions): LoadResult {
  const read = opts.readFile ?? ((p: string) => readFileSync(p, 'utf8'));
  let text: string;
  try {
    text = read(file);
  } catch (e) {
    return { ok: false, issues: [new SourceMap(file, null, null).at(1, 1, `cannot read the config: ${errCode(e)}`)] };
  }
  return loadConfigText(file, text, { ...opts, readFile: read });
}

export function loadConfigText(file: string, text: string, opts: LoadOptions): LoadResult {
  const lines = new LineCounter();
  const doc = parseDocument(text, { lineCounter: lines, prettyErrors: false, uniqueKeys: true });
  const src = new SourceMap(file, doc, lines);
  const syntax = doc.errors.map((e) => {
    const pos = e.linePos?.[0] ?? lines.linePos(e.pos[0]);
    return src.at(pos.line, pos.col, `YAML: ${e.message.split('\n')[0]!.replace(/ at line \d+, column \d+:?$/, '')}`);
  });
  if (syntax.length > 0) return { ok: false, issues: syntax };
  if (opts.offline) return loadOffline(file, doc, src);

  const expanded = expandEnv(doc, src, opts.env);
  const issues = expanded.issues;
  const raw: WrittenConfig = doc.toJS({ maxAliasCount: 100 }) ?? {};
  const files = new FileReader(file, opts.readFile ?? ((p) => readFileSync(p, 'utf8')), src);
  const parsed = configSchema.safeParse(raw);
  if (!parsed.success) {
    // A value emptied by a missing variable already has its issue; the schema's complaint about it is noise.
    const own = parsed.error.issues.filter((i) => !expanded.paths.has(pathKey(i.path)));
    issues.push(...own.flatMap((i) => schemaIssue(src, i)));
    // Names that refer to each other, and the files the config names, are checked too: one pass reports all.
    issues.push(...referenceIssues(raw, src), ...files.checkAll(raw));
  }
  if (issues.length > 0 || !parsed.success) return { ok: false, issues: sortIssues(dedupe(issues)) };

  const resolved = resolveConfig(parsed.data, raw, src, files);
  if (resolved.issues.length > 0) return { ok: false, issues: sortIssues(dedupe(resolved.issues)) };
  return { ok: true, config: resolved.config!, warnings: inlineSecretWarnings(raw, src, expanded.fromEnv) };
}

/**
 * `${VAR}`, `${VAR:-default}` and `$$` inside scalar values (never keys); a missing variable is an issue.
 * `paths`: values a missing variable emptied; `fromEnv`: values a variable (or its default) filled in.
 */
function expandEnv(doc: Document, src: SourceMap, env: NodeJS.ProcessEnv): { issues: ConfigIssue[]; paths: Set<string>; fromEnv: Set<string> } {
  const issues: ConfigIssue[] = [];
  const paths = new Set<string>();
  const fromEnv = new Set<string>();
  visit(doc, {
    Scalar(key, node, path) {
      if (key === 'key' || typeof node.value !== 'string' || !node.value.includes('$')) return;
      node.value = node.value.replace(ENV_REFERENCE, (m, name?: string, def?: string) => {
        if (m === '$$') return '$';
        fromEnv.add(pathKey(yamlPath(path, key)));
        const v = env[name!];
        // Shell semantics: ${VAR:-default} also replaces an empty value; ${VAR} keeps a set-but-empty one.
        if (def !== undefined) return v === undefined || v === '' ? def : v;
        if (v !== undefined) return v;
        const at = yamlPath(path, key);
        paths.add(pathKey(at));
        issues.push(src.issue(at, `environment variable ${name} is not set (use \${${name}:-default} for a default)`));
        return '';
      });
    },
  });
  return { issues, paths, fromEnv };
}

/**
 * Offline: no `${VAR}` is expanded and no `*_file` read. Each value holding a `${VAR}` is a placeholder
 * (placeholders.ts: what it is still checked for); a problem only a stand-in for it causes is not reported.
 */
function loadOffline(file: string, doc: Document, src: SourceMap): LoadResult {
  const placeholders = findPlaceholders(doc);
  const written: WrittenConfig = doc.toJS({ maxAliasCount: 100 }) ?? {};
  const tried = standIns(written, placeholders, (c) => configSchema.safeParse(c).error?.issues ?? []);
  const unfit = tried.unfit.flatMap(({ placeholder, issues: own }) => {
    const names = placeholder.names.map((n) => `\${${n}}`);
    return own.flatMap((i) => schemaIssue(src, i)).map((i) => ({ ...i, message: `${i.message} (whatever ${names.join(' and ')} hold${names.length === 1 ? 's' : ''})` }));
  });
  const trusted = (i: ConfigIssue): boolean => atPlaceholder(i, placeholders);
  const first = tried.first as WrittenConfig;
  const parsed = configSchema.safeParse(first);
  if (!parsed.success || unfit.length > 0) {
    // A placeholder's own value is judged by `unfit` alone; an unknown key holding one is still unknown.
    const schema = (parsed.error?.issues ?? []).filter((i) => !placeholders.some((p) => within(i.path, p.path)));
    const found = [...schema.flatMap((i) => schemaIssue(src, i)), ...(parsed.success ? [] : referenceIssues(first, src).filter((i) => !trusted(i)))];
    return { ok: false, issues: sortIssues(dedupe([...unfit, ...found])) };
  }

  const files = new FileReader(file, null, src);
  const resolved = resolveConfig(parsed.data, first, src, files);
  // The same with each placeholder's last fitting stand-in: a problem between values must show with both.
  const last = configSchema.safeParse(tried.last);
  const other = last.success ? resolveConfig(last.data, tried.last as WrittenConfig, src, new FileReader(file, null, src)).issues : null;
  const both = (i: ConfigIssue): boolean => other === null || other.some((o) => o.line === i.line && o.col === i.col && o.path === i.path);
  const left = resolved.issues.filter((i) => !trusted(i) && both(i));
  if (left.length > 0) return { ok: false, issues: sortIssues(dedupe(left)) };
  const fromEnv = new Set(placeholders.map((p) => pathKey(p.path)));
  const offline = { files: files.named, values: placeholders.length };
  return { ok: true, config: resolved.config!, warnings: inlineSecretWarnings(written, src, fromEnv), offline };
}

/** Offline: every scalar holding a `${VAR}` (never keys), left as written; `$$` still becomes `$` everywhere. */
function findPlaceholders(doc: Document): Placeholder[] {
  const found: Placeholder[] = [];
  visit(doc, {
    Scalar(key, node, path) {
      if (key === 'key' || typeof node.value !== 'string' || !node.value.includes('$')) return;
      const names = referencedNames(node.value);
      if (names.length > 0) found.push({ path: yamlPath(path, key), template: node.value, names });
      node.value = asWritten(node.value);
    },
  });
  return found;
}

/** The config path of a node from yaml's visitor path (pairs and collections down to the node). */
function yamlPath(path: readonly unknown[], key: unknown): ConfigPath {
  const out: (string | number)[] = [];
  for (let i = 0; i < path.length; i += 1) {
    const item = path[i] as { items?: unknown[]; key?: unknown };
    const next = path[i + 1] ?? null;
    if (item && 'key' in item && isScalar(item.key)) out.push(String(item.key.value));
    else if (item && Array.isArray(item.items) && next !== null && !('key' in (next as object))) out.push(item.items.indexOf(next));
  }
  if (typeof key === 'number') out.push(key);
  return out;
}

function schemaIssue(src: SourceMap, i: z.core.$ZodIssue): ConfigIssue[] {
  const path = i.path.filter((p): p is string | number => typeof p !== 'symbol');
  if (i.code === 'unrecognized_keys') {
    const hint = (k: string): string =>
      path.at(-1) === 'expect' ? ` (phases with a reply: ${EXPECTABLE_PHASES.join(', ')})` : suggest(k);
    return i.keys.map((k) => src.issue([...path, k], `unknown key "${k}"${hint(k)}`, true));
  }
  return [src.issue(path, friendly(i))];
}

function friendly(i: z.core.$ZodIssue): string {
  if (i.code === 'invalid_type' && /received undefined/.test(i.message)) return 'is required';
  if (i.code === 'invalid_key') return `key ${i.issues.map((k) => k.message).join('; ')}`;
  if (i.code === 'invalid_union' && 'note' in i && i.note === 'No matching discriminator') {
    return `unknown ${String(i.discriminator ?? 'kind')}: must be one of ${discriminatorOptions(i)}`;
  }
  return i.message.replace(/^Invalid input: /, '');
}

function discriminatorOptions(i: z.core.$ZodIssue): string {
  return String((i as { discriminator?: string }).discriminator) === 'type'
    ? RECEIVER_TYPES.join(', ')
    : RULE_KINDS.join(', ');
}

/** Every key name the schema knows, anywhere (read from its JSON Schema once, when a typo needs a suggestion). */
let knownKeys: readonly string[] | null = null;
function allKeys(): readonly string[] {
  if (knownKeys) return knownKeys;
  const names = new Set<string>();
  const walk = (node: unknown): void => {
    if (Array.isArray(node)) node.forEach(walk);
    else if (node && typeof node === 'object') {
      for (const [k, v] of Object.entries(node)) {
        if (k === 'properties' && v && typeof v === 'object') for (const name of Object.keys(v)) names.add(name);
        walk(v);
      }
    }
  };
  walk(configJsonSchema());
  return (knownKeys = [...names]);
}

/** "did you mean" for a typo'd key: the closest known key within a small edit distance. */
function suggest(key: string): string {
  let best: string | null = null;
  let bestD = Infinity;
  for (const k of allKeys()) {
    const d = editDistance(k, key);
    if (k !== key && d <= Math.max(1, Math.floor(k.length / 4)) && d < bestD) [best, bestD] = [k, d];
  }
  return best ? ` (did you mean "${best}"?)` : '';
}

/** Optimal string alignment distance: insertions, deletions, substitutions and swaps of neighbours cost 1. */
function editDistance(a: string, b: string): number {
  const d = Array.from({ length: a.length + 1 }, (_, i) => [i, ...new Array<number>(b.length).fill(0)]);
  for (let j = 1; j <= b.length; j += 1) d[0]![j] = j;
  for (let i = 1; i <= a.length; i += 1) {
    for (let j = 1; j <= b.length; j += 1) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      d[i]![j] = Math.min(d[i - 1]![j]! + 1, d[i]![j - 1]! + 1, d[i - 1]![j - 1]! + cost);
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) d[i]![j] = Math.min(d[i]![j]!, d[i - 2]![j - 2]! + 1);
    }
  }
  return d[a.length]![b.length]!;
}

function dedupe(issues: ConfigIssue[]): ConfigIssue[] {
  const seen = new Set<string>();
  return issues.filter((i) => {
    const k = `${i.line}:${i.col}:${i.message}`;
    return seen.has(k) ? false : (seen.add(k), true);
  });
}

function sortIssues(issues: ConfigIssue[]): ConfigIssue[] {
  return [...issues].sort((a, b) => a.line - b.line || a.col - b.col);
}

export function errCode(e: unknown): string {
  return (e as NodeJS.ErrnoException).code ?? (e as Error).message ?? String(e);
}

export { parseDuration };
