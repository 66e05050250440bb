/** Durations are strings with units: `500ms`, `10s`, `5m`, `1h`, or combinations like `1m30s`. */
const UNIT_MS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 };

/** `allowZero`: "0s" (any zero) is 0 instead of an error, for settings where zero means never. */
export function parseDuration(text: string, allowZero = false): number | string {
  const t = text.trim();
  if (/^\d+(\.\d+)?$/.test(t)) return `"${text}" needs a unit, e.g. ${t}s or ${t}ms`;
  const re = /(\d+(?:\.\d+)?)(ms|s|m|h|d)/gy;
  let total = 0;
  let end = 0;
  for (let m = re.exec(t); m; m = re.exec(t)) {
    total += Number(m[1]) * UNIT_MS[m[2]!]!;
    end = re.lastIndex;
  }
  if (t.length === 0 || end !== t.length) return `"${text}" is not a duration (like 500ms, 10s, 5m, 1h)`;
  if (total <= 0 && !(allowZero && total === 0)) return `"${text}" must be longer than zero`;
  return total;
}

export function formatDuration(ms: number): string {
  if (ms % 3_600_000 === 0) return `${ms / 3_600_000}h`;
  if (ms % 60_000 === 0) return `${ms / 60_000}m`;
  if (ms % 1000 === 0) return `${ms / 1000}s`;
  return `${ms}ms`;
}
