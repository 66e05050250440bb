/** When to try a receiver again: the backoff after consecutive failures, and which failures are worth a retry. */
import type { SendOutcome } from '../providers/provider.js';
import type { BackoffPolicy } from './types.js';

export const DEFAULT_BACKOFF: Readonly<BackoffPolicy> = { baseMs: 1000, factor: 2, maxMs: 300_000, jitter: 'half' };

/** Delay before attempt `failures + 1`, after `failures` (>= 1) consecutive retryable failures. */
export function backoffDelay(failures: number, policy: BackoffPolicy, random: () => number = Math.random): number {
  const raw = Math.min(policy.maxMs, policy.baseMs * policy.factor ** Math.max(0, failures - 1));
  const r = Math.min(Math.max(random(), 0), 1);
  const jittered = policy.jitter === 'full' ? raw * r : policy.jitter === 'half' ? raw * (0.5 + r) : raw;
  return Math.round(Math.min(policy.maxMs, jittered));
}

/**
 * Whether to try again. The sender's verdict, except that a 4xx other than 408 and 429 is never retried (the
 * receiver said the request itself is wrong; sending it again cannot help).
 */
export function isRetryable(outcome: SendOutcome): boolean {
  if (outcome.ok) return false;
  const s = outcome.status;
  if (s !== null && s >= 400 && s < 500 && s !== 408 && s !== 429) return false;
  return outcome.retryable;
}
