/** The posture section of `/targets/{name}`: the last posture run's findings, and what changed last. */
import { findingPlace, type PostureChange, type PostureSnapshot, type PostureVerdict } from '../core/posture.js';
import { esc } from './escape.js';
import { when } from './format.js';

const CLASS: Record<PostureVerdict, string> = { pass: 'ok', warn: 'warn', fail: 'bad', 'n/a': 'mut' };

function change(c: PostureChange, domain: string): string {
  const v = (x: PostureVerdict | null, none: string): string => (x === null ? `<span class="mut">${none}</span>` : `<span class="${CLASS[x]}">${x}</span>`);
  return `<li>${esc(c.check)} at ${esc(findingPlace(c, domain))}: ${v(c.from, 'new')} → ${v(c.to, 'gone')}${c.reason ? ` <span class="mut">(${esc(c.reason)})</span>` : ''}</li>`;
}

export function postureSection(p: PostureSnapshot | null): string {
  if (!p) return '';
  const count = (v: PostureVerdict): number => p.findings.filter((f) => f.result === v).length;
  const sum = (['fail', 'warn', 'pass', 'n/a'] as const).map((v) => `<span class="${CLASS[v]}">${count(v)} ${v}</span>`).join(' · ');
  const changed = p.lastChange
    ? `<p>Last change ${esc(when(p.lastChange.at))} <span class="mut">(since the run of ${esc(when(p.lastChange.previousAt))})</span>:</p>` +
      `<ul class="chg">${p.lastChange.changes.map((c) => change(c, p.domain)).join('')}</ul>`
    : `<p class="mut">No change seen${p.previousAt ? '' : ' yet: this is the first run since the daemon started'}.</p>`;
  const problems = p.problems.length ? `<ul class="warn">${p.problems.map((x) => `<li>${esc(x)}</li>`).join('')}</ul>` : '';
  const rows = p.findings.map((f) => `<tr class="${f.result === 'fail' ? 'bad' : ''}"><td>${esc(f.check)}</td><td class="mono">${esc(findingPlace(f, p.domain))}</td>` +
    `<td class="${CLASS[f.result]}">${f.result}</td><td>${esc(f.reason ?? '')}</td><td>${esc(f.detail)}</td></tr>`).join('');
  return `<h2 id="posture">Posture of ${esc(p.domain)} <span class="mut">${esc(when(p.at))}</span></h2><p class="sum">${sum}</p>${changed}${problems}` +
    `<div class="tw"><table class="posture"><thead><tr><th>Check</th><th>Where</th><th>Result</th><th>Reason</th><th>Detail</th></tr></thead><tbody>${rows}</tbody></table></div>`;
}
