import type { CheckPlan } from '../core/plan.js';
import type { CheckResult } from '../core/result.js';
import { LOG_FORMATS, LOG_LEVELS } from '../log-levels.js';
import { runTarget } from '../runner/mx.js';
import { runWithRetries, systemDeps } from '../runner/run.js';
import { choiceFlag, intFlag, parseFlags } from './args.js';
import { CHECK_FLAGS, plansFromFlags, type CheckFlags } from './check-plan.js';
import { CHECK_HELP } from './help.js';
import type { CliIo } from './io.js';
import { FORMATS, REPORTERS, type Limits, type Report, type ReportOptions } from './reporters/index.js';

/** Targets checked at once by one `check`. */
const CONCURRENCY = 16;

/** `smtp-probe check`: run each target once and print one report. Returns the exit code. */
export async function checkCommand(argv: string[], io: CliIo): Promise<number> {
  const { values, positionals } = parseFlags('check', argv, CHECK_FLAGS);
  const f = values as CheckFlags;
  if (f.help) {
    io.stdout(CHECK_HELP);
    return 0;
  }
  const format = choiceFlag('format', f.format, FORMATS, 'text');
  // The config loader (yaml, zod) and pino load only when asked for: start-up time is most of a one-shot check.
  const config = f.config === undefined ? null : (await import('./config-file.js')).loadOrThrow(f.config, io.env);
  const level = choiceFlag('log-level', f['log-level'], LOG_LEVELS, 'warn');
  const logFormat = choiceFlag('log-format', f['log-format'], LOG_FORMATS, 'auto');
  const retries = intFlag('retries', f.retries, 0, 10) ?? 0;
  const plans = plansFromFlags(positionals, f, io.env, config);
  const log = ['info', 'debug', 'trace'].includes(level) ? (await import('../log.js')).createLogger(level, { format: logFormat, env: io.env }) : null;
  const deps = systemDeps(io.signal);
  const runs = await mapLimit(plans, CONCURRENCY, async (plan) => {
    const rs = await runTarget(plan, deps, (p, d) => runWithRetries(p, d, retries));
    for (const r of rs) {
      log?.info({ target: r.target, mx: r.mx?.host, ok: r.ok, phase: r.failure?.phase, reason: r.failure?.reason, durationMs: r.durationMs }, 'check finished');
    }
    return rs;
  });
  const results = runs.flat();
  const report: Report = { ok: results.every((r) => r.ok), results };
  const byName = new Map(plans.map((p) => [p.name, p]));
  const options: ReportOptions = { transcript: f.transcript ?? false, minCertDays: plans[0]?.minCertDays ?? null, limits: (r) => limits(byName.get(r.target)) };
  const reporter = REPORTERS[format];
  io.stdout(reporter.render(report, options));
  return reporter.exitCode(report, options);
}

/** The levels a plan judges its runs by, for the reporters. */
function limits(plan: CheckPlan | undefined): Limits {
  return {
    warningMs: plan?.thresholds.warningMs ?? null,
    criticalMs: plan?.thresholds.criticalMs ?? null,
    minCertDays: plan?.minCertDays ?? null,
    criticalCertDays: plan?.criticalCertDays ?? null,
  };
}

/** Map with at most `limit` calls in flight, results in input order. */
export async function mapLimit<T, R>(items: T[], limit: number, fn: (item: T) => Promise<R>): Promise<R[]> {
  const out: R[] = new Array(items.length);
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < items.length) {
      const i = next++;
      out[i] = await fn(items[i]!);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  return out;
}

export type { CheckResult };
