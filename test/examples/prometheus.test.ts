/**
 * examples/prometheus.yml and examples/alert-rules.yml.
 *
 * With promtool on PATH (Debian: apt-get install prometheus) they are checked by Prometheus's own tool:
 * `promtool check config` (which also loads the rule files), `promtool check rules`, and `promtool test rules` on
 * test/examples/alert-rules.promtest.yml, which feeds synthetic series and asserts which alerts fire, with
 * which labels and annotations. Without promtool those tests are skipped with a note; the structural checks
 * below (relabelling, metric names, module references) run everywhere.
 */
import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import { describe, expect, test } from 'vitest';
import { parse } from 'yaml';
import { parseTargetUrl, type TargetUrl } from '../../src/core/target.js';
import {
  METRICS,
  PROBE_METRICS,
  ROOT,
  example,
  loadExample,
  onPath,
  readExample,
  seriesNames,
  smtpProbeIdentifiers,
} from './support.js';

const PROMTOOL = onPath('promtool');
const NO_PROMTOOL = 'promtool is not on PATH (Debian: apt-get install --no-install-recommends prometheus)';

function promtool(args: string[]): { code: number; out: string } {
  try {
    return { code: 0, out: execFileSync(PROMTOOL!, args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'], timeout: 60_000 }) };
  } catch (e) {
    const err = e as { status?: number; stdout?: string; stderr?: string };
    return { code: err.status ?? -1, out: `${err.stdout ?? ''}${err.stderr ?? ''}` };
  }
}

interface ScrapeConfig {
  job_name: string;
  metrics_path?: string;
  static_configs?: { targets: string[]; labels?: Record<string, string> }[];
  relabel_configs?: { source_labels?: string[]; target_label?: string; replacement?: string; action?: string }[];
}

interface Rule {
  alert: string;
  expr: string;
  for?: string;
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
}

const prom = parse(readExample('prometheus.yml')) as { rule_files: string[]; scrape_configs: ScrapeConfig[] };
const rules = parse(readExample('alert-rules.yml')) as { groups: { name: string; rules: Rule[] }[] };
const allRules = rules.groups.flatMap((g) => g.rules);

describe('examples/prometheus.yml', () => {
  test('promtool check config (also loads alert-rules.yml)', (ctx) => {
    if (!PROMTOOL) ctx.skip(NO_PROMTOOL);
    const r = promtool(['check', 'config', example('prometheus.yml')]);
    expect(r.out).toMatch(/SUCCESS: 1 rule files found/);
    expect(r.code, r.out).toBe(0);
  });

  test('rule_files points at alert-rules.yml next to it', () => {
    expect(prom.rule_files).toEqual(['alert-rules.yml']);
  });

  test("scrapes smtp-probe's own /metrics on the default port", () => {
    const own = prom.scrape_configs.find((s) => s.job_name === 'smtp-probe')!;
    expect(own.metrics_path ?? '/metrics').toBe('/metrics');
    expect(own.static_configs?.flatMap((s) => s.targets)).toEqual(['smtp-probe:9469']);
  });

  test('the /probe job relabels blackbox-style: target and module as parameters, instance, address', () => {
    const job = prom.scrape_configs.find((s) => s.metrics_path === '/probe')!;
    expect(job).toBeDefined();
    const relabel = job.relabel_configs ?? [];
    const to = (label: string) => relabel.find((r) => r.target_label === label);
    expect(to('__param_target')?.source_labels).toEqual(['__address__']);
    expect(to('__param_module')?.source_labels).toEqual(['module']);
    expect(to('instance')?.source_labels).toEqual(['__param_target']);
    expect(to('__address__')?.replacement).toBe('smtp-probe:9469');
    // Order matters: __address__ is overwritten last, after it was copied into __param_target.
    expect(relabel.indexOf(to('__address__')!)).toBe(relabel.length - 1);
    for (const group of job.static_configs ?? []) {
      expect(group.labels?.module, 'every target group names its module').toBeTruthy();
      for (const t of group.targets) expect(typeof parseTargetUrl(t), t).toBe('object');
    }
  });

  test('the /probe modules exist in the config docker-compose runs, and credentialed ones only aim at their probe_targets', () => {
    const { result } = loadExample('starttls-auth.yaml');
    expect(result.ok).toBe(true);
    if (!result.ok) return;
    const job = prom.scrape_configs.find((s) => s.metrics_path === '/probe')!;
    for (const group of job.static_configs ?? []) {
      const mod = result.config.modules[group.labels!.module!];
      expect(mod, `module ${group.labels!.module}`).toBeDefined();
      if (mod!.hasCredentials) {
        const urls = group.targets.map((t) => (parseTargetUrl(t) as TargetUrl).url);
        for (const u of urls) expect(mod!.probeTargets ?? [], u).toContain(u);
      }
    }
  });
});

describe('examples/alert-rules.yml', () => {
  test('promtool check rules', (ctx) => {
    if (!PROMTOOL) ctx.skip(NO_PROMTOOL);
    const r = promtool(['check', 'rules', example('alert-rules.yml')]);
    expect(r.code, r.out).toBe(0);
    expect(r.out).toMatch(/SUCCESS: \d+ rules found/);
  });

  test('promtool test rules: the alerts fire on synthetic series as intended', (ctx) => {
    if (!PROMTOOL) ctx.skip(NO_PROMTOOL);
    const r = promtool(['test', 'rules', join(ROOT, 'test/examples/alert-rules.promtest.yml')]);
    expect(r.code, r.out).toBe(0);
    expect(r.out).toMatch(/SUCCESS/);
  });

  test('every smtp_probe_* and probe_* name is a metric of docs/metrics.md', () => {
    const allowed = seriesNames(METRICS);
    for (const rule of allRules) {
      for (const id of smtpProbeIdentifiers(rule.expr)) expect(allowed, `${rule.alert}: ${id}`).toContain(id);
      for (const m of rule.expr.matchAll(/(?<![a-z_])probe_[a-z_]+/g)) expect(PROBE_METRICS, `${rule.alert}: ${m[0]}`).toContain(m[0]);
    }
  });

  test('covers the situations the examples promise', () => {
    const expr = (alert: string) => allRules.find((r) => r.alert === alert)?.expr ?? '';
    expect(expr('SmtpProbeTargetDown')).toMatch(/smtp_probe_success\b/);
    expect(expr('SmtpProbePhaseSlow')).toMatch(/smtp_probe_phase_last_duration_seconds/);
    expect(expr('SmtpProbeCertificateExpiringSoon')).toMatch(/smtp_probe_tls_cert_expiry_timestamp_seconds - time\(\)/);
    expect(expr('SmtpProbeRunsSkipped')).toMatch(/rate\(smtp_probe_runs_skipped_total\[/);
    expect(expr('SmtpProbeExporterDown')).toMatch(/^up\{job="smtp-probe"\} == 0$/);
    expect(expr('SmtpProbeConfigReloadFailed')).toMatch(/smtp_probe_config_last_reload_successful == 0/);
    for (const rule of allRules) {
      expect(rule.for, `${rule.alert} has a for:`).toMatch(/^\d+[smh]$/);
      expect(rule.labels?.severity, `${rule.alert} severity`).toMatch(/^(critical|warning)$/);
      expect(rule.annotations?.summary, `${rule.alert} summary`).toBeTruthy();
    }
  });
});
