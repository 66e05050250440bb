import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { loadConfig, loadConfigText, type LoadResult } from '../../src/config/load.js';
import { formatIssue } from '../../src/config/issues.js';

/** Shared helpers for the tests of examples/. */

export const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
export const EXAMPLES = join(ROOT, 'examples');

export function example(rel: string): string {
  return join(EXAMPLES, rel);
}

export function readExample(rel: string): string {
  return readFileSync(example(rel), 'utf8');
}

/**
 * Stand-ins for the files the example configs name (CA bundles, password files): they exist on the user's
 * machine, not here. Anything not listed fails like a missing file, so a path an example gets wrong shows up.
 */
export const PLACEHOLDER_FILES: Readonly<Record<string, string>> = {
  '/etc/smtp-probe/mail-ca.pem': '-----BEGIN CERTIFICATE-----\nplaceholder\n-----END CERTIFICATE-----\n',
  '/run/secrets/smtp_probe_password': 'placeholder-password\n',
  '/run/secrets/smtp_password': 'placeholder-password\n',
  '/run/secrets/smtp-probe/password': 'placeholder-password\n',
  '/run/secrets/smtp_probe_hook_secret': 'placeholder-hmac-secret\n',
  '/run/secrets/pagerduty_routing_key': 'placeholder-routing-key\n',
  '/run/secrets/mailbox_password': 'placeholder-password\n',
  '/run/secrets/slack_webhook_url': 'https://hooks.slack.example/services/T000/B000/placeholder\n',
};

/** The environment the examples expect (`${VAR}` references without a default). */
export const EXAMPLE_ENV: Readonly<NodeJS.ProcessEnv> = {
  SLACK_WEBHOOK_URL: 'https://hooks.slack.example/services/T000/B000/placeholder',
};

export interface StubReader {
  read: (path: string) => string;
  /** Every placeholder path the loader asked for, in order. */
  requested: string[];
}

/** A readFile for loadConfig: the config itself from disk, the placeholders above for everything else. */
export function stubReader(configFile: string | null, placeholders: Readonly<Record<string, string>> = PLACEHOLDER_FILES): StubReader {
  const requested: string[] = [];
  const read = (path: string): string => {
    if (configFile !== null && path === configFile) return readFileSync(path, 'utf8');
    requested.push(path);
    const text = placeholders[path];
    if (text === undefined) throw Object.assign(new Error(`ENOENT: ${path}`), { code: 'ENOENT' });
    return text;
  };
  return { read, requested };
}

export interface Loaded {
  result: LoadResult;
  requested: string[];
}

/** loadConfig on an example file, with the placeholder files and the example environment. */
export function loadExample(rel: string, env: NodeJS.ProcessEnv = EXAMPLE_ENV): Loaded {
  const file = example(rel);
  const stub = stubReader(file);
  return { result: loadConfig(file, { env, readFile: stub.read }), requested: stub.requested };
}

/** loadConfigText on config text taken from elsewhere (a ConfigMap), with the same stand-ins. */
export function loadText(name: string, text: string, env: NodeJS.ProcessEnv = EXAMPLE_ENV): Loaded {
  const stub = stubReader(null);
  return { result: loadConfigText(name, text, { env, readFile: stub.read }), requested: stub.requested };
}

/** The issues as the CLI prints them, for readable assertion failures. */
export function problems(r: LoadResult): string[] {
  return r.ok ? [] : r.issues.map(formatIssue);
}

/** The path of a program on PATH, or null. */
export function onPath(program: string): string | null {
  try {
    return execFileSync('sh', ['-c', `command -v ${program}`], { encoding: 'utf8' }).trim() || null;
  } catch {
    return null;
  }
}

/**
 * The metrics smtp-probe exports, per endpoint, from docs/metrics.md (generated from the metric registries by
 * `npm run docs`; test/docs/generated.test.ts keeps it equal to what the code registers): name → histogram or not.
 */
export function documentedMetrics(endpoint: '/metrics' | '/probe'): Record<string, 'histogram' | 'other'> {
  const markdown = readFileSync(join(ROOT, 'docs/metrics.md'), 'utf8');
  const section = markdown.split(/^## /m).find((s) => s.startsWith(`${endpoint}\n`));
  if (!section) throw new Error(`docs/metrics.md has no "## ${endpoint}" section`);
  const out: Record<string, 'histogram' | 'other'> = {};
  for (const m of section.matchAll(/^\| `([a-z0-9_]+)` \| (\w+) \|/gm)) out[m[1]!] = m[2] === 'histogram' ? 'histogram' : 'other';
  return out;
}

/** The smtp_probe_* families of /metrics. */
export const METRICS: Readonly<Record<string, 'histogram' | 'other'>> = documentedMetrics('/metrics');

/** The blackbox-style probe_* families of /probe. */
export const PROBE_METRICS: readonly string[] = Object.keys(documentedMetrics('/probe'));

/** Every series name a metric family can appear under: histograms also as _bucket, _sum and _count. */
export function seriesNames(metrics: Readonly<Record<string, 'histogram' | 'other'>>): Set<string> {
  const names = new Set<string>();
  for (const [name, type] of Object.entries(metrics)) {
    names.add(name);
    if (type === 'histogram') for (const s of ['_bucket', '_sum', '_count']) names.add(name + s);
  }
  return names;
}

/** The smtp_probe_* identifiers in a PromQL expression. */
export function smtpProbeIdentifiers(expr: string): string[] {
  return [...expr.matchAll(/\bsmtp_probe_[a-zA-Z0-9_]*/g)].map((m) => m[0]);
}
