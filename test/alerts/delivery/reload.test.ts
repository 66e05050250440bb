// Delivery across config reloads (DeliveryQueue.replace) and the save before a delivery counts as done (persist).
import { describe, expect, it } from 'vitest';
import type { SendOutcome } from '../../../src/alerts/providers/provider.js';
import { counts, fail, fakeModule, note, ok, receiver, setup } from './harness.js';

const ops = () => receiver('ops', fakeModule());

describe('delivery: a reload keeps each receiver its pacing', () => {
  it('50 reloads against a failing receiver: no attempt before its backoff ends', async () => {
    const { clock, q, calls } = setup({ backoff: { baseMs: 60_000, jitter: 'none' }, respond: () => fail(503) });
    q.enqueue(note('a'));
    await clock.advance(0);
    expect(calls).toHaveLength(1);
    for (let i = 0; i < 50; i += 1) {
      q.replace([ops()]);
      await clock.advance(100);
    }
    expect(calls).toHaveLength(1);
    await clock.advance(60_000 - 5000);
    expect(calls).toHaveLength(2);
    expect(q.stats()[0]).toMatchObject({ receiver: 'ops', failures: 2 });
  });

  it('the 60-a-minute cap counts the requests made before the reload', async () => {
    const { clock, q, calls } = setup({ maxPerMinute: 3 });
    for (const id of ['a', 'b', 'c', 'd', 'e']) q.enqueue(note(id, { alert: id }));
    await clock.advance(0);
    expect(calls).toHaveLength(3);
    for (let i = 0; i < 10; i += 1) {
      q.replace([ops()]);
      await clock.advance(1000);
    }
    expect(calls).toHaveLength(3);
    await clock.advance(60_000);
    expect(calls.map((c) => c.ids[0])).toEqual(['a', 'b', 'c', 'd', 'e']);
  });

  it('a receiver whose settings change keeps its queue and sends with the new settings', async () => {
    const { clock, q, calls } = setup({ backoff: { baseMs: 1000, jitter: 'none' }, respond: (c) => (c.receiver === 'ops' ? fail(503) : ok()) });
    q.enqueue(note('a'));
    await clock.advance(0);
    q.replace([{ ...receiver('ops', fakeModule()), options: { url: 'https://hooks.example.test/ops-new' } }]);
    await clock.advance(1000);
    expect(calls.map((c) => c.receiver)).toEqual(['ops', 'ops-new']);
    expect(q.pending()).toEqual([]);
  });

  it('a receiver taken out by a reload still delivers what it holds (its owed resolves), then is gone', async () => {
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    const { clock, q, calls, delivered } = setup({
      receivers: [ops(), receiver('old', fakeModule())],
      respond: async (c) => {
        if (c.receiver === 'old') await gate;
        return ok();
      },
    });
    q.enqueue(note('fired', { receiver: 'old' }));
    await clock.advance(0);
    q.replace([ops()]);
    expect(q.enqueue(note('resolved', { receiver: 'old', kind: 'resolved' }))).toBe(true); // the engine's owed resolve
    q.dropRetired();
    expect(q.stats().map((s) => s.receiver)).toEqual(['ops', 'old']);
    release();
    await clock.advance(0);
    expect(delivered('old')).toEqual(['fired', 'resolved']);
    expect(q.stats().map((s) => s.receiver)).toEqual(['ops']);
    expect(q.enqueue(note('late', { receiver: 'old' }))).toBe(false);
    expect(calls).toHaveLength(2);
  });

  it('a receiver taken out with nothing queued is gone at once', () => {
    const { q } = setup({ receivers: [ops(), receiver('old', fakeModule())] });
    q.replace([ops()]);
    q.dropRetired();
    expect(q.stats().map((s) => s.receiver)).toEqual(['ops']);
  });
});

describe('delivery: saved before acknowledged', () => {
  it('a delivered notification leaves the pending set, is saved, and only then counts as sent', async () => {
    let saved!: () => void;
    const snapshots: string[][] = [];
    const { clock, q, registry } = setup({
      persist: () => {
        snapshots.push(q.pending().map((n) => n.id));
        return new Promise<void>((r) => (saved = r));
      },
    });
    q.enqueue(note('a'));
    await clock.advance(0);
    expect(snapshots).toEqual([[]]);
    expect((await counts(registry)).sent).toBe(0);
    saved();
    await clock.advance(0);
    expect((await counts(registry)).sent).toBe(1);
  });

  it('a save that fails is logged; delivery goes on', async () => {
    const { clock, q, registry, lines, calls } = setup({ persist: () => Promise.reject(new Error('EROFS: read-only file system')) });
    q.enqueue(note('a', { alert: 'a' }));
    q.enqueue(note('b', { alert: 'b' }));
    await clock.advance(0);
    expect(calls).toHaveLength(2);
    expect((await counts(registry)).sent).toBe(2);
    expect(lines.some((l) => l.level === 'error' && /EROFS/.test(JSON.stringify(l.obj)))).toBe(true);
  });

  it('a request still in flight at a reload is not aborted by it', async () => {
    let answer!: (o: SendOutcome) => void;
    const { clock, q, calls, delivered } = setup({ respond: () => new Promise<SendOutcome>((r) => (answer = r)) });
    q.enqueue(note('a'));
    await clock.advance(0);
    q.replace([ops()]);
    answer(ok());
    await clock.advance(0);
    expect(calls[0]!.opts.signal?.aborted).toBe(false);
    expect(delivered()).toEqual(['a']);
  });
});
