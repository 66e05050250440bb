import type { RunSummary } from '../history/view.js';
import { esc } from './escape.js';
import { duration, when } from './format.js';

/** What a history cell's tooltip says: when, how long, and why it failed (a passing run: nothing more). */
export function runTip(run: RunSummary): string {
  const head = `${when(run.startedAt)}, ${duration(run.durationMs)}`;
  return run.ok ? head : `${head}: ${run.failure ?? 'failed'}`;
}

/**
 * The history bar: one cell per kept run, oldest first, red for a failed run; each cell's `title` is its tooltip
 * (the page's script shows the same text on hover and tap). Kept small and quick, since `/` draws one per target:
 * `<i>` per cell, a class only when failed; a failure text repeated run after run is escaped once.
 */
export function historyBar(history: readonly RunSummary[], big = false): string {
  const cells: string[] = [];
  let failed = 0;
  let lastFailure: string | null = null;
  let lastEscaped = '';
  for (const run of history) {
    const head = `${when(run.startedAt)}, ${duration(run.durationMs)}`;
    if (run.ok) {
      cells.push(`<i title="${esc(head)}"></i>`);
      continue;
    }
    failed++;
    const why = run.failure ?? 'failed';
    if (why !== lastFailure) [lastFailure, lastEscaped] = [why, esc(why)];
    cells.push(`<i class="f" title="${esc(head)}: ${lastEscaped}"></i>`);
  }
  const label = `${history.length} runs, ${failed} failed`;
  return `<div class="bar${big ? ' big' : ''}" role="img" aria-label="${label}">${cells.join('')}</div>`;
}

/** Since when a failing target has been failing: the first run of its current streak of failures, and how many. */
export function failingStreak(history: readonly RunSummary[]): { since: string; runs: number } | null {
  let i = history.length;
  while (i > 0 && !history[i - 1]!.ok) i--;
  const runs = history.length - i;
  return runs === 0 ? null : { since: history[i]!.startedAt, runs };
}
