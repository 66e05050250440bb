import { CAPACITY_PHASES, CAPACITY_RESULTS, type CapacityReport } from '../core/capacity.js';
import { formatDuration } from '../core/duration.js';

/** `capacity --format text`: what was asked, what came back, a table of the phases, the verdict on the last line. */
export function renderCapacityText(r: CapacityReport): string {
  const out: string[] = [];
  const where = r.address === null ? '' : ` (${r.address}${r.loopback ? ', loopback' : ''})`;
  out.push(`capacity ${r.url}${where}`);
  const rate = r.ratePerSecond === null ? 'no rate limit' : `at most ${r.ratePerSecond} session${r.ratePerSecond === 1 ? '' : 's'}/s`;
  out.push(`  ${r.sessions} session${r.sessions === 1 ? '' : 's'} at once, each until ${r.until}, for ${formatDuration(r.durationMs)}, ${rate}`);
  if (r.failure !== null) {
    out.push(`  failure  ${r.failure}`, 'FAILED');
    return `${out.join('\n')}\n`;
  }
  const counts = CAPACITY_RESULTS.map((k) => `${k} ${r.results[k]}`).join(', ');
  out.push(`  ${r.started} sessions in ${(r.elapsedMs / 1000).toFixed(2)} s: ${counts}`);
  out.push(`  max concurrent ok  ${r.maxConcurrentOk}`);
  const rows = CAPACITY_PHASES.flatMap((p) => {
    const s = r.phases[p];
    return s ? [[p, String(s.count), fixed(s.p50Ms), fixed(s.p95Ms), fixed(s.maxMs)]] : [];
  });
  if (rows.length > 0) out.push(...table([['phase', 'sessions', 'p50 ms', 'p95 ms', 'max ms'], ...rows]).map((l) => `  ${l}`));
  const stop = r.stoppedBy421;
  if (stop) {
    const others = `${stop.openSessions} other session${stop.openSessions === 1 ? '' : 's'} connected, ${stop.okSessions} past the greeting`;
    out.push(`  stopped at the first 421, in ${stop.phase} after ${(stop.atMs / 1000).toFixed(2)} s with ${others}: ${stop.reply}`);
  }
  for (const p of r.problems) out.push(`  problem  ${p.result} in ${p.phase} (${p.count}x): ${p.message}`);
  out.push(r.interrupted ? 'INTERRUPTED' : r.ok ? 'OK' : 'FAILED');
  return `${out.join('\n')}\n`;
}

function fixed(ms: number): string {
  return ms.toFixed(2);
}

/** Columns padded to their widest cell; numbers (every column after the first) right-aligned. */
function table(rows: string[][]): string[] {
  const widths = rows[0]!.map((_, i) => Math.max(...rows.map((r) => (r[i] ?? '').length)));
  return rows.map((r) => r.map((c, i) => (i === 0 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join('  ').trimEnd());
}
