import { createHmac } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { webhookReceiver } from '../../../src/alerts/providers/webhook.js';
import { CTX, firing, NOW, refresh, reminder, RESULT, resolved } from './fixtures.js';

const URL_ = 'https://hooks.example.test/smtp';

describe('webhook receiver', () => {
  it('posts the documented payload (docs/webhook-payload.schema.json), result without its transcript', () => {
    const [req, ...more] = webhookReceiver.build([firing()], { url: URL_ }, CTX);
    expect(more).toEqual([]);
    expect(req!.url).toBe(URL_);
    expect(req!.method).toBe('POST');
    expect(req!.ids).toEqual(['n-firing-1']);
    const { transcript: _t, ...resultWithoutTranscript } = RESULT;
    const body = JSON.parse(req!.body) as Record<string, unknown>;
    expect(Object.keys(body)).toEqual(['version', 'status', 'alert', 'target', 'labels', 'startsAt', 'endsAt', 'summary', 'failure', 'result']);
    expect(body).toEqual({
      version: 1,
      status: 'firing',
      alert: 'smtp_probe_down',
      target: 'mx1-submission',
      labels: { env: 'prod' },
      startsAt: '2026-11-26T02:00:00.000Z',
      endsAt: null,
      summary: 'mx1-submission is down: auth failed with 535',
      failure: { phase: 'auth', reason: 'reply', code: 535 },
      result: resultWithoutTranscript,
    });
    expect(req!.body).not.toContain('transcript');
    expect(req!.headers).toEqual({
      'Content-Type': 'application/json',
      'User-Agent': 'smtp-probe',
      'X-Smtp-Probe-Notification': 'n-firing-1',
    });
  });

  it('resolved: status resolved, endsAt set, failure null; no result for an isolated alert', () => {
    const [r] = webhookReceiver.build([resolved()], { url: URL_ }, CTX);
    expect(JSON.parse(r!.body)).toMatchObject({ status: 'resolved', endsAt: '2026-11-26T02:20:00.000Z', failure: null });
    const [iso] = webhookReceiver.build([firing({ alertKind: 'isolated', result: null, failure: null })], { url: URL_ }, CTX);
    expect(JSON.parse(iso!.body)).toMatchObject({ failure: null, result: null });
  });

  it('signs "timestamp.body" with HMAC-SHA256 when a secret is set', () => {
    const secret = 'hook-s3cret-value';
    const [req] = webhookReceiver.build([firing()], { url: URL_, secret }, CTX);
    const ts = req!.headers['X-Smtp-Probe-Timestamp'];
    expect(ts).toBe(String(Math.floor(NOW / 1000)));
    const expected = createHmac('sha256', secret).update(`${ts}.${req!.body}`, 'utf8').digest('hex');
    expect(req!.headers['X-Smtp-Probe-Signature']).toBe(`sha256=${expected}`);
    expect(req!.describe).not.toContain(secret);
    expect(req!.redact).toContain(secret);
  });

  it('adds configured headers; they replace ours case-insensitively but never the signature', () => {
    const [req] = webhookReceiver.build(
      [firing()],
      { url: URL_, secret: 'k3y-k3y', headers: { Authorization: 'Bearer tok3n-xyz', 'user-agent': 'custom', 'X-Smtp-Probe-Signature': 'forged' } },
      CTX,
    );
    expect(req!.headers.Authorization).toBe('Bearer tok3n-xyz');
    expect(req!.headers['user-agent']).toBe('custom');
    expect(req!.headers['User-Agent']).toBeUndefined();
    expect(req!.headers['X-Smtp-Probe-Signature']).toMatch(/^sha256=[0-9a-f]{64}$/);
    expect(req!.redact).toContain('Bearer tok3n-xyz');
  });

  it('one request per notification; refresh is not sent', () => {
    expect(webhookReceiver.maxBatch).toBe(1);
    const reqs = webhookReceiver.build([firing(), reminder(), refresh(), resolved()], { url: URL_ }, CTX);
    expect(reqs.map((r) => r.ids)).toEqual([['n-firing-1'], ['n-reminder-1'], ['n-resolved-1']]);
    expect(JSON.parse(reqs[1]!.body).status).toBe('firing');
    expect(['firing', 'reminder', 'resolved', 'refresh'].map((k) => webhookReceiver.accepts(k as never))).toEqual([true, true, true, false]);
  });

  it('moves URL credentials into Authorization and keeps the query out of describe', () => {
    const [req] = webhookReceiver.build([firing()], { url: 'https://user:p%40ss@hooks.example.test/smtp?token=abcdef' }, CTX);
    expect(req!.url).toBe('https://hooks.example.test/smtp?token=abcdef');
    expect(req!.headers.Authorization).toBe(`Basic ${Buffer.from('user:p@ss').toString('base64')}`);
    expect(req!.describe).toBe('webhook https://hooks.example.test/…');
  });

  it('describe never shows the configured path: it may hold a token', () => {
    const [req] = webhookReceiver.build([firing()], { url: 'https://hooks.example.test/hooks/T01/B02/tok3nINpath' }, CTX);
    expect(req!.describe).toBe('webhook https://hooks.example.test/…');
    expect(webhookReceiver.build([firing()], { url: 'https://hooks.example.test' }, CTX)[0]!.describe).toBe('webhook https://hooks.example.test/');
  });
});
