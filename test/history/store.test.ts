import { describe, expect, it } from 'vitest';
import type { CheckResult } from '../../src/core/result.js';
import { EventRing, MAX_ALERT_EVENTS } from '../../src/history/events.js';
import { HistoryStore, type WatchedTarget } from '../../src/history/store.js';
import { MAX_FAILURE_TEXT, summarize } from '../../src/history/summary.js';
import type { AlertEvent } from '../../src/history/view.js';
import { T0, rcptRefused, record, tlsUntil } from './records.js';

const DAY = 86_400_000;
const target = (name: string, url = 'smtp://127.0.0.1:2525'): WatchedTarget => ({ name, url, module: 'default', labels: { env: 'test' } });
const mxHost = (host: string, atMs: number, over: Partial<CheckResult> = {}): CheckResult =>
  record('mx', atMs, { url: 'mx://example.test', mx: { host, preference: 10, address: '127.0.0.1' }, ...over });

describe('summarize: one run as the history keeps it', () => {
  it('one record: its start, verdict, duration and failure as the text reporter says it', () => {
    expect(summarize([record('a', T0, { durationMs: 41.2, failure: rcptRefused })])).toEqual({
      startedAtMs: T0, ok: false, durationMs: 41.2, failure: 'rcpt (reply): 550 5.1.1 <gone@example.test>: Recipient address rejected',
    });
    expect(summarize([record('a', T0)])).toMatchObject({ ok: true, failure: null });
  });

  it('mx://: failing when any host failed (as smtp_probe_mx_up_ratio < 1), first start to last end, the host named', () => {
    const run = summarize([
      mxHost('mx1.example.test', T0, { durationMs: 20 }),
      mxHost('mx2.example.test', T0 + 5, { durationMs: 30, failure: rcptRefused }),
      mxHost('mx3.example.test', T0 + 10, { durationMs: 5, failure: { ...rcptRefused, phase: 'connect', reason: 'connect', code: null, enhancedCode: null, message: 'connection refused' } }),
    ]);
    expect(run).toEqual({
      startedAtMs: T0, ok: false, durationMs: 35,
      failure: 'mx2.example.test: rcpt (reply): 550 5.1.1 <gone@example.test>: Recipient address rejected (and 1 more MX host)',
    });
    expect(summarize([mxHost('mx1.example.test', T0), mxHost('mx2.example.test', T0)]).ok).toBe(true);
  });

  it('a very long failure text is cut', () => {
    const long = { ...rcptRefused, message: `550 ${'x'.repeat(2000)}` };
    const f = summarize([record('a', T0, { failure: long })]).failure!;
    expect([...f]).toHaveLength(MAX_FAILURE_TEXT);
    expect(f.endsWith('…')).toBe(true);
  });
});

describe('HistoryStore', () => {
  it('pending before the first run; then ok / failing from the last run, history oldest first, at most N', () => {
    const store = new HistoryStore({ capacity: 10, now: () => T0 + 30 * 60_000 });
    const t = target('a');
    expect(store.view(t, [])).toMatchObject({ status: 'pending', lastRun: null, uptime: { '1h': null, '24h': null }, latencyMs: { p50: null, p95: null }, certDaysLeft: null });
    expect(store.detail(t, [])).toMatchObject({ history: [], lastResult: null, lastFailure: null, lastResults: [] });
    for (let i = 0; i < 12; i += 1) store.record('a', [record('a', T0 + i * 60_000, { durationMs: 10 + i, ...(i === 11 ? { failure: rcptRefused } : {}) })]);
    const d = store.detail(t, ['smtp_probe_down']);
    expect(d.status).toBe('failing');
    expect(d.history).toHaveLength(10);
    expect(d.history[0]!.startedAt).toBe(new Date(T0 + 2 * 60_000).toISOString());
    expect(d.history.at(-1)).toMatchObject({ ok: false, failure: 'rcpt (reply): 550 5.1.1 <gone@example.test>: Recipient address rejected' });
    expect(d.lastRun).toBe(new Date(T0 + 11 * 60_000).toISOString());
    expect(d.firingAlerts).toEqual(['smtp_probe_down']);
    // p50/p95 over the kept passing runs (durations 12..20 ms), uptime over every run (11 of 12 passed).
    expect(d.latencyMs).toEqual({ p50: 16, p95: 20 });
    expect(d.uptime['1h']).toBeCloseTo(11 / 12, 10);
    store.record('a', [record('a', T0 + 12 * 60_000)]);
    expect(store.view(t, []).status).toBe('ok');
  });

  it('the last failure and the last result both keep their transcripts', () => {
    const store = new HistoryStore({ capacity: 10, now: () => T0 });
    const transcript = [{ t: 0, dir: 'S' as const, line: '220 hi' }, { t: 1, dir: 'C' as const, line: 'RCPT TO:<gone@example.test>' }];
    const failed = record('a', T0, { failure: rcptRefused, transcript });
    store.record('a', [failed]);
    expect(store.detail(target('a'), []).lastResult).toBe(failed);
    store.record('a', [record('a', T0 + 60_000, { transcript })]);
    const d = store.detail(target('a'), []);
    expect(d.lastResult?.ok).toBe(true);
    expect(d.lastResult?.transcript).toEqual(transcript);
    expect(d.lastFailure?.transcript).toEqual(transcript);
    expect(d.lastFailure?.startedAt).toBe(new Date(T0).toISOString());
  });

  it('mx://: status failing when one host fails; lastResult the failing host, lastResults every host; certificate days the smallest', () => {
    const now = T0 + 60_000;
    const store = new HistoryStore({ capacity: 10, now: () => now });
    const t = target('mx', 'mx://example.test');
    const hosts = [
      mxHost('mx1.example.test', T0, { tls: tlsUntil(T0 + 30 * DAY + 1000) }),
      mxHost('mx2.example.test', T0, { tls: tlsUntil(T0 + 9 * DAY + 1000), failure: rcptRefused }),
    ];
    store.record('mx', hosts);
    const d = store.detail(t, ['smtp_probe_down (mx2.example.test)']);
    expect(d.status).toBe('failing');
    expect(d.lastResult?.mx?.host).toBe('mx2.example.test');
    expect(d.lastFailure?.mx?.host).toBe('mx2.example.test');
    expect(d.lastResults.map((r) => r.mx?.host)).toEqual(['mx1.example.test', 'mx2.example.test']);
    expect(d.certDaysLeft).toBe(8); // 9 days less the minute since: floor, as a run counts them
    // A run that did not reach TLS leaves the certificate's days as the last run that did saw them.
    store.record('mx', [record('mx', T0 + 60_000, { url: 'mx://example.test', failure: { ...rcptRefused, phase: 'dns', reason: 'dns', code: null, enhancedCode: null, message: 'no MX' } })]);
    expect(store.view(t, []).certDaysLeft).toBe(8);
    expect(store.detail(t, []).lastResults).toHaveLength(1);
    // Every host passing: ok.
    store.record('mx', [mxHost('mx1.example.test', T0 + 120_000), mxHost('mx2.example.test', T0 + 120_000)]);
    expect(store.view(t, []).status).toBe('ok');
    expect(store.detail(target('plain'), []).lastResults).toEqual([]);
  });

  it('uptime counts runs the ring no longer holds: 100 runs kept, a day of runs counted', () => {
    let now = T0;
    const store = new HistoryStore({ capacity: 100, now: () => now });
    // 24 h of runs a minute apart; the first 4 hours failing.
    for (let m = 0; m < 24 * 60; m += 1) store.record('a', [record('a', T0 + m * 60_000, m < 240 ? { failure: rcptRefused } : {})]);
    now = T0 + 24 * 60 * 60_000 - 1;
    const v = store.view(target('a'), []);
    expect(store.detail(target('a'), []).history).toHaveLength(100);
    expect(v.uptime['1h']).toBe(1);
    expect(v.uptime['24h']).toBeCloseTo(20 / 24, 10);
  });

  it('retain drops the histories of removed targets; setCapacity keeps the newest runs; every change is counted', () => {
    const store = new HistoryStore({ capacity: 10, now: () => T0 });
    for (let i = 0; i < 10; i += 1) for (const n of ['a', 'b']) store.record(n, [record(n, T0 + i * 1000)]);
    const before = store.changeCount;
    store.retain(['a']);
    expect(store.get('b')).toBeUndefined();
    expect(store.changeCount).toBe(before + 1);
    store.setCapacity(4);
    expect(store.detail(target('a'), []).history.map((h) => Date.parse(h.startedAt) - T0)).toEqual([6000, 7000, 8000, 9000]);
    expect(store.changeCount).toBe(before + 2);
    store.setCapacity(4);
    expect(store.changeCount).toBe(before + 2);
  });
});

describe('EventRing', () => {
  const ev = (i: number, over: Partial<AlertEvent> = {}): AlertEvent => ({
    at: new Date(T0 + i).toISOString(), event: 'fired', rule: 'down', target: `t${i}`, receiver: null, detail: null, ...over,
  });

  it('keeps the last 50, oldest first', () => {
    const ring = new EventRing();
    for (let i = 0; i < 60; i += 1) ring.add(ev(i));
    expect(ring.size).toBe(MAX_ALERT_EVENTS);
    expect(ring.all()[0]!.target).toBe('t10');
    expect(ring.all().at(-1)!.target).toBe('t59');
  });

  it('a delivery that keeps failing is one event, its newest attempt; another receiver or event is its own', () => {
    const ring = new EventRing();
    const failed = (i: number, receiver = 'ops') => ev(i, { event: 'delivery_failed', target: 'mx1', receiver, detail: `HTTP 503 (attempt ${i})` });
    ring.add(ev(0, { target: 'mx1' }));
    for (let i = 1; i <= 5; i += 1) ring.add(failed(i));
    ring.add(failed(6, 'pager'));
    ring.add(ev(7, { event: 'delivered', target: 'mx1', receiver: 'ops' }));
    ring.add(failed(8));
    expect(ring.all().map((e) => [e.event, e.receiver, e.detail])).toEqual([
      ['fired', null, null],
      ['delivery_failed', 'ops', 'HTTP 503 (attempt 5)'],
      ['delivery_failed', 'pager', 'HTTP 503 (attempt 6)'],
      ['delivered', 'ops', null],
      ['delivery_failed', 'ops', 'HTTP 503 (attempt 8)'],
    ]);
  });
});
