/**
 * What a metric can say about one result, computed once: durations per phase (several RCPT records add up),
 * the last reply code per phase, the TLS facts. Both the long-lived series (record.ts) and the /probe registry
 * (probe.ts) are written from this, so the two never disagree.
 */
import type { CheckResult, FailureReason, Phase } from '../core/result.js';
import { isPhase, reasonLabel, tlsVersionLabel, type TlsVersionLabel } from './labels.js';

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
    certExpirySeconds: unixSeconds(result.tls?.validTo),
    failure,
  };
}
