import { Registry } from 'prom-client';
import type { Dispatcher } from 'undici';
import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import {
  backoffDelay,
  createDeliveryMetrics,
  DEFAULT_BACKOFF,
  DeliveryQueue,
  isRetryable,
  type AlertsLogger,
  type BackoffPolicy,
  type DeliveryQueueOptions,
  type DeliveryReceiver,
  type SendFn,
} from '../../src/alerts/delivery.js';
import type { ReceiverModule, SendOptions, SendOutcome } from '../../src/alerts/providers/provider.js';
import type { Notification, NotificationKind } from '../../src/alerts/types.js';
import { ManualClock } from '../helpers/manual-clock.js';

const dispatcher = {} as Dispatcher;
const ALL_KINDS: readonly NotificationKind[] = ['firing', 'reminder', 'resolved', 'refresh'];
const SECRET = 's3cret-token-in-header';

function note(id: string, over: Partial<Notification> = {}): Notification {
  const kind = over.kind ?? 'firing';
  return {
    id,
    receiver: 'ops',
    kind,
    status: kind === 'resolved' ? 'resolved' : 'firing',
    alert: 'smtp_probe_down',
    alertKind: 'down',
    target: 'mx1',
    labels: { env: 'test' },
    startsAt: '2026-01-01T00:00:00.000Z',
    endsAt: kind === 'resolved' ? '2026-01-01T00:10:00.000Z' : null,
    summary: `summary of ${id}`,
    failure: null,
    result: null,
    intervalMs: 60_000,
    createdAt: '2026-01-01T00:00:00.000Z',
    ...over,
  };
}

function chunks<T>(list: readonly T[], size: number): T[][] {
  const out: T[][] = [];
  for (let i = 0; i < list.length; i += size) out.push(list.slice(i, i + size));
  return out;
}

/** A receiver module that puts up to maxBatch notifications in one request, in order. */
function fakeModule(
  opts: { maxBatch?: number; accepts?: readonly NotificationKind[]; build?: (batch: readonly Notification[]) => void } = {},
): ReceiverModule<{ url: string }> {
  const maxBatch = opts.maxBatch ?? 1;
  const kinds = opts.accepts ?? ALL_KINDS;
  return {
    type: 'fake',
    options: z.object({ url: z.string() }),
    accepts: (k) => kinds.includes(k),
    maxBatch,
    build(batch, o) {
      opts.build?.(batch);
      return chunks(batch, maxBatch).map((group) => ({
        url: o.url,
        method: 'POST',
        headers: { authorization: `Bearer ${SECRET}`, 'content-type': 'application/json' },
        body: JSON.stringify(group.map((n) => n.id)),
        ids: group.map((n) => n.id),
        describe: `POST ${o.url}`,
      }));
    },
  };
}

const ok = (status = 200): SendOutcome => ({ ok: true, status });
/** What sendRequest answers: null status = no HTTP answer (connection refused, reset, timeout). */
const fail = (status: number | null, retryAfterMs: number | null = null): Extract<SendOutcome, { ok: false }> => ({
  ok: false,
  status,
  retryable: status === null || status === 408 || status === 429 || status >= 500,
  retryAfterMs,
  error: status === null ? 'connect ECONNREFUSED 127.0.0.1:9' : `HTTP ${status}`,
});

interface Call {
  at: number;
  receiver: string;
  ids: string[];
  opts: SendOptions;
  outcome?: SendOutcome;
}

type Respond = (call: Call, index: number) => SendOutcome | Promise<SendOutcome>;

/** A send function that records every request; `respond` decides the outcome (default: 200). */
function fakeSend(respond: Respond = () => ok()) {
  const calls: Call[] = [];
  const send: SendFn = async (req, opts) => {
    const call: Call = { at: NaN, receiver: new URL(req.url).pathname.slice(1), ids: [...req.ids], opts };
    calls.push(call);
    call.outcome = await respond(call, calls.length - 1);
    return call.outcome;
  };
  /** Ids in successful requests, in order. */
  const delivered = (receiver?: string): string[] =>
    calls.filter((c) => c.outcome?.ok && (receiver === undefined || c.receiver === receiver)).flatMap((c) => c.ids);
  return { send, calls, delivered };
}

interface LogLine {
  level: string;
  obj: object;
  msg: string;
}

function captureLogger(): { logger: AlertsLogger; lines: LogLine[] } {
  const lines: LogLine[] = [];
  const at = (level: string) => (obj: object, msg: string) => lines.push({ level, obj, msg });
  return { logger: { debug: at('debug'), info: at('info'), warn: at('warn'), error: at('error') }, lines };
}

const receiver = (name: string, module: ReceiverModule<{ url: string }>, timeoutMs = 5000): DeliveryReceiver => ({
  name,
  module,
  options: { url: `https://hooks.example.test/${name}` },
  timeoutMs,
});

interface SetupOptions extends Partial<DeliveryQueueOptions> {
  module?: ReceiverModule<{ url: string }>;
  respond?: Respond;
}

function setup(o: SetupOptions = {}) {
  const clock = new ManualClock();
  const registry = new Registry();
  const { logger, lines } = captureLogger();
  const fake = fakeSend(async (call, i) => {
    call.at = clock.now();
    return (o.respond ?? (() => ok()))(call, i);
  });
  let changes = 0;
  const { module, respond: _respond, ...rest } = o;
  const q = new DeliveryQueue({
    clock,
    receivers: [receiver('ops', module ?? fakeModule())],
    send: fake.send,
    dispatcher,
    externalUrl: 'http://probe.example.test:9469/',
    registry,
    logger,
    random: () => 0.5,
    onChange: () => changes++,
    ...rest,
  });
  return { clock, q, registry, lines, ...fake, changes: () => changes };
}

/** smtp_probe_notifications_total values for one receiver, by result. */
async function counts(registry: Registry, receiverName = 'ops'): Promise<Record<string, number>> {
  const metric = registry.getSingleMetric('smtp_probe_notifications_total');
  const data = await metric!.get();
  const out: Record<string, number> = {};
  for (const v of data.values) if (v.labels.receiver === receiverName) out[String(v.labels.result)] = v.value;
  return out;
}

const gaps = (times: number[]): number[] => times.slice(1).map((t, i) => t - times[i]!);

describe('delivery: order and grouping', () => {
  it('sends each receiver its notifications in the order queued, without blocking the caller', async () => {
    const { clock, q, calls, delivered } = setup();
    for (const id of ['a', 'b', 'c', 'd', 'e']) expect(q.enqueue(note(id, { alert: `rule_${id}` }))).toBe(true);
    expect(calls).toHaveLength(0); // enqueue returned before anything was sent
    expect(q.pending().map((n) => n.id)).toEqual(['a', 'b', 'c', 'd', 'e']);
    await clock.advance(0);
    expect(calls.map((c) => c.ids)).toEqual([['a'], ['b'], ['c'], ['d'], ['e']]);
    expect(delivered()).toEqual(['a', 'b', 'c', 'd', 'e']);
    expect(q.pending()).toEqual([]);
    expect(calls[0]!.opts).toMatchObject({ timeoutMs: 5000, dispatcher, now: clock.wallNow() });
  });

  it('a receiver that is down does not hold up another', async () => {
    const clock = new ManualClock();
    const fake = fakeSend((c) => (c.receiver === 'ops' ? fail(503) : ok()));
    const q = new DeliveryQueue({
      clock, send: fake.send, dispatcher, externalUrl: 'http://x/', random: () => 0.5,
      receivers: [receiver('ops', fakeModule()), receiver('am', fakeModule())],
    });
    for (const id of ['1', '2', '3']) {
      q.enqueue(note(`ops-${id}`, { receiver: 'ops', alert: `r${id}` }));
      q.enqueue(note(`am-${id}`, { receiver: 'am', alert: `r${id}` }));
    }
    await clock.advance(10_000);
    expect(fake.delivered('am')).toEqual(['am-1', 'am-2', 'am-3']);
    expect(fake.delivered('ops')).toEqual([]);
    expect(q.pending().map((n) => n.id)).toEqual(['ops-1', 'ops-2', 'ops-3']);
    expect(q.stats()).toEqual([
      { receiver: 'ops', queued: 3, inFlight: 0, failures: 4 },
      { receiver: 'am', queued: 0, inFlight: 0, failures: 0 },
    ]);
  });

  it('groups: a module with maxBatch 20 gets one request for 20 queued notifications', async () => {
    const { clock, q, calls, registry } = setup({ module: fakeModule({ maxBatch: 20 }) });
    const ids = Array.from({ length: 20 }, (_, i) => `n${i}`);
    for (const id of ids) q.enqueue(note(id, { alert: `rule_${id}` }));
    await clock.advance(0);
    expect(calls).toHaveLength(1);
    expect(calls[0]!.ids).toEqual(ids);
    expect(await counts(registry)).toMatchObject({ sent: 20 });
  });

  it('groups 45 into 20 + 20 + 5, and what arrives during a request rides in the next one', async () => {
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    const { clock, q, calls } = setup({
      module: fakeModule({ maxBatch: 20 }),
      respond: async (_c, i) => {
        if (i === 0) await gate;
        return ok();
      },
    });
    for (let i = 0; i < 45; i++) q.enqueue(note(`n${i}`, { alert: `r${i}` }));
    await clock.advance(0);
    expect(calls).toHaveLength(1);
    q.enqueue(note('late', { alert: 'late' }));
    release();
    await clock.advance(0);
    expect(calls.map((c) => c.ids.length)).toEqual([20, 20, 6]);
    expect(calls[2]!.ids.at(-1)).toBe('late');
  });

  it('groupWaitMs lets notifications gather before the first batch', async () => {
    const { clock, q, calls } = setup({ module: fakeModule({ maxBatch: 20 }), groupWaitMs: 2000 });
    q.enqueue(note('a', { alert: 'a' }));
    await clock.advance(1000);
    q.enqueue(note('b', { alert: 'b' }));
    expect(calls).toHaveLength(0);
    await clock.advance(1000);
    expect(calls.map((c) => c.ids)).toEqual([['a', 'b']]);
  });
});

describe('delivery: retries', () => {
  it('backoff grows by the factor up to maxMs (jitter at its midpoint)', async () => {
    const { clock, q, calls, registry } = setup({ respond: () => fail(503) });
    q.enqueue(note('a'));
    await clock.advance(1_200_000);
    expect(gaps(calls.map((c) => c.at))).toEqual([
      1000, 2000, 4000, 8000, 16_000, 32_000, 64_000, 128_000, 256_000, 300_000, 300_000,
    ]);
    expect(calls.every((c) => c.ids[0] === 'a')).toBe(true);
    expect(await counts(registry)).toMatchObject({ retried: 12, sent: 0, failed: 0 });
  });

  it('jitter: full stays in [0, d], ±50% in [d/2, 3d/2) and never over maxMs', () => {
    const full: BackoffPolicy = { ...DEFAULT_BACKOFF, jitter: 'full' };
    const half: BackoffPolicy = { ...DEFAULT_BACKOFF, jitter: 'half' };
    for (let failures = 1; failures <= 12; failures++) {
      const d = Math.min(300_000, 1000 * 2 ** (failures - 1));
      for (let i = 0; i < 200; i++) {
        const f = backoffDelay(failures, full);
        expect(f).toBeGreaterThanOrEqual(0);
        expect(f).toBeLessThanOrEqual(d);
        const h = backoffDelay(failures, half);
        expect(h).toBeGreaterThanOrEqual(d / 2);
        expect(h).toBeLessThanOrEqual(Math.min(300_000, 1.5 * d));
      }
      expect(backoffDelay(failures, half, () => 0)).toBe(d / 2);
      expect(backoffDelay(failures, { ...half, jitter: 'none' }, () => 0.9)).toBe(d);
    }
    // Not all the same: jitter spreads receivers that failed together.
    const spread = new Set(Array.from({ length: 50 }, () => backoffDelay(5, half)));
    expect(spread.size).toBeGreaterThan(10);
  });

  it('jitter in the queue: with real randomness every wait stays within its bounds', async () => {
    const { clock, q, calls } = setup({ respond: () => fail(null), random: Math.random, backoff: { jitter: 'half' } });
    q.enqueue(note('a'));
    await clock.advance(600_000);
    const g = gaps(calls.map((c) => c.at));
    expect(g.length).toBeGreaterThan(5);
    g.forEach((gap, i) => {
      const d = Math.min(300_000, 1000 * 2 ** i);
      expect(gap).toBeGreaterThanOrEqual(Math.floor(d / 2));
      expect(gap).toBeLessThanOrEqual(Math.min(300_000, Math.ceil(1.5 * d)));
    });
  });

  it('Retry-After is honoured: the next attempt waits at least that long', async () => {
    const { clock, q, calls } = setup({
      respond: (_c, i) => (i === 0 ? fail(429, 30_000) : i === 1 ? fail(503, 120_000) : ok()),
    });
    q.enqueue(note('a'));
    await clock.advance(29_999);
    expect(calls).toHaveLength(1);
    await clock.advance(1);
    expect(calls).toHaveLength(2);
    expect(calls[1]!.at).toBe(30_000);
    await clock.advance(200_000);
    expect(calls.map((c) => c.at)).toEqual([0, 30_000, 150_000]);
    expect(calls[2]!.outcome).toEqual(ok());
  });

  it('backoff wins over a shorter Retry-After; an absurd Retry-After is cut to maxRetryAfterMs', async () => {
    const { clock, q, calls } = setup({
      maxRetryAfterMs: 600_000,
      respond: (_c, i) => (i < 3 ? fail(503) : i === 3 ? fail(503, 10) : i === 4 ? fail(429, 10 * 86_400_000) : ok()),
    });
    q.enqueue(note('a'));
    await clock.advance(2_000_000);
    // 1000, 2000, 4000 (backoff), then 8000 beats Retry-After 10 ms, then 10 days is cut to 10 min.
    expect(gaps(calls.map((c) => c.at))).toEqual([1000, 2000, 4000, 8000, 600_000]);
  });

  for (const status of [408, 429, 500, 502, 503, null]) {
    it(`${status ?? 'no answer'}: retried, then delivered once`, async () => {
      const { clock, q, calls, delivered, registry } = setup({ respond: (_c, i) => (i === 0 ? fail(status) : ok()) });
      q.enqueue(note('a'));
      await clock.advance(5000);
      expect(calls.map((c) => c.ids)).toEqual([['a'], ['a']]);
      expect(delivered()).toEqual(['a']);
      expect(await counts(registry)).toMatchObject({ retried: 1, sent: 1, failed: 0 });
    });
  }

  for (const status of [400, 401, 403, 404, 410, 413, 422]) {
    it(`${status}: not retried, counted failed, logged at error with the request's describe and no secret`, async () => {
      const { clock, q, calls, registry, lines } = setup({ respond: (_c, i) => (i === 0 ? fail(status) : ok()) });
      q.enqueue(note('a', { alert: 'a' }));
      q.enqueue(note('b', { alert: 'b' }));
      await clock.advance(60_000);
      expect(calls.map((c) => c.ids)).toEqual([['a'], ['b']]);
      expect(await counts(registry)).toMatchObject({ failed: 1, sent: 1, retried: 0 });
      const err = lines.find((l) => l.level === 'error');
      expect(err?.obj).toMatchObject({ receiver: 'ops', request: 'POST https://hooks.example.test/ops', status, ids: ['a'] });
      expect(JSON.stringify(lines)).not.toContain(SECRET);
    });
  }

  it('a 404 is not retried even if the sender called it retryable', async () => {
    const { clock, q, calls } = setup({ respond: () => ({ ...fail(404), retryable: true }) });
    q.enqueue(note('a'));
    await clock.advance(60_000);
    expect(calls).toHaveLength(1);
    expect(isRetryable({ ...fail(404), retryable: true })).toBe(false);
    expect(isRetryable(fail(429))).toBe(true);
    expect(isRetryable(ok())).toBe(false);
  });

  it('a send that rejects counts as a retryable failure', async () => {
    const { clock, q, calls, delivered } = setup({
      respond: (_c, i) => {
        if (i === 0) throw new Error('socket hang up');
        return ok();
      },
    });
    q.enqueue(note('a'));
    await clock.advance(5000);
    expect(calls).toHaveLength(2);
    expect(delivered()).toEqual(['a']);
  });

  it('per-request timeout (on the Clock): the request is aborted and retried', async () => {
    const { clock, q, calls, delivered, registry, lines } = setup({
      respond: (c, i) => (i === 0 ? new Promise<SendOutcome>(() => undefined) : ok()),
    });
    q.enqueue(note('a'));
    await clock.advance(4999);
    expect(calls[0]!.opts.signal?.aborted).toBe(false);
    await clock.advance(1);
    expect(calls[0]!.opts.signal?.aborted).toBe(true);
    expect(await counts(registry)).toMatchObject({ retried: 1 });
    expect(lines.find((l) => l.level === 'warn')?.obj).toMatchObject({ error: 'no answer within 5000 ms', attempt: 1, retryInMs: 1000 });
    await clock.advance(1000);
    expect(calls.map((c) => c.at)).toEqual([0, 6000]);
    expect(delivered()).toEqual(['a']);
  });

  it('a receiver down for 10 simulated minutes then up gets every notification exactly once, in order', async () => {
    const { clock, q, delivered, calls, registry } = setup({
      respond: (c) => (c.at < 600_000 ? fail(c.at < 300_000 ? null : 503) : ok()),
    });
    const queued: string[] = [];
    for (let i = 0; i < 10; i++) {
      const firing = note(`fire-${i}`, { alert: `rule${i}`, kind: 'firing' });
      q.enqueue(firing);
      queued.push(firing.id);
      await clock.advance(30_000);
      const resolved = note(`resolve-${i}`, { alert: `rule${i}`, kind: 'resolved' });
      q.enqueue(resolved);
      queued.push(resolved.id);
      await clock.advance(30_000);
    }
    expect(clock.now()).toBe(600_000);
    expect(delivered()).toEqual([]);
    expect(q.pending().map((n) => n.id)).toEqual(queued);
    await clock.advance(10 * 60_000);
    expect(delivered()).toEqual(queued);
    expect(new Set(delivered()).size).toBe(20);
    expect(q.pending()).toEqual([]);
    // Only the head was ever tried while down: one retry counted per failed attempt.
    const failedAttempts = calls.filter((c) => !c.outcome?.ok).length;
    expect(await counts(registry)).toMatchObject({ sent: 20, retried: failedAttempts, failed: 0, dropped: 0 });
  });
});

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

describe('delivery: rate cap', () => {
  it('at most maxPerMinute requests per receiver in any rolling minute; the excess waits, nothing dropped', async () => {
    const { clock, q, calls, delivered, registry } = setup({ maxPerMinute: 10 });
    const ids = Array.from({ length: 25 }, (_, i) => `n${i}`);
    for (const id of ids) q.enqueue(note(id, { alert: id }));
    await clock.advance(0);
    expect(calls).toHaveLength(10);
    await clock.advance(59_999);
    expect(calls).toHaveLength(10);
    await clock.advance(1);
    expect(calls).toHaveLength(20);
    await clock.advance(60_000);
    expect(delivered()).toEqual(ids);
    for (const c of calls) expect(calls.filter((d) => d.at > c.at - 60_000 && d.at <= c.at).length).toBeLessThanOrEqual(10);
    expect(await counts(registry)).toMatchObject({ sent: 25, dropped: 0 });
  });
});

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
