/** Fixture notifications for the receiver builders: one firing alert, its reminder, refresh and resolve. */
import type { CheckResult } from '../../../src/core/result.js';
import type { BuildContext } from '../../../src/alerts/providers/provider.js';
import type { Notification } from '../../../src/alerts/types.js';

export const NOW = Date.parse('2026-11-26T02:10:00.000Z');
export const CTX: BuildContext = { now: NOW, externalUrl: 'http://probe.example.test:9469/' };

export const RESULT: CheckResult = {
  target: 'mx1-submission',
  url: 'smtp://mail.example.test:587',
  ok: false,
  startedAt: '2026-11-26T02:00:00.000Z',
  durationMs: 41.2,
  attempts: 1,
  warnings: [],
  failure: { phase: 'auth', reason: 'reply', code: 535, enhancedCode: '5.7.8', message: '535 5.7.8 Error: authentication failed' },
  phases: [
    { phase: 'connect', ok: true, durationMs: 0.4, address: '127.0.0.1' },
    { phase: 'banner', ok: true, durationMs: 1.9, code: 220 },
    { phase: 'auth', ok: false, durationMs: 3.1, code: 535, enhancedCode: '5.7.8' },
  ],
  banner: '220 mail.example.test ESMTP',
  capabilities: { PIPELINING: '', AUTH: 'PLAIN LOGIN' },
  capabilitiesBeforeTls: null,
  tls: null,
  messageId: null,
  probeId: 'p-1',
  transcript: [
    { t: 0, dir: 'S', line: '220 mail.example.test ESMTP' },
    { t: 3, dir: 'C', line: 'AUTH PLAIN ***' },
  ],
};

export function firing(over: Partial<Notification> = {}): Notification {
  return {
    id: 'n-firing-1',
    receiver: 'ops',
    kind: 'firing',
    status: 'firing',
    alert: 'smtp_probe_down',
    alertKind: 'down',
    target: 'mx1-submission',
    labels: { env: 'prod' },
    startsAt: '2026-11-26T02:00:00.000Z',
    endsAt: null,
    summary: 'mx1-submission is down: auth failed with 535',
    failure: { phase: 'auth', reason: 'reply', code: 535 },
    result: RESULT,
    intervalMs: 30_000,
    createdAt: '2026-11-26T02:10:00.000Z',
    ...over,
  };
}

export const reminder = (over: Partial<Notification> = {}): Notification => firing({ id: 'n-reminder-1', kind: 'reminder', ...over });
export const refresh = (over: Partial<Notification> = {}): Notification => firing({ id: 'n-refresh-1', kind: 'refresh', ...over });

export function resolved(over: Partial<Notification> = {}): Notification {
  return firing({
    id: 'n-resolved-1',
    kind: 'resolved',
    status: 'resolved',
    endsAt: '2026-11-26T02:20:00.000Z',
    summary: 'mx1-submission is up again',
    failure: null,
    result: { ...RESULT, ok: true, failure: null },
    createdAt: '2026-11-26T02:20:00.000Z',
    ...over,
  });
}
