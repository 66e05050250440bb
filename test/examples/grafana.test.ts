/**
 * examples/grafana-dashboard.json. Grafana itself cannot run here (no Grafana server, no browser), so this checks
 * what can be checked without it:
 * - the structure: a dashboard (schemaVersion, uid), the data source, target and module variables, the rows, panels
 *   with unique ids, grid positions inside 24 columns that do not overlap, every query on the ${DS_PROMETHEUS}
 *   data source, unique refIds;
 * - the queries: per-target quantiles from quantile_over_time on the last-run gauge (never a sum over targets),
 *   per-module ones from the module histogram, and every per-target query following the target variable;
 * - the names: every smtp_probe_* name in a query or a variable is a metric of docs/metrics.md, and is found on the
 *   live /metrics of a daemon whose config produces them all (grafana-daemon.ts), with every label a query
 *   matches or groups by and every exact label value it asks for;
 * - the syntax: with promtool on PATH, every expression, Grafana's variables substituted, parses as PromQL
 *   (`promtool check rules`, the expressions as recording rules). test/real/grafana.test.ts runs them all on a
 *   real Prometheus scraping that daemon.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { stringify } from 'yaml';
import { closeAll } from '../helpers/cleanup.js';
import { parseExposition, type Sample } from '../metrics/exposition.js';
import {
  allPanels, dashboard, exprs, queryPanels, startDashboardDaemon, substitute, variableExprs, variableQuery, type DashboardDaemon,
} from './grafana-daemon.js';
import { METRICS, onPath, seriesNames, smtpProbeIdentifiers } from './support.js';

const DS = '${DS_PROMETHEUS}';

/** Metrics without a target label: their queries need not follow the target variable. */
const GLOBAL = [
  'smtp_probe_schedule_lag_seconds', 'smtp_probe_build_info', 'smtp_probe_config_last_reload_successful',
  'smtp_probe_module_phase_duration_seconds', 'smtp_probe_alerts_firing', 'smtp_probe_notifications_total',
  'smtp_probe_notification_queue_length',
];

describe('examples/grafana-dashboard.json: structure', () => {
  test('is a dashboard: title, uid, schemaVersion ~39', () => {
    expect(dashboard.title).toBeTruthy();
    expect(dashboard.uid).toMatch(/^[A-Za-z0-9_-]{1,40}$/);
    expect(dashboard.schemaVersion).toBeGreaterThanOrEqual(36);
    expect(dashboard.schemaVersion).toBeLessThanOrEqual(41);
  });

  test('variables: the ${DS_PROMETHEUS} data source, target and module from label_values on that data source', () => {
    const vars = dashboard.templating.list;
    const ds = vars.find((v) => v.name === 'DS_PROMETHEUS');
    expect(ds?.type).toBe('datasource');
    expect(ds?.query).toBe('prometheus');
    const expected = { target: 'label_values(smtp_probe_success, target)', module: 'label_values(smtp_probe_module_phase_duration_seconds_count, module)' };
    for (const [name, query] of Object.entries(expected)) {
      const v = vars.find((x) => x.name === name)!;
      expect(v.type, name).toBe('query');
      expect(v.datasource?.uid, name).toBe(DS);
      expect(variableQuery(v), name).toBe(query);
    }
  });

  test('rows, in order: Overview, Latency, TLS, MX & round trip, Alerts, Capacity, then scheduling', () => {
    const rows = dashboard.panels.filter((p) => p.type === 'row').map((p) => p.title);
    expect(rows).toEqual(['Overview', 'Latency', 'TLS', 'MX & round trip', 'Alerts', 'Capacity', 'Scheduling and smtp-probe']);
    // Every row has panels under it before the next row starts.
    const top = dashboard.panels;
    top.forEach((p, i) => {
      if (p.type === 'row') expect(top[i + 1]?.type, `row ${p.title} is empty`).not.toBe('row');
    });
  });

  test('panel ids are unique; every panel has a grid position inside 24 columns, and no two overlap', () => {
    const ids = allPanels.map((p) => p.id);
    expect(new Set(ids).size).toBe(ids.length);
    const taken = new Map<string, string>();
    for (const p of allPanels) {
      expect(Number.isInteger(p.id), p.title).toBe(true);
      const { x, y, w, h } = p.gridPos;
      expect([x, y, w, h].every((n) => Number.isInteger(n) && n >= 0), p.title).toBe(true);
      expect(x + w, p.title).toBeLessThanOrEqual(24);
      expect(w * h, p.title).toBeGreaterThan(0);
      for (let cx = x; cx < x + w; cx++) {
        for (let cy = y; cy < y + h; cy++) {
          const cell = `${cx},${cy}`;
          expect(taken.get(cell), `${p.title} overlaps ${taken.get(cell)} at ${cell}`).toBeUndefined();
          taken.set(cell, p.title);
        }
      }
    }
    // Panels come in the order they are laid out, so each lies under the row it was put in.
    const ys = dashboard.panels.map((p) => p.gridPos.y);
    expect(ys).toEqual([...ys].sort((a, b) => a - b));
  });

  test('every non-row panel and every query use the ${DS_PROMETHEUS} data source; refIds unique, expressions given', () => {
    expect(queryPanels.length).toBeGreaterThan(30);
    for (const p of queryPanels) {
      expect(p.datasource, p.title).toEqual({ type: 'prometheus', uid: DS });
      expect(p.targets?.length, p.title).toBeGreaterThan(0);
      const refs = p.targets!.map((t) => t.refId);
      expect(new Set(refs).size, `${p.title}: refIds`).toBe(refs.length);
      for (const t of p.targets!) {
        expect(t.expr?.trim(), `${p.title} ${t.refId}`).toBeTruthy();
        expect(t.datasource, `${p.title} ${t.refId}`).toEqual({ type: 'prometheus', uid: DS });
      }
    }
  });
});

describe('examples/grafana-dashboard.json: queries', () => {
  const joined = exprs.map((e) => e.expr).join('\n');

  test('every smtp_probe_* name in a query or variable is a metric of docs/metrics.md', () => {
    const allowed = seriesNames(METRICS);
    for (const { panel, expr } of [...exprs, ...variableExprs]) {
      const ids = smtpProbeIdentifiers(expr);
      expect(ids.length, `${panel}: ${expr}`).toBeGreaterThan(0);
      for (const id of ids) expect(allowed, `${panel}: ${id}`).toContain(id);
    }
  });

  test('the panels the dashboard is for', () => {
    const used = new Set(exprs.flatMap(({ expr }) => smtpProbeIdentifiers(expr)));
    for (const needed of [
      'smtp_probe_success', 'smtp_probe_duration_seconds', 'smtp_probe_phase_last_duration_seconds',
      'smtp_probe_module_phase_duration_seconds_bucket', 'smtp_probe_reply_code', 'smtp_probe_failures_total',
      'smtp_probe_warnings', 'smtp_probe_tls_verified', 'smtp_probe_tls_cert_expiry_timestamp_seconds',
      'smtp_probe_tls_version_info', 'smtp_probe_mx_up_ratio', 'smtp_probe_mx_info', 'smtp_probe_roundtrip_seconds_bucket',
      'smtp_probe_roundtrip_late_total', 'smtp_probe_roundtrip_never_total', 'smtp_probe_hop_delay_seconds',
      'smtp_probe_received_hops', 'smtp_probe_alerts_firing', 'smtp_probe_notifications_total',
      'smtp_probe_notification_queue_length', 'smtp_probe_runs_skipped_total', 'smtp_probe_schedule_lag_seconds_bucket',
      'smtp_probe_capacity_max_concurrent_ok', 'smtp_probe_capacity_phase_seconds', 'smtp_probe_capacity_sessions',
      'smtp_probe_capacity_last_run_timestamp_seconds',
    ]) {
      expect(used, needed).toContain(needed);
    }
  });

  test('per-target quantiles come from quantile_over_time per target and phase, per-module ones from the module histogram', () => {
    // Per target: the last-run gauge every target has, in a sliding hour and over the dashboard's range.
    expect(joined).toContain('max by (target, phase) (quantile_over_time(0.95, smtp_probe_phase_last_duration_seconds{target=~"$target"}[1h]))');
    expect(joined).toContain('max by (target, phase) (quantile_over_time(0.5, smtp_probe_phase_last_duration_seconds{target=~"$target"}[1h]))');
    expect(joined).toContain('max by (target, phase) (quantile_over_time(0.95, smtp_probe_phase_last_duration_seconds{target=~"$target"}[$__range]))');
    // Per module: the default phase_histograms; the per-target histogram is opt-in, so no panel needs it.
    for (const q of ['0.95', '0.5']) {
      expect(joined).toContain(`histogram_quantile(${q}, sum by (le, module, phase) (rate(smtp_probe_module_phase_duration_seconds_bucket{module=~"$module"}[$__rate_interval])))`);
    }
    expect(joined).not.toContain('smtp_probe_phase_duration_seconds_bucket');
    // No quantile is summed or averaged across targets: every aggregation of a quantile keeps target (or module).
    for (const { panel, expr } of exprs) {
      for (const m of expr.matchAll(/(\w+) by \(([^)]*)\) \((?:quantile_over_time|histogram_quantile)/g)) {
        expect(m[2]!.split(/,\s*/), `${panel}: ${expr}`).toEqual(expect.arrayContaining([expect.stringMatching(/^(target|module)$/)]));
      }
      for (const m of expr.matchAll(/histogram_quantile\([\d.]+, sum by \(([^)]*)\)/g)) {
        expect(m[1]!.split(/,\s*/), `${panel}: ${expr}`).toEqual(expect.arrayContaining(['le']));
        if (!expr.includes('schedule_lag')) expect(m[1], `${panel}: ${expr}`).toMatch(/\b(target|module)\b/);
      }
    }
  });

  test('the panels of the issue: success ratio, MX up ratio, round trip, hop delays, alerts, notifications, TLS, certificate days, capacity', () => {
    expect(joined).toMatch(/avg_over_time\(smtp_probe_success\{target=~"\$target"\}\[\$__range\]\)/);
    expect(joined).toContain('min by (target) (smtp_probe_mx_up_ratio{target=~"$target"})');
    expect(joined).toContain('histogram_quantile(0.95, sum by (le, target) (rate(smtp_probe_roundtrip_seconds_bucket{target=~"$target"}[1h])))');
    expect(joined).toContain('max by (target, hop) (smtp_probe_hop_delay_seconds{target=~"$target"})');
    expect(joined).toContain('sum by (receiver, result) (increase(smtp_probe_notifications_total[$__rate_interval]))');
    expect(joined).toContain('sum by (alert) (smtp_probe_alerts_firing)');
    expect(joined).toContain('min by (target) (smtp_probe_tls_verified{target=~"$target"})');
    expect(joined).toContain('(smtp_probe_tls_cert_expiry_timestamp_seconds{target=~"$target"} - time()) / 86400');
    expect(joined).toMatch(/smtp_probe_capacity_phase_seconds\{target=~"\$target", phase="banner", quantile="0\.95"\}/);
    expect(joined).toMatch(/smtp_probe_capacity_sessions\{target=~"\$target", result="421"\}/);
  });

  test('queries of per-target metrics follow the target variable', () => {
    for (const { panel, expr } of exprs) {
      const perTarget = smtpProbeIdentifiers(expr).some((id) => !GLOBAL.some((g) => id.startsWith(g)));
      if (perTarget) expect(expr, panel).toContain('target=~"$target"');
    }
  });

  test('the metric list used above is read from docs/metrics.md', () => {
    expect(METRICS).toMatchObject({ smtp_probe_success: 'other', smtp_probe_phase_duration_seconds: 'histogram', smtp_probe_schedule_lag_seconds: 'histogram' });
  });

  test('every expression parses as PromQL (promtool check rules, variables substituted)', (ctx) => {
    const promtool = onPath('promtool');
    if (!promtool) ctx.skip('promtool is not on PATH (Debian: apt-get install --no-install-recommends prometheus)');
    const substituted = exprs.map(({ panel, expr }, i) => ({
      record: `dashboard:expr_${i}`,
      expr: substitute(expr),
      labels: { panel },
    }));
    expect(substituted.map((r) => r.expr).join('\n')).not.toContain('$');
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

interface Matcher {
  label: string;
  op: string;
  value: string;
}

/** Each smtp_probe_* selector of an expression with its label matchers. */
function selectors(expr: string): { name: string; matchers: Matcher[] }[] {
  return [...expr.matchAll(/\b(smtp_probe_[a-zA-Z0-9_]*)(?:\{([^}]*)\})?/g)].map((m) => ({
    name: m[1]!,
    matchers: [...(m[2] ?? '').matchAll(/([a-zA-Z_][a-zA-Z0-9_]*)\s*(=~|!~|!=|=)\s*"((?:[^"\\]|\\.)*)"/g)].map((x) => ({ label: x[1]!, op: x[2]!, value: x[3]! })),
  }));
}

/** The labels of every `by (...)` / `without (...)` / label_values(metric, label) in an expression. */
function groupingLabels(expr: string): string[] {
  const by = [...expr.matchAll(/\b(?:by|without) \(([^)]*)\)/g)].flatMap((m) => m[1]!.split(/,\s*/));
  const lv = [...expr.matchAll(/label_values\([^,]+,\s*([a-zA-Z_][a-zA-Z0-9_]*)\)/g)].map((m) => m[1]!);
  return [...by, ...lv].filter((l) => l !== '' && !SCRAPE_LABELS.includes(l));
}

/** Labels Prometheus adds to every series it scrapes: not on /metrics, always on the queried series. */
const SCRAPE_LABELS = ['instance', 'job'];

/**
 * What an expression asks of /metrics that is not there: a name without samples, a label no sample of that name
 * has (matched or grouped by), an exact label value no sample has. Empty when the live /metrics serves it all.
 */
function missingOn(samples: readonly Sample[], expr: string): string[] {
  const missing: string[] = [];
  const sels = selectors(expr);
  const of = (name: string): Sample[] => samples.filter((s) => s.name === name);
  for (const { name, matchers } of sels) {
    const mine = of(name);
    if (mine.length === 0) {
      missing.push(name);
      continue;
    }
    for (const { label, op, value } of matchers) {
      if (!mine.some((s) => label in s.labels)) missing.push(`${name}{${label}}`);
      else if (op === '=' && !value.includes('$') && !mine.some((s) => s.labels[label] === value)) missing.push(`${name}{${label}="${value}"}`);
    }
  }
  for (const label of groupingLabels(expr)) {
    if (!sels.some(({ name }) => of(name).some((s) => label in s.labels))) missing.push(`by ${label} (${sels.map((s) => s.name).join(', ')})`);
  }
  return missing;
}

describe('examples/grafana-dashboard.json: every name on a live /metrics', () => {
  let daemon: DashboardDaemon | null = null;

  beforeAll(async () => {
    daemon = await startDashboardDaemon();
  });

  afterAll(async () => {
    await daemon?.stop();
    await closeAll();
  });

  test('every name, label and exact label value of every query and variable is served', async () => {
    const all = [...exprs, ...variableExprs];
    let missing: string[] = ['(not scraped yet)'];
    let samples: Sample[] = [];
    for (const end = Date.now() + 30_000; missing.length > 0 && Date.now() < end; await new Promise((r) => setTimeout(r, 200))) {
      samples = parseExposition(await (await fetch(`${daemon!.base}/metrics`)).text()).samples;
      missing = [...new Set(all.flatMap(({ panel, expr }) => missingOn(samples, expr).map((m) => `${panel}: ${m}`)))];
    }
    expect(missing).toEqual([]);
    // The check can fail: a misspelt name, an unknown label and a label value no series has are found.
    expect(missingOn(samples, 'smtp_probe_sucess{target=~"$target"}')).toEqual(['smtp_probe_sucess']);
    expect(missingOn(samples, 'smtp_probe_success{mxhost!=""}')).toEqual(['smtp_probe_success{mxhost}']);
    expect(missingOn(samples, 'smtp_probe_notifications_total{result="lost"}')).toEqual(['smtp_probe_notifications_total{result="lost"}']);
    expect(missingOn(samples, 'max by (target, colour) (smtp_probe_success)')).toEqual(['by colour (smtp_probe_success)']);
  }, 40_000);
});
