import type { RunSummary } from '../history/view.js';
import { esc } from './escape.js';
import { duration, when } from './format.js';

/** What a history cell's tooltip says: when, how long, and why it failed. */
export function runTip(run: RunSummary): string {
  const head = `${when(run.startedAt)}, ${duration(run.durationMs)}`;
  return run.ok ? `${head}: ok` : `${head}: ${run.failure ?? 'failed'}`;
}

/**
 * The history bar: one cell per kept run, oldest first, red for a failed run; each cell's `title` is its tooltip
 * (the page's script shows the same text on hover and tap). Kept small: `<i>` per cell, a class only when failed.
 */
export function historyBar(history: readonly RunSummary[], big = false): string {
  let cells = '';
  for (const run of history) cells += `<i${run.ok ? '' : ' class="f"'} title="${esc(runTip(run))}"></i>`;
  const failed = history.reduce((n, r) => n + (r.ok ? 0 : 1), 0);
  const label = `${history.length} runs, ${failed} failed`;
  return `<div class="bar${big ? ' big' : ''}" role="img" aria-label="${label}">${cells}</div>`;
}

/** Since when a failing target has been failing: the first run of its current streak of failures, and how many. */
export function failingStreak(history: readonly RunSummary[]): { since: string; runs: number } | null {
  let i = history.length;
  while (i > 0 && !history[i - 1]!.ok) i--;
  const runs = history.length - i;
  return runs === 0 ? null : { since: history[i]!.startedAt, runs };
}
