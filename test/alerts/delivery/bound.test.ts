// Delivery: the bounded per-receiver queue (bound.ts): overflow, dedupe, superseding.
import { describe, expect, it } from 'vitest';
import type { SendOutcome } from '../../../src/alerts/providers/provider.js';
import type { NotificationKind } from '../../../src/alerts/types.js';
import { counts, fail, fakeModule, note, ok, setup } from './harness.js';

describe('delivery: the bounded queue', () => {
  it('overflow drops refresh, then reminders, then firings already followed; never a resolve', async () => {
    let up = false;
    const { clock, q, delivered, registry, lines } = setup({ maxQueue: 4, respond: () => (up ? ok() : fail(503)) });
    const add = (id: string, kind: NotificationKind, alert: string) => q.enqueue(note(id, { kind, alert }));
    add('fA', 'firing', 'A');
    add('mA', 'reminder', 'A');
    add('xB', 'refresh', 'B');
    add('fB', 'firing', 'B');
    add('fC', 'firing', 'C'); // 5 > 4: the refresh goes
    expect(q.pending().map((n) => n.id)).toEqual(['fA', 'mA', 'fB', 'fC']);
    add('rA', 'resolved', 'A'); // supersedes mA (stale), so no overflow
    expect(q.pending().map((n) => n.id)).toEqual(['fA', 'fB', 'fC', 'rA']);
    expect(add('mB', 'reminder', 'B')).toBe(false); // the reminder itself is the oldest droppable
    expect(q.pending().map((n) => n.id)).toEqual(['fA', 'fB', 'fC', 'rA']);
    add('fD', 'firing', 'D'); // fA is already followed by rA
    expect(q.pending().map((n) => n.id)).toEqual(['fB', 'fC', 'rA', 'fD']);
    add('rB', 'resolved', 'B');
    add('rC', 'resolved', 'C');
    add('rD', 'resolved', 'D');
    expect(q.pending().map((n) => n.id)).toEqual(['rA', 'rB', 'rC', 'rD']);
    add('rE', 'resolved', 'E'); // only resolves left: the queue goes over its bound
    expect(q.pending().map((n) => n.id)).toEqual(['rA', 'rB', 'rC', 'rD', 'rE']);
    add('fF', 'firing', 'F'); // a firing with only resolves before it: dropped, resolves stay
    expect(q.pending().map((n) => n.id)).toEqual(['rA', 'rB', 'rC', 'rD', 'rE']);

    expect(await counts(registry)).toMatchObject({ dropped: 7, superseded: 1 });
    const drops = lines.filter((l) => l.msg.startsWith('notification queue full')).map((l) => (l.obj as { id: string }).id);
    expect(drops).toEqual(['xB', 'mB', 'fA', 'fB', 'fC', 'fD', 'fF']);
    expect(lines.some((l) => l.msg.includes('over its bound'))).toBe(true);
    expect(await registry.metrics()).toContain('smtp_probe_notification_queue_length{receiver="ops"} 5');

    up = true;
    await clock.advance(60_000);
    expect(delivered()).toEqual(['rA', 'rB', 'rC', 'rD', 'rE']);
  });

  it('drops the oldest reminder before any firing', () => {
    const { q } = setup({ maxQueue: 3 });
    q.enqueue(note('fA', { alert: 'A' }));
    q.enqueue(note('mB', { alert: 'B', kind: 'reminder' }));
    q.enqueue(note('mC', { alert: 'C', kind: 'reminder' }));
    q.enqueue(note('fD', { alert: 'D' }));
    expect(q.pending().map((n) => n.id)).toEqual(['fA', 'mC', 'fD']);
  });

  it('the notification in flight is never dropped or superseded', async () => {
    let release!: (o: SendOutcome) => void;
    const { clock, q, delivered } = setup({
      maxQueue: 1,
      respond: (_c, i) => (i === 0 ? new Promise<SendOutcome>((r) => (release = r)) : ok()),
    });
    q.enqueue(note('m1', { kind: 'reminder' }));
    await clock.advance(0); // m1 in flight
    q.enqueue(note('m2', { kind: 'reminder', alert: 'other' })); // over the bound: m2 itself goes, not m1
    expect(q.pending().map((n) => n.id)).toEqual(['m1']);
    q.enqueue(note('r1', { kind: 'resolved' })); // would supersede m1, but m1 is in flight
    expect(q.pending().map((n) => n.id)).toEqual(['m1', 'r1']);
    release(ok());
    await clock.advance(0);
    expect(delivered()).toEqual(['m1', 'r1']);
  });
});

describe('delivery: dedupe, superseding, kinds', () => {
  it('deduplicates by id: while queued and once delivered', async () => {
    const { clock, q, delivered } = setup();
    expect(q.enqueue(note('a'))).toBe(true);
    expect(q.enqueue(note('a'))).toBe(false);
    expect(q.pending()).toHaveLength(1);
    await clock.advance(0);
    expect(q.enqueue(note('a'))).toBe(false);
    expect(q.restore([note('a'), note('b', { alert: 'b' })])).toBe(1);
    await clock.advance(0);
    expect(delivered()).toEqual(['a', 'b']);
  });

  it('a resolve supersedes queued reminders and refreshes of its alert, but the firing still goes first', async () => {
    const { clock, q, delivered, registry } = setup({ respond: (c) => (c.at < 10_000 ? fail(503) : ok()) });
    q.enqueue(note('fA', { alert: 'A' }));
    await clock.advance(0); // fA tried and failed: the receiver is down
    q.enqueue(note('xA', { alert: 'A', kind: 'refresh' }));
    q.enqueue(note('mA', { alert: 'A', kind: 'reminder' }));
    q.enqueue(note('mB', { alert: 'B', kind: 'reminder' }));
    q.enqueue(note('mA-other-target', { alert: 'A', target: 'mx2', kind: 'reminder' }));
    q.enqueue(note('rA', { alert: 'A', kind: 'resolved' }));
    expect(q.pending().map((n) => n.id)).toEqual(['fA', 'mB', 'mA-other-target', 'rA']);
    await clock.advance(60_000);
    expect(delivered()).toEqual(['fA', 'mB', 'mA-other-target', 'rA']);
    expect(await counts(registry)).toMatchObject({ superseded: 2, sent: 4 });
  });

  it('grouped, a firing and its resolve travel in one request, firing first', async () => {
    const { clock, q, calls } = setup({ module: fakeModule({ maxBatch: 20 }) });
    q.enqueue(note('fA', { alert: 'A' }));
    q.enqueue(note('mA', { alert: 'A', kind: 'reminder' }));
    q.enqueue(note('rA', { alert: 'A', kind: 'resolved' }));
    await clock.advance(0);
    expect(calls.map((c) => c.ids)).toEqual([['fA', 'rA']]);
  });

  it('a newer reminder or refresh supersedes an older undelivered one of the same alert', async () => {
    const { clock, q, delivered } = setup({ respond: (c) => (c.at < 10_000 ? fail(503) : ok()) });
    q.enqueue(note('fA', { alert: 'A' }));
    q.enqueue(note('m1', { alert: 'A', kind: 'reminder' }));
    q.enqueue(note('x1', { alert: 'A', kind: 'refresh' }));
    q.enqueue(note('m2', { alert: 'A', kind: 'reminder' }));
    q.enqueue(note('x2', { alert: 'A', kind: 'refresh' }));
    q.enqueue(note('fB', { alert: 'B' }));
    await clock.advance(60_000);
    expect(delivered()).toEqual(['fA', 'm2', 'x2', 'fB']);
  });

  it('skips kinds the receiver does not take, and unknown receivers', async () => {
    const { clock, q, calls, lines } = setup({ module: fakeModule({ accepts: ['firing', 'resolved'] }) });
    expect(q.enqueue(note('x', { kind: 'refresh' }))).toBe(false);
    expect(q.enqueue(note('m', { kind: 'reminder' }))).toBe(false);
    expect(q.enqueue(note('f', { receiver: 'nobody' }))).toBe(false);
    expect(lines.some((l) => l.level === 'warn' && l.msg.includes('unknown receiver'))).toBe(true);
    await clock.advance(0);
    expect(calls).toEqual([]);
  });

  it('a notification the module cannot build is given up alone; the rest go', async () => {
    const module = fakeModule({
      maxBatch: 20,
      build: (batch) => {
        if (batch.some((n) => n.id === 'bad')) throw new Error('cannot render');
      },
    });
    const { clock, q, delivered, registry, lines } = setup({ module });
    for (const id of ['a', 'bad', 'c']) q.enqueue(note(id, { alert: id }));
    await clock.advance(0);
    expect(delivered()).toEqual(['a', 'c']);
    expect(await counts(registry)).toMatchObject({ failed: 1, sent: 2 });
    expect(lines.find((l) => l.level === 'error')?.obj).toMatchObject({ id: 'bad', err: 'cannot render' });
  });
});
