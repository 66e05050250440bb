import type { CheckResult } from '../../core/result.js';
import type { Report, ReportOptions, Reporter } from './reporter.js';

/** Nagios/Icinga plugin output: 0 OK, 1 WARNING, 2 CRITICAL, 3 UNKNOWN; perfdata per phase, in seconds. */
export const STATES = ['OK', 'WARNING', 'CRITICAL', 'UNKNOWN'] as const;

export const nagios: Reporter = {
  render(report, o) {
    const states = report.results.map((r) => stateOf(r, o));
    const worst = Math.max(0, ...states);
    const multi = report.results.length > 1;
    const lines = report.results.map((r, i) => `${STATES[states[i]!]}: ${summary(r, o)}`);
    const perf = report.results.flatMap((r) => perfdata(r, multi ? `${r.target}${r.mx ? `_${r.mx.host}` : ''}_` : '')).join(' ');
    const head = multi
      ? `SMTP ${STATES[worst]} - ${report.results.filter((r) => r.ok).length} of ${report.results.length} targets ok`
      : `SMTP ${lines[0]}`;
    return `${head} | ${perf}\n${multi ? `${lines.join('\n')}\n` : ''}`;
  },
  exitCode(report, o) {
    return Math.max(0, ...report.results.map((r) => stateOf(r, o)));
  },
};

export function stateOf(r: CheckResult, o: ReportOptions): number {
  if (!r.ok) return r.failure?.reason === 'internal' ? 3 : 2;
  const days = r.tls?.daysLeft;
  if (o.minCertDays !== null && days !== null && days !== undefined && days < o.minCertDays) return 1;
  return 0;
}

function summary(r: CheckResult, o: ReportOptions): string {
  if (r.failure) {
    const f = r.failure;
    return `${r.target}${r.mx ? ` MX ${r.mx.host}` : ""} failed at ${f.phase} (${f.reason}${f.code === null ? '' : ` ${f.code}`}): ${f.message.replace(/[|\n]/g, ' ')}`;
  }
  const secs = (r.durationMs / 1000).toFixed(3);
  const cert = r.tls?.daysLeft === null || r.tls === null ? '' : `, certificate expires in ${r.tls.daysLeft} days`;
  const warn = stateOf(r, o) === 1 ? ` (under ${o.minCertDays})` : '';
  return `${r.target}${r.mx ? ` MX ${r.mx.host}` : ""} answered in ${secs}s${cert}${warn}`;
}

/** `'label'=value[UOM];warn;crit;min;max`, one per phase (several RCPTs summed) and the total. */
function perfdata(r: CheckResult, prefix: string): string[] {
  const sums = new Map<string, number>();
  for (const p of r.phases) sums.set(p.phase, (sums.get(p.phase) ?? 0) + p.durationMs);
  const items = [...sums].map(([phase, msValue]) => `'${label(prefix + phase)}'=${(msValue / 1000).toFixed(6)}s;;;0`);
  items.push(`'${label(`${prefix}time`)}'=${(r.durationMs / 1000).toFixed(6)}s;;;0`);
  if (r.tls?.daysLeft !== null && r.tls?.daysLeft !== undefined) items.push(`'${label(`${prefix}cert_days`)}'=${r.tls.daysLeft};;;`);
  return items;
}

function label(s: string): string {
  return s.replace(/['=\s]/g, '_');
}

export type { Report };
