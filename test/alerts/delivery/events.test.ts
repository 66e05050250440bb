/** The delivery queue tells what happened to each notification: delivered, failed (each attempt), dropped. */
import { describe, expect, it } from 'vitest';
import type { DeliveryEvent } from '../../../src/alerts/delivery/index.js';
import { fail, note, ok, setup } from './harness.js';

const said = (events: DeliveryEvent[]): string[] => events.map((e) => `${e.event}:${e.notification.id}`);

describe('delivery events', () => {
  it('a retried notification: one delivery_failed per attempt, saying which and when next, then delivered', async () => {
    const events: DeliveryEvent[] = [];
    const { clock, q } = setup({ onEvent: (e) => events.push(e), respond: (_c, i) => (i < 2 ? fail(503) : ok(202)) });
    q.enqueue(note('a'));
    await clock.advance(60_000);
    expect(said(events)).toEqual(['delivery_failed:a', 'delivery_failed:a', 'delivered:a']);
    expect(events[0]!.detail).toBe('firing: HTTP 503; attempt 1, next in 1.0 s');
    expect(events[1]!.detail).toBe('firing: HTTP 503; attempt 2, next in 2.0 s');
    expect(events[2]!.detail).toBe('firing sent (HTTP 202)');
    expect(events[2]!.notification).toMatchObject({ alert: 'smtp_probe_down', target: 'mx1', receiver: 'ops' });
  });

  it('a refused notification: one delivery_failed, given up', async () => {
    const events: DeliveryEvent[] = [];
    const { clock, q } = setup({ onEvent: (e) => events.push(e), respond: () => fail(400) });
    q.enqueue(note('a', { kind: 'resolved' }));
    await clock.advance(60_000);
    expect(said(events)).toEqual(['delivery_failed:a']);
    expect(events[0]!.detail).toBe('resolved: refused (HTTP 400); not retried');
  });

  it('a notification dropped from a full queue', async () => {
    const events: DeliveryEvent[] = [];
    const { clock, q } = setup({ maxQueue: 1, onEvent: (e) => events.push(e), respond: () => fail(503) });
    q.enqueue(note('a', { alert: 'x' }));
    q.enqueue(note('b', { alert: 'y', kind: 'reminder' }));
    await clock.advance(10);
    expect(events.filter((e) => e.event === 'dropped').map((e) => [e.notification.id, e.detail])).toEqual([
      ['b', 'reminder: the queue was full (1 queued); dropped'],
    ]);
  });
});
