/**
 * Hand-built result records shaped like the runner's (docs/result-record.schema.json), and target metadata.
 */
import type { CheckResult, Failure, PhaseRecord, TlsInfo } from '../../src/core/result.js';
import type { TargetMeta } from '../../src/core/target-meta.js';

export const STARTED_AT = '2026-11-26T02:00:00.000Z';
export const STARTED_AT_SECONDS = Date.parse(STARTED_AT) / 1000;
export const CERT_VALID_TO = '2027-02-01T00:00:00.000Z';
export const CERT_EXPIRY_SECONDS = Date.parse(CERT_VALID_TO) / 1000;

export function meta(name: string, over: Partial<TargetMeta> = {}): TargetMeta {
  return { name, labels: {}, module: 'submission', phaseHistograms: 'none', intervalMs: 60_000, ...over };
}

export function tlsInfo(over: Partial<TlsInfo> = {}): TlsInfo {
  return {
    version: 'TLSv1.3', cipher: 'TLS_AES_256_GCM_SHA384', verified: true, verifyError: null,
    verificationSkipped: false, servername: 'mail.example.test', subject: 'mail.example.test',
    issuer: 'Example Test CA', altNames: ['mail.example.test'], validFrom: '2026-11-01T00:00:00.000Z',
    validTo: CERT_VALID_TO, daysLeft: 67, fingerprint256: 'AB:CD',
    ...over,
  };
}

function result(target: string, phases: PhaseRecord[], failure: Failure | null, over: Partial<CheckResult>): CheckResult {
  const durationMs = Math.round(phases.reduce((sum, p) => sum + p.durationMs, 0) * 1000) / 1000;
  return {
    target, url: 'smtp://mail.example.test:587', ok: failure === null, startedAt: STARTED_AT, durationMs,
    attempts: 1, warnings: [], failure, phases,
    banner: '220 mail.example.test ESMTP Postfix (Debian/GNU) "quoted" \\ text',
    capabilities: { PIPELINING: '', SIZE: '10240000', AUTH: 'PLAIN LOGIN' },
    capabilitiesBeforeTls: { PIPELINING: '', STARTTLS: '' },
    tls: tlsInfo(), messageId: null, probeId: '00000000-0000-4000-8000-000000000000',
    ...over,
  };
}

/** STARTTLS, AUTH, a message to two recipients (250 then 251), QUIT: every phase of a submission check. */
export function fullSuccess(target: string, over: Partial<CheckResult> = {}): CheckResult {
  return result(target, [
    { phase: 'dns', ok: true, durationMs: 1.2 },
    { phase: 'connect', ok: true, durationMs: 0.4, address: '192.0.2.10' },
    { phase: 'banner', ok: true, durationMs: 1.9, code: 220 },
    { phase: 'ehlo', ok: true, durationMs: 1.1, code: 250 },
    { phase: 'starttls', ok: true, durationMs: 0.8, code: 220, enhancedCode: '2.0.0' },
    { phase: 'tls_upgrade', ok: true, durationMs: 6.5 },
    { phase: 'ehlo_tls', ok: true, durationMs: 1, code: 250 },
    { phase: 'auth', ok: true, durationMs: 3.1, code: 235, enhancedCode: '2.7.0', mechanism: 'PLAIN' },
    { phase: 'mail', ok: true, durationMs: 0.9, code: 250, enhancedCode: '2.1.0' },
    { phase: 'rcpt', ok: true, durationMs: 0.7, code: 250, enhancedCode: '2.1.5', recipient: 'a@example.test' },
    { phase: 'rcpt', ok: true, durationMs: 0.6, code: 251, enhancedCode: '2.1.5', recipient: 'b@example.test' },
    { phase: 'data', ok: true, durationMs: 0.5, code: 354 },
    { phase: 'message', ok: true, durationMs: 12, code: 250, enhancedCode: '2.0.0' },
    { phase: 'quit', ok: true, durationMs: 0.4, code: 221 },
  ], null, { messageId: '<x@probe.example.test>', ...over });
}

/** Credentials refused: 535 at auth, then QUIT. */
export function authFailure(target: string, over: Partial<CheckResult> = {}): CheckResult {
  return result(target, [
    { phase: 'dns', ok: true, durationMs: 1.2 },
    { phase: 'connect', ok: true, durationMs: 0.4, address: '192.0.2.10' },
    { phase: 'banner', ok: true, durationMs: 1.9, code: 220 },
    { phase: 'ehlo', ok: true, durationMs: 1.1, code: 250 },
    { phase: 'starttls', ok: true, durationMs: 0.8, code: 220 },
    { phase: 'tls_upgrade', ok: true, durationMs: 6.5 },
    { phase: 'ehlo_tls', ok: true, durationMs: 1, code: 250 },
    { phase: 'auth', ok: false, durationMs: 3.1, code: 535, enhancedCode: '5.7.8', mechanism: 'PLAIN' },
    { phase: 'quit', ok: true, durationMs: 0.4, code: 221 },
  ], {
    phase: 'auth', reason: 'reply', code: 535, enhancedCode: '5.7.8',
    message: '535 5.7.8 Error: authentication failed: "UGFzc3dvcmQ6" {weird} \\ text',
  }, over);
}

/** Plain SMTP without TLS: RCPT refused with 550, then RSET and QUIT (no DATA). */
export function rcptFailure(target: string, over: Partial<CheckResult> = {}): CheckResult {
  return result(target, [
    { phase: 'connect', ok: true, durationMs: 0.3, address: '2001:db8::25' },
    { phase: 'banner', ok: true, durationMs: 1.5, code: 220 },
    { phase: 'ehlo', ok: true, durationMs: 0.9, code: 250 },
    { phase: 'mail', ok: true, durationMs: 0.8, code: 250 },
    { phase: 'rcpt', ok: false, durationMs: 0.7, code: 550, enhancedCode: '5.1.1', recipient: 'nobody@example.test' },
    { phase: 'rset', ok: true, durationMs: 0.3, code: 250 },
    { phase: 'quit', ok: true, durationMs: 0.2, code: 221 },
  ], {
    phase: 'rcpt', reason: 'reply', code: 550, enhancedCode: '5.1.1', message: '550 5.1.1 <nobody@example.test>: User unknown',
  }, { tls: null, capabilitiesBeforeTls: null, url: 'smtp://192.0.2.10:25', ...over });
}

/** Nothing answered: connect timed out, no phase after it. */
export function connectTimeout(target: string, over: Partial<CheckResult> = {}): CheckResult {
  return result(target, [
    { phase: 'connect', ok: false, durationMs: 10_000, address: '192.0.2.10' },
  ], { phase: 'connect', reason: 'timeout', code: null, enhancedCode: null, message: 'connect timed out after 10s' },
  { tls: null, banner: null, capabilities: null, capabilitiesBeforeTls: null, ...over });
}
