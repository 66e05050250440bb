// Delivery: the DeliveryQueue facade (queue.ts, metrics.ts): pending, flush, stop, metrics.
import { Registry } from 'prom-client';
import { describe, expect, it } from 'vitest';
import { createDeliveryMetrics, DeliveryQueue } from '../../../src/alerts/delivery/index.js';
import type { SendOutcome } from '../../../src/alerts/providers/provider.js';
import { ManualClock } from '../../helpers/manual-clock.js';
import { dispatcher, fail, fakeModule, fakeSend, note, ok, receiver, setup } from './harness.js';

describe('delivery: pending, flush, stop, metrics', () => {
  it('onChange fires when the pending set changes; pending() is what is undelivered, in-flight included', async () => {
    let release!: (o: SendOutcome) => void;
    const { clock, q, changes } = setup({ respond: () => new Promise<SendOutcome>((r) => (release = r)) });
    q.enqueue(note('a'));
    expect(changes()).toBe(1);
    await clock.advance(0);
    expect(q.pending().map((n) => n.id)).toEqual(['a']);
    expect(q.stats()[0]).toMatchObject({ queued: 1, inFlight: 1 });
    release(ok());
    await clock.advance(0);
    expect(q.pending()).toEqual([]);
    expect(changes()).toBe(2);
  });

  it('flush() cuts a backoff wait short and resolves once everything is sent', async () => {
    const { clock, q, calls } = setup({ backoff: { baseMs: 60_000 }, respond: (_c, i) => (i === 0 ? fail(503) : ok()) });
    q.enqueue(note('a'));
    await clock.advance(0);
    expect(calls).toHaveLength(1);
    const flushed = q.flush(5000);
    await clock.advance(0);
    expect(await flushed).toBe(0);
    expect(calls.map((c) => c.at)).toEqual([0, 0]);
  });

  it('flush() is bounded: a receiver still down leaves its notifications pending', async () => {
    const { clock, q } = setup({ respond: () => fail(null) });
    q.enqueue(note('a', { alert: 'a' }));
    q.enqueue(note('b', { alert: 'b' }));
    const flushed = q.flush(5000);
    await clock.advance(5000);
    expect(await flushed).toBe(2);
  });

  it('stop() aborts the request in flight, sends nothing more, and keeps everything pending', async () => {
    const { clock, q, calls } = setup({ respond: () => new Promise<SendOutcome>(() => undefined) });
    q.enqueue(note('a', { alert: 'a' }));
    q.enqueue(note('b', { alert: 'b' }));
    await clock.advance(0);
    expect(calls).toHaveLength(1);
    await q.stop();
    expect(calls[0]!.opts.signal?.aborted).toBe(true);
    await clock.advance(3_600_000);
    expect(calls).toHaveLength(1);
    expect(q.pending().map((n) => n.id)).toEqual(['a', 'b']);
    expect(q.stats()[0]).toMatchObject({ inFlight: 0 });
    q.enqueue(note('c', { alert: 'c' })); // still kept for the state file
    expect(q.pending().map((n) => n.id)).toEqual(['a', 'b', 'c']);
  });

  it('metrics: the registry shows sent, retried, failed, dropped and the queue length per receiver', async () => {
    const clock = new ManualClock();
    const registry = new Registry();
    const attempts = new Map<string, number>();
    const fake = fakeSend((c) => {
      const id = c.ids[0]!;
      attempts.set(id, (attempts.get(id) ?? 0) + 1);
      return id === 'gone' ? fail(404) : id === 'flaky' && attempts.get(id) === 1 ? fail(500) : ok();
    });
    const q = new DeliveryQueue({
      clock, registry, send: fake.send, dispatcher, externalUrl: 'http://x/', random: () => 0.5, maxQueue: 2,
      receivers: [receiver('ops', fakeModule()), receiver('idle', fakeModule())],
    });
    q.enqueue(note('flaky', { alert: 'a' }));
    q.enqueue(note('gone', { alert: 'b' }));
    q.enqueue(note('extra', { alert: 'c', kind: 'reminder' })); // over the bound of 2: dropped
    expect(await registry.metrics()).toContain('smtp_probe_notification_queue_length{receiver="ops"} 2');
    await clock.advance(10_000);
    const text = await registry.metrics();
    expect(text).toContain('# TYPE smtp_probe_notifications_total counter');
    expect(text).toContain('smtp_probe_notifications_total{receiver="ops",result="sent"} 1');
    expect(text).toContain('smtp_probe_notifications_total{receiver="ops",result="retried"} 1');
    expect(text).toContain('smtp_probe_notifications_total{receiver="ops",result="failed"} 1');
    expect(text).toContain('smtp_probe_notifications_total{receiver="ops",result="dropped"} 1');
    expect(text).toContain('smtp_probe_notifications_total{receiver="idle",result="sent"} 0');
    expect(text).toContain('smtp_probe_notification_queue_length{receiver="ops"} 0');
    expect(text).toContain('smtp_probe_notification_queue_length{receiver="idle"} 0');
    // A second queue on the same registry (e.g. after a reload) does not throw on the names already registered.
    expect(() => new DeliveryQueue({ clock, registry, send: fake.send, dispatcher, externalUrl: 'http://x/', receivers: [] })).not.toThrow();
  });

  it('one DeliveryMetrics shared across queues (config reloads): series of removed receivers go', async () => {
    const clock = new ManualClock();
    const registry = new Registry();
    const metrics = createDeliveryMetrics(registry);
    const fake = fakeSend();
    const base = { clock, metrics, send: fake.send, dispatcher, externalUrl: 'http://x/' };
    const q1 = new DeliveryQueue({ ...base, receivers: [receiver('ops', fakeModule()), receiver('idle', fakeModule())] });
    q1.enqueue(note('a'));
    await clock.advance(0);
    await q1.stop();
    const q2 = new DeliveryQueue({ ...base, receivers: [receiver('ops', fakeModule())] });
    q2.restore(q1.pending());
    const text = await registry.metrics();
    expect(text).toContain('smtp_probe_notifications_total{receiver="ops",result="sent"} 1');
    expect(text).not.toContain('receiver="idle"');
  });
});
