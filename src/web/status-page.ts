import { describeFailure } from '../core/result.js';
import type { AlertEvent, StatusSource, TargetDetail, TargetView } from '../history/view.js';
import { esc, targetHref } from './escape.js';
import { millis, percent, when } from './format.js';
import { failingStreak, historyBar } from './history-bar.js';
import { shell } from './layout.js';

/**
 * The status page fetches itself every 10 s while it is visible; a page of many targets (about 4.6 KiB each with a
 * full history) less often: 10 s more per 200 targets shown, at most a minute.
 */
export function refreshMs(shown: number): number {
  return Math.min(60_000, 10_000 * Math.max(1, Math.ceil(shown / 200)));
}

export interface PageOptions {
  nonce: string;
  /** Wall time of the answer (ms since the epoch), shown as "updated". */
  now: number;
}

/** What a failing target's row says about why: its last failure, for mx:// targets the host too. */
export function failureText(d: TargetDetail): string | null {
  if (d.status !== 'failing') return null;
  const f = d.lastResult?.failure;
  if (f) return `${d.lastResult?.mx ? `${d.lastResult.mx.host}: ` : ''}${describeFailure(f)}`;
  return d.history.at(-1)?.failure ?? null;
}

function statusCell(t: TargetDetail): string {
  const streak = t.status === 'failing' ? failingStreak(t.history) : null;
  const since = streak ? `<div class="mut">since ${esc(when(streak.since))}${streak.runs > 1 ? `, ${streak.runs} runs` : ''}</div>` : '';
  return `<td><span class="st ${t.status}">${t.status}</span>${since}</td>`;
}

function targetCell(t: TargetDetail): string {
  const labels = Object.entries(t.labels).map(([k, v]) => `<span class="lbl">${esc(k)}=${esc(v)}</span>`).join('');
  const why = failureText(t);
  return `<td><a class="tn" href="${targetHref(t.name)}">${esc(t.name)}</a><div class="url">${esc(t.url)} · ${esc(t.module)}</div>` +
    `${labels}${why ? `<div class="why">${esc(why)}</div>` : ''}</td>`;
}

function alertsCell(t: TargetView): string {
  return `<td data-l="Alerts">${t.firingAlerts.map((a) => `<span class="al">${esc(a)}</span>`).join('') || '<span class="mut">–</span>'}</td>`;
}

function certText(days: number | null): string {
  if (days === null) return '<span class="mut">–</span>';
  const cls = days < 7 ? 'bad' : days < 21 ? 'warn' : '';
  return `<span${cls ? ` class="${cls}"` : ''}>${days} d</span>`;
}

function row(t: TargetDetail): string {
  return `<tr class="t ${t.status}">${statusCell(t)}${targetCell(t)}<td class="h">${historyBar(t.history)}</td>` +
    `<td class="num" data-l="Uptime 24 h">${percent(t.uptime['24h'])}</td><td class="num" data-l="p95">${millis(t.latencyMs.p95)}</td>` +
    `<td class="num" data-l="Cert">${certText(t.certDaysLeft)}</td>${alertsCell(t)}</tr>`;
}

function summary(targets: readonly TargetView[], firing: number, now: number): string {
  const n = { ok: 0, failing: 0, pending: 0 };
  for (const t of targets) n[t.status]++;
  return `<p class="sum"><b class="ok">${n.ok} ok</b><b class="failing">${n.failing} failing</b><b class="pending">${n.pending} pending</b>` +
    `<span class="mut">${firing} alert${firing === 1 ? '' : 's'} firing · ${targets.length} target${targets.length === 1 ? '' : 's'} · ` +
    `updated ${esc(when(new Date(now).toISOString()))}</span></p>`;
}

function events(list: readonly AlertEvent[]): string {
  if (list.length === 0) return '<h2>Recent alert events</h2><p class="mut">None yet.</p>';
  const rows = list.slice().reverse().map((e) =>
    `<tr><td class="num">${esc(when(e.at))}</td><td class="${e.event === 'fired' || e.event === 'delivery_failed' || e.event === 'dropped' ? 'bad' : ''}">${esc(e.event)}</td>` +
    `<td>${esc(e.rule)}</td><td><a href="${targetHref(e.target)}">${esc(e.target)}</a></td><td>${esc(e.receiver ?? '')}</td><td>${esc(e.detail ?? '')}</td></tr>`).join('');
  return `<h2>Recent alert events</h2><div class="tw"><table class="ev"><thead><tr><th>Time</th><th>Event</th><th>Rule</th><th>Target</th><th>Receiver</th><th>Detail</th></tr></thead><tbody>${rows}</tbody></table></div>`;
}

/**
 * `/`: a summary line, then every target (`?failing=1`: the failing ones) with its status, history bar, uptime
 * 24 h, p95, certificate days and firing alerts, then the recent alert events. Refreshes itself.
 */
export function statusPage(src: StatusSource, query: URLSearchParams, o: PageOptions): string {
  const only = query.get('failing') === '1';
  // One pass over the targets (the firing alerts worked out once), not a target() call per row.
  const details = src.details(only ? 'failing' : undefined);
  const views: TargetView[] = only ? src.targets() : details; // the summary line counts every target
  const alerts = src.alerts();
  const filter = `<p><a href="${only ? '/' : '/?failing=1'}" data-filter="${only ? '0' : '1'}">${only ? 'Show all' : 'Show only failing'}</a></p>`;
  const empty = views.length === 0 ? 'No target is configured.' : 'No target is failing.';
  const body = details.length === 0 && (only || views.length === 0) ? `<tr><td colspan="7" class="none">${empty}</td></tr>` : details.map(row).join('\n');
  const table = '<table class="targets"><thead><tr><th>Status</th><th>Target</th><th>History (oldest → newest)</th><th class="num">Uptime 24 h</th>' +
    `<th class="num">p95</th><th class="num">Cert</th><th>Alerts</th></tr></thead><tbody>\n${body}\n</tbody></table>`;
  const failing = views.filter((v) => v.status === 'failing').length;
  const title = failing > 0 ? `${failing} failing · smtp-probe` : 'smtp-probe';
  const main = summary(views, alerts.firing.length, o.now) + filter + table + events(alerts.events);
  return shell({ title, nonce: o.nonce, version: src.version, main, mainClass: only ? 'only-failing' : '', refreshMs: refreshMs(details.length), failing: failing > 0 });
}
