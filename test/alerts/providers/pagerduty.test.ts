import { describe, expect, it } from 'vitest';
import { dedupKey, pagerdutyReceiver } from '../../../src/alerts/providers/pagerduty.js';
import { CTX, firing, refresh, reminder, RESULT, resolved } from './fixtures.js';

const KEY = 'R0UTINGKEY0123456789abcdefabcdef';
const event = (b: string) => JSON.parse(b) as Record<string, unknown>;

describe('pagerduty receiver', () => {
  it('triggers on firing with the Events API v2 shape', () => {
    const [req, ...more] = pagerdutyReceiver.build([firing()], { routingKey: KEY }, CTX);
    expect(more).toEqual([]);
    expect(req!.url).toBe('https://events.pagerduty.com/v2/enqueue');
    expect(event(req!.body)).toEqual({
      routing_key: KEY,
      dedup_key: 'smtp-probe/smtp_probe_down/mx1-submission',
      event_action: 'trigger',
      payload: {
        summary: 'smtp_probe_down on mx1-submission: mx1-submission is down: auth failed with 535',
        source: 'mx1-submission',
        severity: 'critical',
        timestamp: '2026-11-26T02:00:00.000Z',
        component: 'auth',
        group: 'smtp_probe_down',
        class: 'reply',
        custom_details: {
          alert: 'smtp_probe_down',
          kind: 'down',
          target: 'mx1-submission',
          url: 'smtp://mail.example.test:587',
          labels: { env: 'prod' },
          startsAt: '2026-11-26T02:00:00.000Z',
          failure: RESULT.failure,
          summary: 'mx1-submission is down: auth failed with 535',
        },
      },
      client: 'smtp-probe',
      client_url: 'http://probe.example.test:9469/',
    });
  });

  it('resolves with the same dedup_key', () => {
    const [t] = pagerdutyReceiver.build([firing()], { routingKey: KEY }, CTX);
    const [r] = pagerdutyReceiver.build([resolved()], { routingKey: KEY }, CTX);
    expect(event(r!.body)).toEqual({ routing_key: KEY, dedup_key: event(t!.body).dedup_key, event_action: 'resolve' });
  });

  it('sends no reminders or refreshes', () => {
    expect(pagerdutyReceiver.build([reminder(), refresh()], { routingKey: KEY }, CTX)).toEqual([]);
    expect(['firing', 'reminder', 'resolved', 'refresh'].map((k) => pagerdutyReceiver.accepts(k as never))).toEqual([true, false, true, false]);
  });

  it('warning severity for degradations; summary capped at 1024 characters', () => {
    const [req] = pagerdutyReceiver.build([firing({ alertKind: 'slow', summary: 'x'.repeat(5000) })], { routingKey: KEY }, CTX);
    const payload = event(req!.body).payload as Record<string, string>;
    expect(payload.severity).toBe('warning');
    expect([...payload.summary!]).toHaveLength(1024);
  });

  it('a long alert/target pair gets a hashed dedup_key of at most 255 characters', () => {
    const k = dedupKey('a'.repeat(200), 'b'.repeat(128));
    expect(k).toMatch(/^smtp-probe\/sha256:[0-9a-f]{64}$/);
    expect(dedupKey('a'.repeat(200), 'b'.repeat(128))).toBe(k);
  });

  it('never shows the routing key; honours a custom url', () => {
    const [req] = pagerdutyReceiver.build([firing()], { routingKey: KEY, url: 'https://events.eu.pagerduty.com/v2/enqueue' }, CTX);
    expect(req!.url).toBe('https://events.eu.pagerduty.com/v2/enqueue');
    expect(req!.describe).toBe('pagerduty https://events.eu.pagerduty.com/v2/enqueue');
    expect(req!.describe).not.toContain(KEY);
    expect(req!.redact).toContain(KEY);
  });

  it('shows the public Events API path, but no other configured path (a relay URL may hold a token)', () => {
    expect(pagerdutyReceiver.build([firing()], { routingKey: KEY }, CTX)[0]!.describe).toBe('pagerduty https://events.pagerduty.com/v2/enqueue');
    const [req] = pagerdutyReceiver.build([firing()], { routingKey: KEY, url: 'https://relay.example.test/pd/tok3nINpath' }, CTX);
    expect(req!.describe).toBe('pagerduty https://relay.example.test/…');
  });
});
