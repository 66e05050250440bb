// Delivery: the send loop (worker.ts, send-once.ts, rate-window.ts, backoff.ts): order, grouping, retries, timeouts, the rate cap.
import { describe, expect, it } from 'vitest';
import { backoffDelay, DEFAULT_BACKOFF, DeliveryQueue, isRetryable, type BackoffPolicy } from '../../../src/alerts/delivery/index.js';
import type { SendOutcome } from '../../../src/alerts/providers/provider.js';
import { ManualClock } from '../../helpers/manual-clock.js';
import { counts, dispatcher, fail, fakeModule, fakeSend, gaps, note, ok, receiver, SECRET, setup } from './harness.js';

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
