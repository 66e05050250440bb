import { describe, expect, it } from 'vitest';
import { decodeHistory, encodeHeader, encodeTarget, HISTORY_VERSION } from '../../src/history/codec.js';
import { HistoryStore, type WatchedTarget } from '../../src/history/store.js';
import type { AlertEvent } from '../../src/history/view.js';
import { T0, rcptRefused, record, tlsUntil } from './records.js';

const watched = (name: string): WatchedTarget => ({ name, url: 'smtp://127.0.0.1:2525', module: 'default', labels: {} });
const events: AlertEvent[] = [
  { at: new Date(T0).toISOString(), event: 'fired', rule: 'smtp_probe_down', target: 'a', receiver: null, detail: 'a is down' },
  { at: new Date(T0 + 1).toISOString(), event: 'delivery_failed', rule: 'smtp_probe_down', target: 'a', receiver: 'ops', detail: 'HTTP 503' },
];

function filled(): HistoryStore {
  const store = new HistoryStore({ capacity: 20, now: () => T0 + 40 * 60_000 });
  const transcript = [{ t: 0.5, dir: 'S' as const, line: '220 mx ESMTP' }, { t: 3, dir: 'C' as const, line: 'AUTH PLAIN ***' }];
  for (let i = 0; i < 30; i += 1) {
    const failing = i % 7 === 3;
    store.record('a', [record('a', T0 + i * 60_000, { durationMs: 10 + i / 8, tls: tlsUntil(T0 + 20 * 86_400_000), ...(failing ? { failure: rcptRefused, transcript } : {}) })]);
  }
  store.record('b', [record('b', T0)]);
  store.record('c', [record('c', T0, { failure: rcptRefused, transcript })]);
  return store;
}

function encode(store: HistoryStore): string {
  return [encodeHeader(T0 + 41 * 60_000, events), ...[...store.entries()].map(([n, h]) => encodeTarget(n, h))].join('');
}

describe('the history file', () => {
  it('what is read back shows as what was written: runs, uptime, latency, records, certificate, events', () => {
    const store = filled();
    const back = decodeHistory(encode(store), 20);
    if (typeof back === 'string') throw new Error(back);
    expect(back.events).toEqual(events);
    expect(back.savedAt).toBe(new Date(T0 + 41 * 60_000).toISOString());
    const restored = new HistoryStore({ capacity: 20, now: () => T0 + 40 * 60_000 });
    for (const [name, h] of back.targets) restored.put(name, h);
    for (const name of ['a', 'b', 'c']) expect(restored.detail(watched(name), [])).toEqual(store.detail(watched(name), []));
    expect(restored.detail(watched('a'), []).lastFailure?.transcript?.[1]?.line).toBe('AUTH PLAIN ***');
  });

  it('a last failure that is the last run\'s record is written once, and read back as that record', () => {
    const text = encode(filled());
    const c = text.split('\n').find((l) => l.includes('"name":"c"'))!;
    expect(JSON.parse(c)).toMatchObject({ lastFailure: 0 });
    expect(c.split('AUTH PLAIN ***')).toHaveLength(2);
    const back = decodeHistory(text, 20);
    if (typeof back === 'string') throw new Error(back);
    const h = back.targets.get('c')!;
    expect(h.lastFailure).toBe(h.lastResults[0]);
    expect(h.lastFailure?.failure).toEqual(rcptRefused);
  });

  it('the last good run: a position when it is the last run, the record when the last run failed; absent in older files: null', () => {
    const store = filled();
    store.record('d', [record('d', T0)]);
    store.record('d', [record('d', T0 + 60_000, { failure: rcptRefused })]);
    const text = encode(store);
    const line = (n: string): Record<string, unknown> => JSON.parse(text.split('\n').find((l) => l.includes(`"name":"${n}"`))!);
    expect(line('a')).toMatchObject({ lastSuccess: 0 });
    expect(line('c')).toMatchObject({ lastSuccess: null });
    expect(line('d')).toMatchObject({ lastFailure: 0, lastSuccess: { ok: true, startedAt: new Date(T0).toISOString() } });
    const back = decodeHistory(text, 20);
    if (typeof back === 'string') throw new Error(back);
    expect(back.targets.get('d')!.lastSuccess).toMatchObject({ ok: true, startedAt: new Date(T0).toISOString() });
    expect(back.targets.get('a')!.lastSuccess).toBe(back.targets.get('a')!.lastResults[0]);
    const older = text.replace(/,"lastSuccess":(null|\d+|\{[^\n]*?\}(?=,"certValidTo"))/g, '');
    expect(older).not.toContain('lastSuccess');
    const old = decodeHistory(older, 20);
    if (typeof old === 'string') throw new Error(old);
    expect(old.targets.get('d')!.lastSuccess).toBeNull();
  });

  it('read with a smaller history size: the newest runs', () => {
    const back = decodeHistory(encode(filled()), 5);
    if (typeof back === 'string') throw new Error(back);
    const runs = back.targets.get('a')!.ring.runs();
    expect(runs.map((r) => r.startedAtMs)).toEqual([25, 26, 27, 28, 29].map((i) => T0 + i * 60_000));
    expect(runs.map((r) => r.failure)).toEqual([null, null, null, null, null]);
    expect(back.targets.get('a')!.ring.runs().length).toBe(5);
  });

  const good = encode(filled());
  const lines = good.split('\n');
  const header = JSON.parse(lines[0]!) as Record<string, unknown>;
  const line1 = JSON.parse(lines[1]!) as Record<string, unknown>;
  const withLine = (doc: unknown): string => [lines[0], JSON.stringify(doc), ''].join('\n');
  for (const [what, text, problem] of [
    ['garbage bytes', '\u0000\u00ff\u00fe garbage', /line 1: not JSON/],
    ['truncated JSON', good.slice(0, Math.floor(good.length * 0.6)), /line 2: not JSON/],
    ['another version', [JSON.stringify({ ...header, version: 99 }), ''].join('\n'), /unknown version 99 \(this build reads 1\)/],
    ['another file', '{"version":1,"alerts":[],"pending":[]}\n', /not a smtp-probe history file/],
    ['an event of the wrong shape', [JSON.stringify({ ...header, events: [{ at: 'x' }] }), ''].join('\n'), /"events"/],
    ['durations that do not match the runs', withLine({ ...line1, runs: { ...(line1.runs as object), us: [1] } }), /line 2: "runs.us"/],
    ['a failure on a passing run', withLine({ ...line1, runs: { ...(line1.runs as object), fail: [[1, 'x']] } }), /line 2: "runs.fail"/],
    ['a record without phases', withLine({ ...line1, lastResults: [{ ...record('a', T0), phases: 'none' }] }), /line 2: "lastResults"/],
    ['a transcript line of the wrong shape', withLine({ ...line1, lastFailure: { ...record('a', T0), transcript: [{ t: 1, dir: 'X', line: '' }] } }), /"lastFailure"/],
    ['an unknown phase', withLine({ ...line1, lastResults: [record('a', T0, { failure: { ...rcptRefused, phase: 'nope' as 'rcpt' } })] }), /"lastResults"/],
    ['a target without a name', withLine({ ...line1, name: 7 }), /line 2: "name"/],
    ['a last failure pointing past the last records', withLine({ ...line1, lastFailure: 3 }), /line 2: "lastFailure"/],
  ] as const) {
    it(`${what}: unusable, and says why`, () => {
      const back = decodeHistory(text, 20);
      expect(typeof back).toBe('string');
      expect(back).toMatch(problem);
    });
  }

  it('the format is versioned', () => {
    expect(header).toMatchObject({ format: 'smtp-probe history', version: HISTORY_VERSION });
  });
});
