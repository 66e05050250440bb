import { describeFailure, type CheckResult, type TranscriptLine } from '../core/result.js';
import type { StatusSource, TargetDetail } from '../history/view.js';
import { BADGE_KINDS } from './badge.js';
import { badgeHref, esc } from './escape.js';
import { duration, millis, percent, when } from './format.js';
import { failingStreak, runTip, historyBar } from './history-bar.js';
import { shell } from './layout.js';
import { postureSection } from './posture.js';
import type { PageOptions } from './status-page.js';
import { waterfall } from './waterfall.js';

const sameRun = (a: CheckResult, b: CheckResult): boolean => a.startedAt === b.startedAt && a.probeId === b.probeId;

function facts(t: TargetDetail): string {
  const streak = t.status === 'failing' ? failingStreak(t.history) : null;
  const rows: [string, string][] = [
    ['Status', `<span class="st ${t.status}">${t.status}</span>${streak ? ` <span class="mut">since ${esc(when(streak.since))}, ${streak.runs} run${streak.runs === 1 ? '' : 's'}</span>` : ''}`],
    ['URL', `<span class="mono">${esc(t.url)}</span>`],
    ['Module', esc(t.module)],
    ['Labels', Object.entries(t.labels).map(([k, v]) => `<span class="lbl">${esc(k)}=${esc(v)}</span>`).join('') || '–'],
    ['Last run', t.lastRun ? esc(when(t.lastRun)) : 'none yet'],
    ['Uptime', `${percent(t.uptime['1h'])} 1 h · ${percent(t.uptime['24h'])} 24 h`],
    ['Latency', t.latencyMs.p95 === null ? '<span class="mut">no passing run kept</span>'
      : `p50 ${millis(t.latencyMs.p50)} · p95 ${millis(t.latencyMs.p95)} <span class="mut">(over the passing runs kept)</span>`],
    ['Certificate', t.certDaysLeft === null ? '–' : `${t.certDaysLeft} days left`],
    ['Firing alerts', t.firingAlerts.map((a) => `<span class="al">${esc(a)}</span>`).join('') || 'none'],
  ];
  return `<dl class="kv">${rows.map(([k, v]) => `<dt>${k}</dt><dd>${v}</dd>`).join('')}</dl>`;
}

function badges(name: string): string {
  return `<p class="badges">${BADGE_KINDS.map((k) => `<img src="${badgeHref(name, k)}" alt="${esc(k)} badge" height="20">`).join('')}</p>`;
}

/**
 * The last run and, side by side, the run to compare it with: the last failure when the last run passed, the last
 * good run when it failed; mx://: also one per host of the last run.
 */
function waterfalls(t: TargetDetail): string {
  const out: string[] = [];
  const last = t.lastResult;
  const fail = t.lastFailure;
  const good = t.lastSuccess;
  if (last) out.push(waterfall(last, last.ok ? 'Last run' : 'Last run (failed)'));
  if (fail && (!last || !sameRun(last, fail))) out.push(waterfall(fail, 'Last failure'));
  if (good && last && !last.ok && !sameRun(last, good)) out.push(waterfall(good, 'Last good run'));
  if (out.length === 0) return '<h2>Phases</h2><p class="mut">No run yet.</p>';
  let html = `<h2>Phases</h2><div class="grid">${out.join('')}</div>`;
  if (t.lastResults.length > 0) {
    const hosts = t.lastResults.map((r) => waterfall(r, r.mx ? `MX ${r.mx.host} (preference ${r.mx.preference}${r.mx.address ? `, ${r.mx.address}` : ''})` : r.target));
    html += `<h2>Last run, per MX host</h2><div class="grid">${hosts.join('')}</div>`;
  }
  return html;
}

/** Reply codes, detail and timing of each phase of a record. */
function phaseTable(r: CheckResult): string {
  const rows = r.phases.map((p) => {
    const about = [p.recipient, p.address, p.mechanism, p.detail].filter((s) => s).join(', ');
    return `<tr class="${p.ok ? '' : 'bad'}"><td>${esc(p.phase)}</td><td>${p.ok ? 'ok' : 'failed'}</td>` +
      `<td class="mono">${p.code ?? ''}${p.enhancedCode ? ` ${esc(p.enhancedCode)}` : ''}</td><td class="num">${duration(p.durationMs)}</td><td>${esc(about)}</td></tr>`;
  }).join('');
  return `<div class="tw"><table><thead><tr><th>Phase</th><th>Result</th><th>Reply</th><th class="num">Time</th><th>Detail</th></tr></thead><tbody>${rows}</tbody></table></div>`;
}

function lastResult(r: CheckResult | null): string {
  if (!r) return '';
  const lines = [
    r.failure ? `<p class="why">Failed: ${esc(describeFailure(r.failure))}</p>` : '<p class="ok">Passed.</p>',
    r.banner !== null ? `<p>Banner: <code>${esc(r.banner)}</code></p>` : '',
    r.tls ? `<p>TLS: ${esc(r.tls.version ?? '?')} ${esc(r.tls.cipher ?? '')}, certificate ${r.tls.verified ? 'verified' : `not verified${r.tls.verifyError ? ` (${esc(r.tls.verifyError)})` : ''}`}` +
      `${r.tls.subject ? `, subject ${esc(r.tls.subject)}` : ''}${r.tls.daysLeft !== null ? `, ${r.tls.daysLeft} days left` : ''}</p>` : '',
    r.warnings.length ? `<ul class="warn">${r.warnings.map((w) => `<li>${esc(w)}</li>`).join('')}</ul>` : '',
  ];
  return `<h2>Last result <span class="mut">${esc(when(r.startedAt))}</span></h2>${lines.join('')}${phaseTable(r)}`;
}

/** One transcript line: time, `C:` / `S:` / `*`, the text; a 4xx/5xx reply stands out. */
function transcriptLine(l: TranscriptLine): string {
  const cls = l.dir === '*' ? 'x' : l.dir;
  const err = l.dir === 'S' && /^[45]\d\d[ -]/.test(l.line) ? ' err' : '';
  return `<span class="${cls}${err}"><span class="t">${duration(l.t).padStart(9)}  </span>${l.dir === '*' ? '*' : `${l.dir}:`} ${esc(l.line)}</span>`;
}

function transcript(r: CheckResult): string {
  if (!r.transcript || r.transcript.length === 0) return '<p class="mut">No transcript was kept for this run.</p>';
  return `<pre class="tr">${r.transcript.map(transcriptLine).join('')}</pre>`;
}

/** The last failure's transcript in the open; the last run's (when another run) folded. */
function transcripts(t: TargetDetail): string {
  let html = '';
  const fail = t.lastFailure;
  if (fail) html += `<h2>Transcript of the last failure <span class="mut">${esc(when(fail.startedAt))}</span></h2>${transcript(fail)}`;
  const last = t.lastResult;
  if (last && (!fail || !sameRun(last, fail))) {
    html += `<details${fail ? '' : ' open'}><summary>Transcript of the last run (${esc(when(last.startedAt))})</summary>${transcript(last)}</details>`;
  }
  const good = t.lastSuccess;
  if (good && last && !last.ok && !sameRun(last, good)) {
    html += `<details><summary>Transcript of the last good run (${esc(when(good.startedAt))})</summary>${transcript(good)}</details>`;
  }
  return html;
}

function runsTable(t: TargetDetail): string {
  if (t.history.length === 0) return '';
  const rows = t.history.slice().reverse().map((r) => `<tr class="${r.ok ? '' : 'bad'}"><td class="num">${esc(when(r.startedAt))}</td>` +
    `<td>${r.ok ? 'ok' : 'failed'}</td><td class="num">${duration(r.durationMs)}</td><td>${esc(r.failure ?? '')}</td></tr>`).join('');
  return `<details><summary>Every kept run, newest first (${t.history.length})</summary><div class="tw"><table><thead><tr><th>Time</th><th>Result</th>` +
    `<th class="num">Time taken</th><th>Failure</th></tr></thead><tbody>${rows}</tbody></table></div></details>`;
}

/**
 * `/targets/{name}`: facts and badges, the history, the phase waterfall of the last run and of the last failure
 * (one per host for mx://), the last result's replies, the last failure's transcript, and the last posture run.
 */
export function targetPage(src: StatusSource, name: string, o: PageOptions): string | null {
  const t = src.target(name);
  if (!t) return null;
  const last = t.history.at(-1);
  const main = `<h2 class="tn">${esc(t.name)}</h2>${badges(t.name)}${facts(t)}` +
    `<h2>History <span class="mut">${t.history.length} run${t.history.length === 1 ? '' : 's'}, oldest → newest</span></h2>` +
    `${historyBar(t.history, true)}${last ? `<p class="mut">Last: ${esc(runTip(last))}</p>` : ''}${runsTable(t)}` +
    waterfalls(t) + transcripts(t) + lastResult(t.lastResult) + postureSection(t.posture);
  return shell({ title: `${t.name}: ${t.status} · smtp-probe`, nonce: o.nonce, version: src.version, main, failing: t.status === 'failing' });
}
