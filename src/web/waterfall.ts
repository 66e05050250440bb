import type { CheckResult, PhaseRecord } from '../core/result.js';
import { esc } from './escape.js';
import { duration, when } from './format.js';

/** Row height and where each column sits (x in % of the width, so the labels keep their size on a phone). */
const ROW = 22;
const BAR_FROM = 24;
const BAR_SPAN = 53;

/** One phase placed on the run's time line: phases follow each other, so each starts where the last one ended. */
export interface PlacedPhase {
  record: PhaseRecord;
  startMs: number;
  /** This phase is where the run failed (the record's failure phase, the last phase of that name not ok). */
  failed: boolean;
}

/** The phases of a record with their start offsets, and the failing one marked. */
export function placePhases(r: CheckResult): PlacedPhase[] {
  let failedAt = -1;
  if (r.failure) {
    for (let i = r.phases.length - 1; i >= 0 && failedAt < 0; i--) {
      const p = r.phases[i]!;
      if (p.phase === r.failure.phase && !p.ok) failedAt = i;
    }
  }
  let at = 0;
  return r.phases.map((record, i) => {
    const placed = { record, startMs: at, failed: i === failedAt };
    at += record.durationMs;
    return placed;
  });
}

/** What one bar's tooltip says: phase, reply, recipient or address, when it started and how long it took. */
function phaseTip(p: PlacedPhase): string {
  const r = p.record;
  const reply = [r.code, r.enhancedCode].filter((c) => c !== undefined).join(' ');
  const about = [reply, r.recipient, r.address, r.mechanism, r.detail].filter((s) => s).join(', ');
  const state = p.failed ? 'FAILED' : r.ok ? 'ok' : 'not ok';
  return `${r.phase}${about ? ` (${about})` : ''}: ${state}, ${duration(r.durationMs)} from ${duration(p.startMs)}`;
}

const pct = (n: number): string => `${Math.round(n * 100) / 100}%`;

function phaseRow(p: PlacedPhase, i: number, totalMs: number): string {
  const r = p.record;
  const y = i * ROW;
  const x = BAR_FROM + (p.startMs / totalMs) * BAR_SPAN;
  const w = Math.max((r.durationMs / totalMs) * BAR_SPAN, 0.4);
  const cls = p.failed ? 'fail' : r.ok ? 'ok' : 'warn';
  const code = r.code !== undefined ? `${r.code} ` : '';
  return `<g class="ph ${cls}" data-phase="${esc(r.phase)}"><title>${esc(phaseTip(p))}</title>` +
    `<rect class="row" x="0" y="${y}" width="100%" height="${ROW}"/>` +
    `<text x="4" y="${y + 15}">${esc(r.phase)}${p.failed ? ' ✗' : ''}</text>` +
    `<rect class="b" x="${pct(x)}" y="${y + 5}" width="${pct(w)}" height="${ROW - 10}" rx="2"/>` +
    `<text class="ms" x="99%" y="${y + 15}" text-anchor="end">${esc(code)}${duration(r.durationMs)}</text></g>`;
}

/**
 * The phase waterfall of one run as inline SVG: one bar per phase at its start offset and as long as it took, the
 * failing phase red and marked ✗, the reply code and milliseconds on the right; a `<title>` per bar for the details.
 */
export function waterfall(r: CheckResult, caption: string): string {
  const placed = placePhases(r);
  const sum = placed.reduce((t, p) => t + p.record.durationMs, 0);
  const totalMs = Math.max(sum, r.durationMs, 0.001);
  const head = `<figcaption>${esc(caption)} <span class="mut">${esc(when(r.startedAt))}, ${duration(r.durationMs)}` +
    `${r.ok ? ', ok' : r.failure ? `, failed at ${esc(r.failure.phase)}` : ', failed'}</span></figcaption>`;
  if (placed.length === 0) return `<figure class="wf">${head}<p class="mut">No phase was recorded.</p></figure>`;
  const rows = placed.map((p, i) => phaseRow(p, i, totalMs)).join('');
  const h = placed.length * ROW;
  const label = `phase waterfall: ${placed.length} phases, ${duration(totalMs)}`;
  return `<figure class="wf">${head}<svg xmlns="http://www.w3.org/2000/svg" width="100%" height="${h}" role="img" ` +
    `aria-label="${esc(label)}">${rows}</svg></figure>`;
}
