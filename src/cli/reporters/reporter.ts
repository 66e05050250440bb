import type { CheckResult } from '../../core/result.js';

export interface Report {
  ok: boolean;
  results: CheckResult[];
}

/** The levels a result was judged against (its plan's): nagios fills its perfdata thresholds with them. */
export interface Limits {
  warningMs: number | null;
  criticalMs: number | null;
  minCertDays: number | null;
  criticalCertDays: number | null;
}

export interface ReportOptions {
  transcript: boolean;
  /** Certificate days under which a certificate is a warning, where `limits` does not say (one level for all). */
  minCertDays: number | null;
  /** Each result's own levels (check: the plan of its target). */
  limits?: (r: CheckResult) => Limits;
}

/** One output format of `check`: the whole report as text for stdout, and the process's exit code. */
export interface Reporter {
  render(report: Report, o: ReportOptions): string;
  exitCode(report: Report, o: ReportOptions): number;
}

/** 0 every check passed, 1 at least one failed (README "Result record and exit codes"). */
export function standardExit(report: Report): number {
  return report.ok ? 0 : 1;
}

/** The levels of one result: its own, or the one certificate level the options give. */
export function limitsOf(r: CheckResult, o: ReportOptions): Limits {
  return o.limits?.(r) ?? { warningMs: null, criticalMs: null, minCertDays: o.minCertDays, criticalCertDays: null };
}

export function ms(n: number): string {
  return n >= 100 ? n.toFixed(0) : n >= 10 ? n.toFixed(1) : n.toFixed(2);
}
