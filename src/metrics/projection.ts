/**
 * What a metric can say about one result, computed once: durations per phase (several RCPT records add up),
 * the last reply code per phase, the TLS facts. Both the long-lived series (record.ts) and the /probe registry
 * (probe.ts) are written from this, so the two never disagree.
 */
import { warningKindsOf, type CheckResult, type FailureReason, type Phase, type WarningKind } from '../core/result.js';
import { isPhase, reasonLabel, tlsVersionLabel, warningKindLabel, type TlsVersionLabel } from './labels.js';

export interface Projection {
  success: boolean;
  durationSeconds: number;
  /** Wall-clock end of the run (startedAt + duration), unix seconds; null when startedAt is unreadable. */
  finishedAtSeconds: number | null;
  /** Seconds per phase, in the order the phases occurred; a phase with several records is their sum. */
  phaseSeconds: ReadonlyMap<Phase, number>;
  /** The last reply code seen in each phase. */
  replyCodes: ReadonlyMap<Phase, number>;
  tlsVersion: TlsVersionLabel | null;
  /** Whether the certificate verified; null when the run did no TLS handshake. */
  tlsVerified: boolean | null;
  /** The run's warnings counted by kind (empty for most runs). */
  warnings: ReadonlyMap<WarningKind, number>;
  /** The certificate's notAfter, unix seconds. */
  certExpirySeconds: number | null;
  /** Null when the run passed, or when its failure names no known phase. */
  failure: { phase: Phase; reason: FailureReason } | null;
}

/** Milliseconds → seconds, to the microsecond (no float noise in the output); NaN, infinities, negatives → 0. */
export function toSeconds(ms: number): number {
  return Number.isFinite(ms) && ms > 0 ? Math.round(ms * 1000) / 1e6 : 0;
}

function isReplyCode(code: unknown): code is number {
  return typeof code === 'number' && Number.isInteger(code) && code >= 100 && code <= 999;
}

function unixSeconds(iso: string | null | undefined): number | null {
  if (!iso) return null;
  const ms = Date.parse(iso);
  return Number.isFinite(ms) ? ms / 1000 : null;
}

export function projectResult(result: CheckResult): Projection {
  const phaseMs = new Map<Phase, number>();
  const replyCodes = new Map<Phase, number>();
  for (const record of result.phases) {
    if (!isPhase(record.phase)) continue;
    const ms = Number.isFinite(record.durationMs) && record.durationMs > 0 ? record.durationMs : 0;
    phaseMs.set(record.phase, (phaseMs.get(record.phase) ?? 0) + ms);
    if (isReplyCode(record.code)) replyCodes.set(record.phase, record.code);
  }
  const phaseSeconds = new Map<Phase, number>();
  for (const [phase, ms] of phaseMs) phaseSeconds.set(phase, toSeconds(ms));
  const failure = result.failure && isPhase(result.failure.phase)
    ? { phase: result.failure.phase, reason: reasonLabel(result.failure.reason) }
    : null;
  // A failure's reply code counts even when the phase record did not carry it.
  if (failure && isReplyCode(result.failure?.code) && !replyCodes.has(failure.phase)) {
    replyCodes.set(failure.phase, result.failure.code);
  }
  const started = unixSeconds(result.startedAt);
  const durationSeconds = toSeconds(result.durationMs);
  return {
    success: result.ok,
    durationSeconds,
    finishedAtSeconds: started === null ? null : started + durationSeconds,
    phaseSeconds,
    replyCodes,
    tlsVersion: result.tls?.version ? tlsVersionLabel(result.tls.version) : null,
    tlsVerified: result.tls ? result.tls.verified === true : null,
    warnings: countWarnings(result),
    certExpirySeconds: unixSeconds(result.tls?.validTo),
    failure,
  };
}

const NO_WARNINGS: ReadonlyMap<WarningKind, number> = new Map();

/** Warnings by kind; a kind outside the vocabulary (a record from elsewhere) counts as `other`. */
function countWarnings(result: CheckResult): ReadonlyMap<WarningKind, number> {
  if (result.warnings.length === 0) return NO_WARNINGS;
  const counts = new Map<WarningKind, number>();
  for (const kind of warningKindsOf(result).map(warningKindLabel)) counts.set(kind, (counts.get(kind) ?? 0) + 1);
  return counts;
}
