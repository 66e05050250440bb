import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Registry } from 'prom-client';
import type { Dispatcher } from 'undici';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { DeliveryQueue, type AlertsLogger, type SendFn } from '../../src/alerts/delivery/index.js';
import type { ReceiverModule, SendOutcome } from '../../src/alerts/providers/provider.js';
import { StateStore, STATE_FILE_VERSION, type StateSnapshot } from '../../src/alerts/store.js';
import type { AlertState, Notification, NotificationKind } from '../../src/alerts/types.js';
import { closeAll } from '../helpers/cleanup.js';
import { startFakeMx } from '../helpers/fake-mx.js';
import { ManualClock } from '../helpers/manual-clock.js';
import { authPlan, localPlan, probe } from '../helpers/plans.js';

let dir: string;
beforeEach(() => {
  dir = mkdtempSync(path.join(tmpdir(), 'smtp-probe-state-'));
});
afterEach(async () => {
  await closeAll();
  rmSync(dir, { recursive: true, force: true });
});

function note(id: string, over: Partial<Notification> = {}): Notification {
  const kind = over.kind ?? 'firing';
  return {
    id, receiver: 'ops', kind, status: kind === 'resolved' ? 'resolved' : 'firing', alert: 'smtp_probe_down', alertKind: 'down',
    target: 'mx1', labels: { env: 'test' }, startsAt: '2026-01-01T00:00:00.000Z', endsAt: kind === 'resolved' ? '2026-01-01T00:10:00.000Z' : null,
    summary: `summary of ${id}`, failure: { phase: 'connect', reason: 'connect', code: null }, result: null, intervalMs: 60_000,
    createdAt: '2026-01-01T00:00:00.000Z', ...over,
  };
}

function alertState(rule: string, target: string, over: Partial<AlertState> = {}): AlertState {
  return {
    rule, target, status: 'firing', badStreak: 3, goodStreak: 0, badSince: '2026-01-01T00:00:00.000Z',
    firedAt: '2026-01-01T00:03:00.000Z', notified: true, lastNotifiedAt: '2026-01-01T00:03:00.000Z', ...over,
  };
}

function captureLogger(): { logger: AlertsLogger; lines: { level: string; obj: object; msg: string }[] } {
  const lines: { level: string; obj: object; msg: string }[] = [];
  const at = (level: string) => (obj: object, msg: string) => lines.push({ level, obj, msg });
  return { logger: { debug: at('debug'), info: at('info'), warn: at('warn'), error: at('error') }, lines };
}

const snapshot = (k: number): StateSnapshot => ({
  alerts: [alertState('smtp_probe_down', `mx${k}`)],
  pending: [note(`n${k}`, { alert: `rule${k}` })],
});

describe('StateStore: load and save', () => {
  it('a missing file loads as empty; save creates the directory and writes mode 0600', async () => {
    const file = path.join(dir, 'nested', 'deeper', 'state.json');
    const store = new StateStore(file, { clock: new ManualClock() });
    expect(store.load()).toEqual({ alerts: [], pending: [] });
    await store.save(snapshot(1));
    expect(statSync(file).mode & 0o777).toBe(0o600);
    const doc = JSON.parse(readFileSync(file, 'utf8')) as Record<string, unknown>;
    expect(doc).toMatchObject({ version: STATE_FILE_VERSION, savedAt: '2026-01-01T00:00:00.000Z' });
    expect(readdirSync(path.dirname(file))).toEqual(['state.json']);
  });

  it('round-trips alert states and pending notifications, and only those', async () => {
    const file = path.join(dir, 'state.json');
    const store = new StateStore(file, { clock: new ManualClock() });
    const s = { ...snapshot(1), extra: 'not persisted' } as StateSnapshot;
    await store.save(s);
    expect(new StateStore(file, { clock: new ManualClock() }).load()).toEqual(snapshot(1));
  });

  for (const [name, content] of [
    ['not JSON', '{"version":1,"alerts":[{"rule":'],
    ['an unknown version', JSON.stringify({ version: 99, alerts: [], pending: [] })],
    ['a wrong shape', JSON.stringify({ version: 1, alerts: {}, pending: [] })],
    ['a bad notification', JSON.stringify({ version: 1, alerts: [], pending: [{ id: 1 }] })],
    ['not an object', '[]'],
  ] as const) {
    it(`a file with ${name}: empty, a warning, the file moved aside as .corrupt-<time>, and the next save starts afresh`, async () => {
      const file = path.join(dir, 'state.json');
      writeFileSync(file, content);
      const { logger, lines } = captureLogger();
      // ManualClock's wall clock starts at 2026-01-01T00:00:00Z.
      const keptAs = `${file}.corrupt-20260101T000000.000Z`;
      const store = new StateStore(file, { clock: new ManualClock(), logger });
      expect(store.load()).toEqual({ alerts: [], pending: [] });
      expect(readFileSync(keptAs, 'utf8')).toBe(content);
      expect(existsSync(file)).toBe(false);
      expect(lines).toHaveLength(1);
      expect(lines[0]).toMatchObject({ level: 'warn', obj: { file, keptAs } });
      await store.save(snapshot(2));
      expect(store.load()).toEqual(snapshot(2));
    });
  }

  it('a second corrupt file later is moved aside under its own name: the first one stays', async () => {
    const file = path.join(dir, 'state.json');
    const clock = new ManualClock();
    writeFileSync(file, 'garbage one');
    new StateStore(file, { clock }).load();
    await clock.advance(1500);
    writeFileSync(file, 'garbage two');
    new StateStore(file, { clock }).load();
    expect(readdirSync(dir).sort()).toEqual(['state.json.corrupt-20260101T000000.000Z', 'state.json.corrupt-20260101T000001.500Z']);
    expect(readFileSync(path.join(dir, 'state.json.corrupt-20260101T000000.000Z'), 'utf8')).toBe('garbage one');
    expect(readFileSync(path.join(dir, 'state.json.corrupt-20260101T000001.500Z'), 'utf8')).toBe('garbage two');
  });

  it('a state_file that is a directory: empty, a warning, the directory left where it is', () => {
    const file = path.join(dir, 'state.json');
    mkdirSync(file);
    const { logger, lines } = captureLogger();
    expect(new StateStore(file, { clock: new ManualClock(), logger }).load()).toEqual({ alerts: [], pending: [] });
    expect(statSync(file).isDirectory()).toBe(true);
    expect(lines).toEqual([expect.objectContaining({ level: 'warn', obj: expect.objectContaining({ file, keptAs: null }) })]);
    expect(JSON.stringify(lines[0]!.obj)).toContain('EISDIR');
  });
});

describe('StateStore: atomic writes', () => {
  it('a crash mid-save (a leftover temporary file) does not corrupt: load sees the old file and removes the leftover', async () => {
    const file = path.join(dir, 'state.json');
    const store = new StateStore(file, { clock: new ManualClock() });
    await store.save(snapshot(1));
    writeFileSync(`${file}.tmp-424242`, '{"version":1,"alerts":[{"rule":"half-writ');
    const { logger, lines } = captureLogger();
    expect(new StateStore(file, { clock: new ManualClock(), logger }).load()).toEqual(snapshot(1));
    expect(readdirSync(dir)).toEqual(['state.json']);
    expect(lines.map((l) => l.level)).toEqual(['info']);
  });

  it('a save that fails before the rename leaves the old file whole, and rejects', async () => {
    const file = path.join(dir, 'state.json');
    const store = new StateStore(file, { clock: new ManualClock() });
    await store.save(snapshot(1));
    const before = readFileSync(file, 'utf8');
    mkdirSync(`${file}.tmp-${process.pid}`); // the temporary file cannot be created
    await expect(store.save(snapshot(2))).rejects.toThrow();
    expect(readFileSync(file, 'utf8')).toBe(before);
    rmSync(`${file}.tmp-${process.pid}`, { recursive: true });
    await store.save(snapshot(3)); // a failed save does not block the next one
    expect(store.load()).toEqual(snapshot(3));
  });

  it('overlapping saves are serialised: the file is always one whole snapshot, the last one at the end', async () => {
    const file = path.join(dir, 'state.json');
    const store = new StateStore(file, { clock: new ManualClock() });
    const saves = Array.from({ length: 20 }, (_, k) => store.save(snapshot(k)));
    await Promise.all(saves);
    expect(store.load()).toEqual(snapshot(19));
    expect(readdirSync(dir)).toEqual(['state.json']);
  });
});

describe('StateStore: scheduled saves', () => {
  it('scheduleSave writes at most once per second, with the snapshot as it is when the write starts', async () => {
    const file = path.join(dir, 'state.json');
    const clock = new ManualClock();
    const store = new StateStore(file, { clock });
    let current = 0;
    let taken = 0;
    const get = (): StateSnapshot => {
      taken++;
      return snapshot(current);
    };
    for (current = 1; current <= 10; current++) store.scheduleSave(get);
    current = 10;
    await clock.advance(0);
    await store.idle();
    expect(taken).toBe(1);
    expect(store.load()).toEqual(snapshot(10));

    await clock.advance(200);
    current = 11;
    store.scheduleSave(get);
    store.scheduleSave(get);
    await clock.advance(799);
    expect(taken).toBe(1);
    await clock.advance(1);
    await store.idle();
    expect(taken).toBe(2);
    expect(store.load()).toEqual(snapshot(11));
  });

  it('saveNow writes at once and cancels the scheduled save; close() stops scheduling', async () => {
    const file = path.join(dir, 'state.json');
    const clock = new ManualClock();
    const store = new StateStore(file, { clock });
    let taken = 0;
    store.scheduleSave(() => (taken++, snapshot(taken)));
    await store.saveNow();
    expect(taken).toBe(1);
    expect(clock.pending).toBe(0);
    expect(store.load()).toEqual(snapshot(1));
    store.close();
    store.scheduleSave(() => snapshot(5));
    await clock.advance(10_000);
    expect(store.load()).toEqual(snapshot(1));
    await store.saveNow(snapshot(7));
    expect(store.load()).toEqual(snapshot(7));
  });

  it('a failed scheduled save is logged and retried', async () => {
    const file = path.join(dir, 'state.json');
    const clock = new ManualClock();
    const { logger, lines } = captureLogger();
    const store = new StateStore(file, { clock, logger, retryMs: 5000 });
    mkdirSync(`${file}.tmp-${process.pid}`);
    store.scheduleSave(() => snapshot(1));
    await clock.advance(0);
    await store.idle();
    await clock.flush();
    expect(lines.map((l) => l.level)).toEqual(['error']);
    rmSync(`${file}.tmp-${process.pid}`, { recursive: true });
    await clock.advance(5000);
    await store.idle();
    expect(store.load()).toEqual(snapshot(1));
  });
});

describe('StateStore + DeliveryQueue: a restart', () => {
  const module: ReceiverModule<{ url: string }> = {
    type: 'fake',
    options: z.object({ url: z.string() }),
    accepts: (k: NotificationKind) => k !== 'refresh',
    maxBatch: 1,
    build: (batch, o) => batch.map((n) => ({ url: o.url, method: 'POST', headers: {}, body: n.id, ids: [n.id], describe: `POST ${o.url}` })),
  };
  const receivers = [{ name: 'ops', module, options: { url: 'https://hooks.example.test/ops' }, timeoutMs: 5000 }];

  it('sends exactly what was undelivered, none twice, and keeps the alert states', async () => {
    const file = path.join(dir, 'state', 'state.json');
    const delivered: string[] = [];
    let up = true;
    const send: SendFn = async (req): Promise<SendOutcome> => {
      if (!up) return { ok: false, status: 503, retryable: true, retryAfterMs: null, error: 'HTTP 503' };
      delivered.push(...req.ids);
      return { ok: true, status: 200 };
    };

    // First process: A fires and is delivered; the receiver goes down; B fires, A resolves; then a crash.
    const clock1 = new ManualClock();
    const store1 = new StateStore(file, { clock: clock1 });
    expect(store1.load()).toEqual({ alerts: [], pending: [] });
    const alerts1: AlertState[] = [];
    const q1: DeliveryQueue = new DeliveryQueue({
      clock: clock1, receivers, send, dispatcher: {} as Dispatcher, externalUrl: 'http://x/',
      onChange: () => store1.scheduleSave(() => ({ alerts: alerts1, pending: q1.pending() })),
    });
    alerts1.push(alertState('smtp_probe_down', 'A'));
    q1.enqueue(note('A-fire', { target: 'A' }));
    await clock1.advance(0);
    expect(delivered).toEqual(['A-fire']);
    up = false;
    alerts1.push(alertState('smtp_probe_down', 'B'));
    q1.enqueue(note('B-fire', { target: 'B' }));
    alerts1[0] = alertState('smtp_probe_down', 'A', { status: 'ok', firedAt: null, notified: false, badStreak: 0, goodStreak: 2 });
    q1.enqueue(note('A-resolve', { target: 'A', kind: 'resolved' }));
    await clock1.advance(1500); // a scheduled save happens; retries keep failing
    await store1.idle();
    await q1.stop(); // the process dies: no flush, no final save

    // Second process.
    const clock2 = new ManualClock();
    const store2 = new StateStore(file, { clock: clock2 });
    const loaded = store2.load();
    expect(loaded.alerts).toEqual(alerts1);
    expect(loaded.pending.map((n) => n.id)).toEqual(['B-fire', 'A-resolve']);
    up = true;
    const q2: DeliveryQueue = new DeliveryQueue({
      clock: clock2, receivers, send, dispatcher: {} as Dispatcher, externalUrl: 'http://x/',
      onChange: () => store2.scheduleSave(() => ({ alerts: loaded.alerts, pending: q2.pending() })),
    });
    expect(q2.restore(loaded.pending)).toBe(2);
    await clock2.advance(2000);
    await store2.idle();
    expect(delivered).toEqual(['A-fire', 'B-fire', 'A-resolve']);

    // Third start: nothing left to send.
    expect(new StateStore(file, { clock: new ManualClock() }).load()).toEqual({ alerts: alerts1, pending: [] });
  });
});

describe('StateStore.saveSoon + DeliveryQueue persist: a crash right after a delivery', () => {
  const module: ReceiverModule<{ url: string }> = {
    type: 'fake',
    options: z.object({ url: z.string() }),
    accepts: () => true,
    maxBatch: 1,
    build: (batch, o) => batch.map((n) => ({ url: o.url, method: 'POST', headers: {}, body: n.id, ids: [n.id], describe: `POST ${o.url}` })),
  };
  const receivers = [{ name: 'ops', module, options: { url: 'https://hooks.example.test/ops' }, timeoutMs: 5000 }];

  it('saveSoon: callers while a save is under way share one write, taken when it starts, whatever minIntervalMs says', async () => {
    const file = path.join(dir, 'state.json');
    const store = new StateStore(file, { clock: new ManualClock(), minIntervalMs: 60_000 });
    let current = 1;
    let taken = 0;
    const get = (): StateSnapshot => (taken++, snapshot(current));
    const first = store.save(snapshot(0));
    const soon = [1, 2, 3].map((k) => ((current = k), store.saveSoon(get)));
    await Promise.all([first, ...soon]);
    expect(taken).toBe(1);
    expect(store.load()).toEqual(snapshot(3));
    current = 4;
    await store.saveSoon(get);
    expect(taken).toBe(2);
    expect(store.load()).toEqual(snapshot(4));
  });

  it('what counts as sent is already out of the file: the next process sends nothing again', async () => {
    const file = path.join(dir, 'state', 'state.json');
    const delivered: string[] = [];
    const send: SendFn = async (req) => (delivered.push(...req.ids), { ok: true, status: 200 });
    const clock = new ManualClock();
    const store = new StateStore(file, { clock });
    const snap = (): StateSnapshot => ({ alerts: [alertState('smtp_probe_down', 'A')], pending: q.pending() });
    const registry = new Registry();
    const q: DeliveryQueue = new DeliveryQueue({
      clock, receivers, send, dispatcher: {} as Dispatcher, externalUrl: 'http://x/', registry,
      onChange: () => store.scheduleSave(snap),
      persist: () => store.saveSoon(snap),
    });
    q.enqueue(note('A-fire', { target: 'A' }));
    const sent = async (): Promise<number> => {
      const values = (await registry.getSingleMetric('smtp_probe_notifications_total')!.get()).values;
      return values.find((v) => v.labels.result === 'sent')?.value ?? 0;
    };
    await clock.advance(0);
    await store.idle();
    expect(delivered).toEqual(['A-fire']);
    expect(await sent()).toBe(1);
    // kill -9 now: no flush, no final save, the scheduled save never runs
    expect(new StateStore(file, { clock: new ManualClock() }).load()).toEqual({ alerts: [alertState('smtp_probe_down', 'A')], pending: [] });
  });
});

describe('StateStore: no secrets in the file', () => {
  it('a notification carrying a real failed-AUTH result (transcript on) keeps no password in the file', async () => {
    const password = 'Tr0ub4dor&3-not-for-files';
    const username = 'probe@example.test';
    const mx = await startFakeMx({ users: { [username]: 'the right one' }, hideSTARTTLS: true, allowInsecureAuth: true });
    const results = [];
    for (const mechanism of ['PLAIN', 'LOGIN'] as const) {
      const r = await probe(localPlan(mx.port, { transcript: true, auth: authPlan(username, password, { mechanism, allowPlaintext: true }) }));
      expect(r.failure).toMatchObject({ phase: 'auth', code: 535 });
      expect(r.transcript?.length).toBeGreaterThan(0);
      results.push(r);
    }
    const file = path.join(dir, 'state.json');
    const store = new StateStore(file, { clock: new ManualClock() });
    await store.save({
      alerts: [alertState('smtp_probe_down', 'mx1')],
      pending: results.map((r, i) => note(`n${i}`, { result: r, summary: r.failure!.message })),
    });
    const text = readFileSync(file, 'utf8');
    expect(text).toContain('"transcript"'); // the result really is in the file
    const forms = [
      password,
      Buffer.from(password).toString('base64'),
      Buffer.from(`\u0000${username}\u0000${password}`).toString('base64'),
      Buffer.from(`${username}\u0000${username}\u0000${password}`).toString('base64'),
    ];
    for (const f of forms) expect(text).not.toContain(f);
    // Every field of every notification and state, recursively: nothing holds the password.
    const strings: string[] = [];
    const walk = (v: unknown): void => {
      if (typeof v === 'string') strings.push(v);
      else if (Array.isArray(v)) v.forEach(walk);
      else if (v && typeof v === 'object') Object.values(v).forEach(walk);
    };
    walk(store.load());
    expect(strings.length).toBeGreaterThan(50);
    expect(strings.filter((s) => forms.some((f) => s.includes(f)))).toEqual([]);
  });
});
