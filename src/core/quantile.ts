/** Percentiles by the nearest-rank method: always a value that was really seen (a run's or a session's time). */

/** The q-quantile (0..1) of values already sorted ascending; there must be at least one. */
export function nearestRank(sorted: readonly number[], q: number): number {
  return sorted[Math.max(0, Math.ceil(q * sorted.length) - 1)]!;
}

/** The q-quantile (0..1) of `values` in any order; null when there are none. */
export function quantile(values: readonly number[], q: number): number | null {
  return values.length === 0 ? null : nearestRank([...values].sort((a, b) => a - b), q);
}
