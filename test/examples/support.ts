import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
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

/** CONTRACT.md lives next to the repository in this workspace; a plain checkout does not have it. */
export const CONTRACT_PATH = resolve(ROOT, '../shared/CONTRACT.md');

/**
 * The metric names of CONTRACT.md ("Metrics"), as derived from it when this was written: every backticked
 * `smtp_probe_*` name, histograms marked. The test in grafana.test.ts re-derives the list whenever CONTRACT.md is
 * present, so a rename there fails here.
 */
export const CONTRACT_METRICS: Readonly<Record<string, 'histogram' | 'other'>> = {
  smtp_probe_success: 'other',
  smtp_probe_duration_seconds: 'other',
  smtp_probe_phase_last_duration_seconds: 'other',
  smtp_probe_phase_duration_seconds: 'histogram',
  smtp_probe_reply_code: 'other',
  smtp_probe_runs_total: 'other',
  smtp_probe_failures_total: 'other',
  smtp_probe_runs_skipped_total: 'other',
  smtp_probe_last_run_timestamp_seconds: 'other',
  smtp_probe_schedule_lag_seconds: 'histogram',
  smtp_probe_tls_cert_expiry_timestamp_seconds: 'other',
  smtp_probe_tls_version_info: 'other',
  smtp_probe_build_info: 'other',
  smtp_probe_config_last_reload_successful: 'other',
};

/** The blackbox-style /probe metric names of CONTRACT.md. */
export const CONTRACT_PROBE_METRICS: readonly string[] = [
  'probe_success',
  'probe_duration_seconds',
  'probe_dns_lookup_time_seconds',
  'probe_ssl_earliest_cert_expiry',
  'probe_tls_version_info',
  'probe_smtp_phase_duration_seconds',
  'probe_smtp_reply_code',
];

/**
 * Derive the smtp_probe_* names from CONTRACT.md's "Metrics" section: each backticked name (labels in braces
 * dropped); a name is a histogram when the text right after it says "(histogram".
 */
export function deriveContractMetrics(markdown: string): Record<string, 'histogram' | 'other'> {
  const section = /^## Metrics[^\n]*\n([\s\S]*?)(?=^## )/m.exec(markdown)?.[1];
  if (!section) throw new Error('CONTRACT.md has no "## Metrics" section');
  const out: Record<string, 'histogram' | 'other'> = {};
  const re = /`(smtp_probe_[a-z0-9_]+)(?:\{[^}`]*\})?`([^`\n]*)/g;
  for (const m of section.matchAll(re)) {
    const name = m[1]!;
    out[name] = /^\s*\(histogram/.test(m[2]!) || out[name] === 'histogram' ? 'histogram' : 'other';
  }
  return out;
}

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

export function contractText(): string | null {
  return existsSync(CONTRACT_PATH) ? readFileSync(CONTRACT_PATH, 'utf8') : null;
}
