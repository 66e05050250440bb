/** How times, durations and shares read on the pages and badges. Times are UTC. */

const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];

/** `Dec 05 05:22:03` (UTC) from an ISO time; the text itself when it is not one. */
export function when(iso: string): string {
  if (!ISO.test(iso)) return iso;
  return `${MONTHS[Number(iso.slice(5, 7)) - 1] ?? iso.slice(5, 7)} ${iso.slice(8, 10)} ${iso.slice(11, 19)}`;
}

const ISO = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d/;

/** `0.4 ms`, `12 ms`, `1.25 s`. */
export function duration(ms: number): string {
  if (!Number.isFinite(ms)) return '?';
  if (ms < 10) return `${(Math.round(ms * 10) / 10).toFixed(1)} ms`;
  if (ms < 1000) return `${Math.round(ms)} ms`;
  return `${(ms / 1000).toFixed(ms < 10_000 ? 2 : 1)} s`;
}

/** A share 0..1 as a percentage, cut (not rounded) to two decimals so 0.99996 never reads 100%; null: `–`. */
export function percent(share: number | null): string {
  if (share === null || !Number.isFinite(share)) return '–';
  if (share >= 1) return '100%';
  return `${(Math.floor(share * 10_000) / 100).toFixed(2)}%`;
}

/** A number of milliseconds rounded for a column, or `–`. */
export function millis(ms: number | null): string {
  return ms === null || !Number.isFinite(ms) ? '–' : `${Math.round(ms)} ms`;
}
