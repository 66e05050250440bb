/**
 * Plans aimed at a local test server, and a runner wrapper that also measures wall time. Timeouts are short so
 * the suite stays fast; tests that need more say so.
 */
import { performance } from 'node:perf_hooks';
import { parseExpectation, type Expectation } from '../../src/core/expect.js';
import type { AuthPlan, CheckPlan } from '../../src/core/plan.js';
import { makePlan } from '../../src/plan/build.js';
import type { CheckResult } from '../../src/core/result.js';
import { runCheck, systemDeps } from '../../src/runner/run.js';
import { TEST_SERVER_NAME, testCa } from './certs.js';

/** A plan for 127.0.0.1:port: TLS off unless asked, phase timeout 1 s, run timeout 5 s. */
export function localPlan(port: number, p: Partial<CheckPlan> = {}): CheckPlan {
  return makePlan({
    tls: 'none',
    ehlo: 'probe.example.test',
    phaseTimeoutMs: 1000,
    timeoutMs: 5000,
    ...p,
    host: '127.0.0.1',
    port,
  });
}

/** Verify against the test CA for mail.example.test (the name test servers present). */
export function trustedTls(over: Partial<CheckPlan['tlsParams']> = {}): CheckPlan['tlsParams'] {
  return { servername: TEST_SERVER_NAME, ca: testCa().cert, insecure: false, ...over };
}

export function authPlan(username: string, password: string, over: Partial<AuthPlan> = {}): AuthPlan {
  return { username, password, mechanism: null, allowPlaintext: false, ...over };
}

/** `parseExpectation` that throws on a bad pattern (a test bug). */
export function exp(source: string): Expectation {
  const e = parseExpectation(source);
  if (typeof e === 'string') throw new Error(`bad expectation "${source}": ${e}`);
  return e;
}

export interface Probed extends CheckResult {
  /** Wall time runCheck took, measured outside it. */
  wallMs: number;
}

/** runCheck with the real system deps; also checks that it resolves (never rejects) for expected failures. */
export async function probe(plan: CheckPlan): Promise<Probed> {
  const t0 = performance.now();
  const result = await runCheck(plan, systemDeps());
  return Object.assign(result, { wallMs: performance.now() - t0 });
}

/** Sum of the phase durations, which should come to about the run's durationMs. */
export function phaseSum(r: CheckResult): number {
  return r.phases.reduce((n, p) => n + p.durationMs, 0);
}

/** Names of the phases recorded, in order. */
export function phaseNames(r: CheckResult): string[] {
  return r.phases.map((p) => p.phase);
}

export const b64 = (s: string): string => Buffer.from(s, 'utf8').toString('base64');

/** Control characters that must never reach a message unescaped. */
export const CONTROL_CHARS = /[\x00-\x1f\x7f]/;
