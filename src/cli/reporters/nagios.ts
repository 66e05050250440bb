import { describeFailure, type CheckResult } from '../../core/result.js';
import { formatDuration } from '../../core/duration.js';
import { limitsOf, type Limits, type Report, type ReportOptions, type Reporter } from './reporter.js';

/**
 * Nagios/Icinga plugin output (docs/nagios.md): 0 OK, 1 WARNING (a passing run over a warning level:
 * `overWarning`), 2 CRITICAL, 3 UNKNOWN; perfdata per phase in seconds, `time` with the thresholds filled in,
 * labels of [A-Za-z0-9_] only (PNP4Nagios and Graphite take nothing else).
 */
export const STATES = ['OK', 'WARNING', 'CRITICAL', 'UNKNOWN'] as const;

export const nagios: Reporter = {
  render(report, o) {
    const states = report.results.map(stateOf);
    const worst = Math.max(0, ...states);
    const multi = report.results.length > 1;
    const prefixes = perfPrefixes(report.results);
    const lines = report.results.map((r, i) => `${STATES[states[i]!]}: ${summary(r, limitsOf(r, o))}`);
    const perf = report.results.flatMap((r, i) => perfdata(r, prefixes[i]!, limitsOf(r, o))).join(' ');
    const head = multi
      ? `SMTP ${STATES[worst]} - ${report.results.filter((r) => r.ok).length} of ${report.results.length} targets ok`
      : `SMTP ${STATES[states[0] ?? 3]} - ${report.results[0] ? summary(report.results[0], limitsOf(report.results[0], o)) : 'no result'}`;
    return `${head} | ${perf}\n${multi ? `${lines.join('\n')}\n` : ''}`;
  },
  exitCode(report) {
    return Math.max(0, ...report.results.map(stateOf));
  },
};

function stateOf(r: CheckResult): number {
  if (!r.ok) return r.failure?.reason === 'internal' ? 3 : 2;
  return (r.overWarning?.length ?? 0) > 0 ? 1 : 0;
}

function summary(r: CheckResult, l: Limits): string {
  const name = `${r.target}${r.mx ? ` MX ${r.mx.host}` : ''}`;
  if (r.failure) return `${name} failed at ${describeFailure(r.failure).replace(/[|\n]/g, ' ')}`;
  const over = r.overWarning ?? [];
  const slow = !over.includes('slow') ? '' : `, over the warning threshold${l.warningMs === null ? '' : ` of ${formatDuration(l.warningMs)}`}`;
  const days = r.tls?.daysLeft;
  const cert = days === null || days === undefined ? '' : `, certificate expires in ${days} days`;
  const under = over.includes('certificate') && l.minCertDays !== null ? ` (under ${l.minCertDays})` : '';
  return `${name} answered in ${(sessionMs(r) / 1000).toFixed(3)}s${slow}${cert}${under}`;
}

/** `label=value[UOM];warn;crit;min`: the session's time (with its thresholds), each phase (several RCPTs summed), the certificate's days. */
function perfdata(r: CheckResult, prefix: string, l: Limits): string[] {
  const sums = new Map<string, number>();
  for (const p of r.phases) sums.set(p.phase, (sums.get(p.phase) ?? 0) + p.durationMs);
  const items = [`${prefix}time=${secs(sessionMs(r))}s;${level(l.warningMs)};${level(l.criticalMs)};0`];
  for (const [phase, msValue] of sums) items.push(`${prefix}${phase}=${secs(msValue)}s;;;0`);
  const days = r.tls?.daysLeft;
  if (days !== null && days !== undefined) {
    // Nagios ranges: "14:" alerts below 14.
    const levels = `;${l.minCertDays === null ? '' : `${l.minCertDays}:`};${l.criticalCertDays === null ? '' : `${l.criticalCertDays}:`}`;
    items.push(`${prefix}cert_days=${days}${levels === ';;' ? '' : levels}`);
  }
  return items;
}

/** The SMTP session's time, which the thresholds judge: the round trip (its own item) has its own timeout. */
function sessionMs(r: CheckResult): number {
  return r.durationMs - r.phases.reduce((n, p) => n + (p.phase === 'roundtrip' ? p.durationMs : 0), 0);
}

/** Seconds with at most 6 decimals and no trailing zeros: 0.004, 2, 1.5. */
function secs(msValue: number): string {
  return String(Number((msValue / 1000).toFixed(6)));
}

function level(msValue: number | null): string {
  return msValue === null ? '' : secs(msValue);
}

/**
 * A label prefix per result when there are several: an MX host's first name (mx1_), a configured target's name,
 * a URL target's host and port (127_0_0_1_2525_); longer forms where short ones would collide, a number last.
 */
function perfPrefixes(results: readonly CheckResult[]): string[] {
  if (results.length <= 1) return results.map(() => '');
  const forms = results.map((r) => {
    const target = r.target === r.url ? r.url.replace(/^[a-z]+:\/\//i, '') : r.target;
    return r.mx ? [r.mx.host.split('.')[0]!, r.mx.host, `${target}_${r.mx.host}`] : [target];
  });
  const chosen = forms.map((f) => labelPart(f[0]!));
  for (let level = 1; level < 3; level += 1) {
    const before = [...chosen];
    before.forEach((c, i) => {
      if (before.filter((x) => x === c).length > 1 && forms[i]![level]) chosen[i] = labelPart(forms[i]![level]!);
    });
  }
  return chosen.map((c, i) => `${chosen.indexOf(c) === i ? c : `${c}_${i + 1}`}_`);
}

/** [A-Za-z0-9_] only: every other run of characters becomes one underscore. */
function labelPart(s: string): string {
  return s.replace(/[^A-Za-z0-9_]+/g, '_').replace(/^_+|_+$/g, '') || 'target';
}

export type { Report, ReportOptions };
