import type { CheckResult } from '../../core/result.js';

export interface Report {
  ok: boolean;
  results: CheckResult[];
}

export interface ReportOptions {
  transcript: boolean;
  /** Certificate days under which nagios says WARNING. */
  minCertDays: number | null;
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

export function ms(n: number): string {
  return n >= 100 ? n.toFixed(0) : n >= 10 ? n.toFixed(1) : n.toFixed(2);
}
