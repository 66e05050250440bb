/**
 * examples/grafana-dashboard.json. Grafana itself cannot run here (no Grafana server, no browser), so this checks
 * what can be checked without it: the JSON parses and has a dashboard's structure (schemaVersion, the
 * ${DS_PROMETHEUS} data source variable, the `target` variable from label_values(smtp_probe_success, target),
 * panels with unique ids and grid positions, queries with expressions), and every smtp_probe_* name in a query
 * is a metric of docs/metrics.md (generated from the code; histograms also as _bucket/_sum/_count). With promtool on PATH, every
 * expression, Grafana's variables substituted, must also parse as PromQL.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, test } from 'vitest';
import { stringify } from 'yaml';
import { METRICS, onPath, readExample, seriesNames, smtpProbeIdentifiers } from './support.js';

interface Target {
  refId: string;
  expr?: string;
  datasource?: { type?: string; uid?: string };
}

interface Panel {
  id: number;
  type: string;
  title: string;
  gridPos: { x: number; y: number; w: number; h: number };
  datasource?: { type?: string; uid?: string };
  targets?: Target[];
  panels?: Panel[];
}

interface Variable {
  name: string;
  type: string;
  query?: string | { query?: string };
  definition?: string;
  datasource?: { uid?: string };
}

interface Dashboard {
  title: string;
  uid: string;
  schemaVersion: number;
  panels: Panel[];
  templating: { list: Variable[] };
}

const dashboard = JSON.parse(readExample('grafana-dashboard.json')) as Dashboard;
const allPanels: Panel[] = dashboard.panels.flatMap((p) => [p, ...(p.panels ?? [])]);
const queryPanels = allPanels.filter((p) => p.type !== 'row');
const exprs = queryPanels.flatMap((p) => (p.targets ?? []).map((t) => ({ panel: p.title, expr: t.expr ?? '' })));

describe('examples/grafana-dashboard.json', () => {
  test('is a dashboard: title, uid, schemaVersion ~39', () => {
    expect(dashboard.title).toBeTruthy();
    expect(dashboard.uid).toMatch(/^[A-Za-z0-9_-]{1,40}$/);
    expect(dashboard.schemaVersion).toBeGreaterThanOrEqual(36);
    expect(dashboard.schemaVersion).toBeLessThanOrEqual(41);
  });

  test('has the ${DS_PROMETHEUS} data source variable and the target variable', () => {
    const vars = dashboard.templating.list;
    const ds = vars.find((v) => v.name === 'DS_PROMETHEUS');
    expect(ds?.type).toBe('datasource');
    expect(ds?.query).toBe('prometheus');
    const target = vars.find((v) => v.name === 'target')!;
    expect(target.type).toBe('query');
    expect(target.datasource?.uid).toBe('${DS_PROMETHEUS}');
    const q = typeof target.query === 'string' ? target.query : target.query?.query;
    expect(q).toBe('label_values(smtp_probe_success, target)');
  });

  test('panel ids are unique, and every panel has a grid position inside 24 columns', () => {
    const ids = allPanels.map((p) => p.id);
    expect(new Set(ids).size).toBe(ids.length);
    for (const p of allPanels) {
      expect(Number.isInteger(p.id), p.title).toBe(true);
      expect(p.gridPos.x + p.gridPos.w, p.title).toBeLessThanOrEqual(24);
      expect(p.gridPos.h, p.title).toBeGreaterThan(0);
    }
  });

  test('every non-row panel queries the ${DS_PROMETHEUS} data source with expressions', () => {
    expect(queryPanels.length).toBeGreaterThan(5);
    for (const p of queryPanels) {
      expect(p.datasource?.uid, p.title).toBe('${DS_PROMETHEUS}');
      expect(p.targets?.length, p.title).toBeGreaterThan(0);
      const refs = p.targets!.map((t) => t.refId);
      expect(new Set(refs).size, `${p.title}: refIds`).toBe(refs.length);
      for (const t of p.targets!) expect(t.expr?.trim(), `${p.title} ${t.refId}`).toBeTruthy();
    }
  });

  test('every smtp_probe_* name in a query is a metric of docs/metrics.md', () => {
    const allowed = seriesNames(METRICS);
    const used = new Set<string>();
    for (const { panel, expr } of exprs) {
      const ids = smtpProbeIdentifiers(expr);
      expect(ids.length, `${panel}: ${expr}`).toBeGreaterThan(0);
      for (const id of ids) {
        expect(allowed, `${panel}: ${id}`).toContain(id);
        used.add(id);
      }
    }
    // The panels the dashboard is for.
    for (const needed of [
      'smtp_probe_phase_last_duration_seconds',
      'smtp_probe_module_phase_duration_seconds_bucket',
      'smtp_probe_reply_code',
      'smtp_probe_success',
      'smtp_probe_tls_cert_expiry_timestamp_seconds',
      'smtp_probe_runs_skipped_total',
      'smtp_probe_schedule_lag_seconds_bucket',
    ]) {
      expect(used, needed).toContain(needed);
    }
    const joined = exprs.map((e) => e.expr).join('\n');
    // Per-target quantiles from the last-run gauge every target has; per-module ones from the module histogram (the
    // default phase_histograms); the per-target histogram is opt-in, so no panel needs it.
    expect(joined).toContain('quantile_over_time(0.95, smtp_probe_phase_last_duration_seconds{target=~"$target"}[1h])');
    expect(joined).toMatch(/histogram_quantile\(0\.95, sum by \(module, phase, le\) \(rate\(smtp_probe_module_phase_duration_seconds_bucket\{module=~"\$module"\}/);
    expect(joined).not.toContain('smtp_probe_phase_duration_seconds_bucket');
    expect(joined).toMatch(/avg_over_time\(smtp_probe_success\{/);
    expect(joined).toContain('(smtp_probe_tls_cert_expiry_timestamp_seconds{target=~"$target"} - time()) / 86400');
  });

  test('queries of per-target metrics follow the target variable', () => {
    const global = ['smtp_probe_schedule_lag_seconds', 'smtp_probe_build_info', 'smtp_probe_config_last_reload_successful', 'smtp_probe_module_phase_duration_seconds'];
    for (const { panel, expr } of exprs) {
      const perTarget = smtpProbeIdentifiers(expr).some((id) => !global.some((g) => id.startsWith(g)));
      if (perTarget) expect(expr, panel).toContain('target=~"$target"');
    }
  });

  test('the metric list used above is read from docs/metrics.md', () => {
    expect(METRICS).toMatchObject({ smtp_probe_success: 'other', smtp_probe_phase_duration_seconds: 'histogram', smtp_probe_schedule_lag_seconds: 'histogram' });
  });

  test('every expression parses as PromQL (promtool, variables substituted)', (ctx) => {
    const promtool = onPath('promtool');
    if (!promtool) ctx.skip('promtool is not on PATH (Debian: apt-get install --no-install-recommends prometheus)');
    const substituted = exprs.map(({ panel, expr }, i) => ({
      record: `dashboard:expr_${i}`,
      expr: expr.replaceAll('$__rate_interval', '2m').replaceAll('$__range', '6h').replaceAll('$target', '.*').replaceAll('$module', '.*'),
      labels: { panel },
    }));
    const dir = mkdtempSync(join(tmpdir(), 'smtp-probe-dashboard-'));
    try {
      const file = join(dir, 'dashboard-rules.yml');
      writeFileSync(file, stringify({ groups: [{ name: 'dashboard', rules: substituted }] }));
      let out = '';
      let code = 0;
      try {
        out = execFileSync(promtool!, ['check', 'rules', file], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
      } catch (e) {
        const err = e as { status?: number; stdout?: string; stderr?: string };
        code = err.status ?? -1;
        out = `${err.stdout ?? ''}${err.stderr ?? ''}`;
      }
      expect(code, out).toBe(0);
      expect(out).toContain(`SUCCESS: ${substituted.length} rules found`);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
