/** Result records for the history's unit tests: as runCheck makes them, with only what a test sets changed. */
import type { CheckResult, Failure } from '../../src/core/result.js';

export const T0 = Date.parse('2026-12-01T00:00:00Z');

export const rcptRefused: Failure = {
  phase: 'rcpt', reason: 'reply', code: 550, enhancedCode: '5.1.1', message: '550 5.1.1 <gone@example.test>: Recipient address rejected',
};

/** A record of target `name` that started `atMs` (epoch) and passed, or failed with `failure`. */
export function record(name: string, atMs: number, over: Partial<CheckResult> = {}): CheckResult {
  const failure = over.failure ?? null;
  return {
    target: name, url: 'smtp://127.0.0.1:2525', ok: failure === null, startedAt: new Date(atMs).toISOString(), durationMs: 12.5,
    attempts: 1, warnings: [], failure,
    phases: [{ phase: 'connect', ok: true, durationMs: 0.5 }, { phase: 'banner', ok: true, durationMs: 2, code: 220 }],
    banner: '220 mx.example.test ESMTP', capabilities: null, capabilitiesBeforeTls: null, tls: null, messageId: null, probeId: 'p',
    ...over,
  };
}

/** The TLS facts of a record whose certificate ends at `validTo` (epoch ms). */
export function tlsUntil(validTo: number): NonNullable<CheckResult['tls']> {
  return {
    version: 'TLSv1.3', cipher: 'TLS_AES_256_GCM_SHA384', verified: true, verifyError: null, verificationSkipped: false,
    servername: 'mx.example.test', subject: 'mx.example.test', issuer: 'Test CA', altNames: ['mx.example.test'], validFrom: null,
    validTo: new Date(validTo).toISOString(), daysLeft: null, fingerprint256: null,
  };
}
