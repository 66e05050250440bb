import { formatDuration } from '../core/duration.js';
import type { CheckPlan } from '../core/plan.js';
import type { CheckResult, Failure, FailureReason, Phase, PhaseRecord, WarningKind, WarningLevel } from '../core/result.js';
import type { WarningSink } from '../../checks/step.js';

/**
 * What is judged once the session is over, on what the run recorded: the response-time thresholds (check_smtp
 * -w/-c: the run's duration, and the phase in which it crossed a threshold), the certificate's warning level,
 * and `strict` (every warning fails the run).
 */

/**
 * The run's warnings, each with its kind and the phase in progress when it was recorded: where `strict` fails the
 * run. Checks add to it (RunState.warnings); the result record gets its texts and kinds (`fields()`).
 */
export class PhasedWarnings implements WarningSink {
  readonly #items: { kind: WarningKind; text: string; phase: Phase; reason: FailureReason }[] = [];
  readonly #phaseNow: () => Phase;

  constructor(phaseNow: () => Phase) {
    this.#phaseNow = phaseNow;
  }

  add(kind: WarningKind, text: string): void {
    const phase = this.#phaseNow();
    this.#items.push({ kind, text, phase, reason: reasonIn(phase) });
  }

  /** A warning whose phase and reason are known (the thresholds, judged after the session). */
  record(phase: Phase, reason: FailureReason, kind: WarningKind, text: string): void {
    this.#items.push({ kind, text, phase, reason });
  }

  /** The result record's `warnings`, and `warningKinds` when there are any. */
  fields(): Pick<CheckResult, 'warnings' | 'warningKinds'> {
    const warnings = this.#items.map((w) => w.text);
    return warnings.length === 0 ? { warnings } : { warnings, warningKinds: this.#items.map((w) => w.kind) };
  }

  /** The failure `strict` makes of them: the first warning's phase and reason, every warning's text. */
  asFailure(): Failure | null {
    const first = this.#items[0];
    if (!first) return null;
    return { phase: first.phase, reason: first.reason, code: null, enhancedCode: null, message: this.#items.map((w) => w.text).join('; ') };
  }
}

/** A warning recorded during a TLS handshake is about the certificate or the handshake; any other, an answer not wanted. */
function reasonIn(phase: Phase): FailureReason {
  return phase === 'tls' || phase === 'tls_upgrade' ? 'tls' : 'expectation';
}

export interface Verdict {
  failure: Failure | null;
  overWarning: WarningLevel[];
}

/** The run's failure and warning levels after the thresholds, the certificate level and `strict`. */
export function judgeRun(
  plan: CheckPlan,
  run: { failure: Failure | null; phases: PhaseRecord[]; durationMs: number; daysLeft: number | null },
  warnings: PhasedWarnings,
): Verdict {
  const overWarning: WarningLevel[] = [];
  let failure = run.failure;
  const { warningMs, criticalMs } = plan.thresholds;
  const took = `the run took ${(run.durationMs / 1000).toFixed(3)}s`;
  if (failure === null && criticalMs !== null && run.durationMs > criticalMs) {
    const message = `${took}, over the critical threshold of ${formatDuration(criticalMs)}`;
    failure = { phase: crossedIn(run.phases, criticalMs), reason: 'slow', code: null, enhancedCode: null, message };
  } else if (failure === null && warningMs !== null && run.durationMs > warningMs) {
    warnings.record(crossedIn(run.phases, warningMs), 'slow', 'slow', `${took}, over the warning threshold of ${formatDuration(warningMs)}`);
    overWarning.push('slow');
  }
  const days = run.daysLeft;
  const belowCritical = plan.criticalCertDays !== null && days !== null && days < plan.criticalCertDays;
  if (plan.minCertDays !== null && days !== null && days < plan.minCertDays && !belowCritical) overWarning.push('certificate');
  if (failure === null && plan.strict) failure = warnings.asFailure();
  return { failure, overWarning };
}

/** The phase during which the run's elapsed time went past `limitMs` (phases last from the end of the one before). */
function crossedIn(phases: readonly PhaseRecord[], limitMs: number): Phase {
  let elapsed = 0;
  for (const p of phases) {
    elapsed += p.durationMs;
    if (elapsed > limitMs) return p.phase;
  }
  return phases.at(-1)?.phase ?? 'connect';
}
