import { createHmac } from 'node:crypto';
import net from 'node:net';
import { Agent, MockAgent } from 'undici';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { MAX_RETRY_AFTER_MS, parseRetryAfter, sendRequest } from '../../../src/alerts/http.js';
import { alertmanagerReceiver } from '../../../src/alerts/providers/alertmanager.js';
import { pagerdutyReceiver } from '../../../src/alerts/providers/pagerduty.js';
import type { PreparedRequest, SendOptions, SendOutcome } from '../../../src/alerts/providers/provider.js';
import { slackReceiver } from '../../../src/alerts/providers/slack.js';
import { webhookReceiver } from '../../../src/alerts/providers/webhook.js';
import { closeAll } from '../../helpers/cleanup.js';
import { closeSocket, delay, respond, stall, startWebhookSink, type WebhookSink } from '../../helpers/webhook-sink.js';
import { CTX, firing } from './fixtures.js';

let sink: WebhookSink;
let agent: Agent;

beforeEach(async () => {
  sink = await startWebhookSink();
  agent = new Agent();
});
afterEach(async () => {
  await closeAll();
  await agent.destroy();
});

const opts = (o: Partial<SendOptions> = {}): SendOptions => ({ dispatcher: agent, timeoutMs: 2000, now: Date.now(), ...o });
const webhookTo = (url: string, secret?: string): PreparedRequest => webhookReceiver.build([firing()], { url, secret }, CTX)[0]!;

async function timed(p: Promise<SendOutcome>): Promise<[SendOutcome, number]> {
  const t0 = performance.now();
  const out = await p;
  return [out, performance.now() - t0];
}

describe('sendRequest against a webhook sink', () => {
  it('2xx is ok; the sink sees method, path, headers and the exact signed body', async () => {
    sink.script(respond(204));
    const req = webhookTo(sink.url('/hook?x=1'), 'sign-me');
    expect(await sendRequest(req, opts())).toEqual({ ok: true, status: 204 });
    const [got] = sink.requests;
    expect(got).toMatchObject({ method: 'POST', path: '/hook?x=1', body: req.body });
    expect(got!.headers['content-type']).toBe('application/json');
    expect(got!.headers['user-agent']).toBe('smtp-probe');
    const ts = got!.headers['x-smtp-probe-timestamp'] as string;
    const mac = createHmac('sha256', 'sign-me').update(`${ts}.${got!.body}`).digest('hex');
    expect(got!.headers['x-smtp-probe-signature']).toBe(`sha256=${mac}`);
  });

  it('500 is retryable and quotes the start of the body', async () => {
    sink.script(respond(500, { body: 'boom\nwent   the server' }));
    expect(await sendRequest(webhookTo(sink.url('/h')), opts())).toEqual({
      ok: false, status: 500, retryable: true, retryAfterMs: null,
      error: `webhook http://127.0.0.1:${sink.port}/…: HTTP 500: boom went the server`,
    });
  });

  it('404 is not retryable; a redirect is not followed', async () => {
    sink.script(respond(404), respond(302, { headers: { Location: '/elsewhere' } }));
    expect(await sendRequest(webhookTo(sink.url('/h')), opts())).toMatchObject({ ok: false, status: 404, retryable: false });
    const redirect = await sendRequest(webhookTo(sink.url('/h')), opts());
    expect(redirect).toMatchObject({ ok: false, status: 302, retryable: false });
    expect(sink.requests).toHaveLength(2);
  });

  it('408 and 429 are retryable and honour Retry-After in seconds or as an HTTP-date', async () => {
    const now = Math.floor(Date.now() / 1000) * 1000;
    sink.script(
      respond(408, { retryAfter: '3' }),
      respond(429, { retryAfter: new Date(now + 120_000).toUTCString() }),
      respond(503, { retryAfter: '86400' }),
    );
    const req = webhookTo(sink.url('/h'));
    expect(await sendRequest(req, opts({ now }))).toMatchObject({ ok: false, status: 408, retryable: true, retryAfterMs: 3000 });
    expect(await sendRequest(req, opts({ now }))).toMatchObject({ ok: false, status: 429, retryable: true, retryAfterMs: 120_000 });
    expect(await sendRequest(req, opts({ now }))).toMatchObject({ ok: false, status: 503, retryable: true, retryAfterMs: MAX_RETRY_AFTER_MS });
  });

  it('rate-limited for the first K requests, then ok', async () => {
    sink.rateLimit(2, '1');
    const req = webhookTo(sink.url('/h'));
    const outs = [];
    for (let i = 0; i < 3; i++) outs.push(await sendRequest(req, opts()));
    expect(outs.map((o) => [o.status, o.ok, o.ok ? null : o.retryAfterMs])).toEqual([[429, false, 1000], [429, false, 1000], [200, true, null]]);
  });

  it('a stalled sink is a retryable timeout within timeoutMs', async () => {
    sink.script(stall());
    const [out, ms] = await timed(sendRequest(webhookTo(sink.url('/h')), opts({ timeoutMs: 300 })));
    expect(out).toEqual({ ok: false, status: null, retryable: true, retryAfterMs: null, error: `webhook http://127.0.0.1:${sink.port}/…: no answer within 300ms` });
    expect(ms).toBeGreaterThanOrEqual(290);
    expect(ms).toBeLessThan(300 + 500);
  });

  it('an answer after the timeout is a timeout; one before it is ok', async () => {
    sink.script(delay(1000, respond(200)), delay(50, respond(200)));
    const req = webhookTo(sink.url('/h'));
    expect(await sendRequest(req, opts({ timeoutMs: 300 }))).toMatchObject({ ok: false, retryable: true, status: null });
    expect(await sendRequest(req, opts({ timeoutMs: 300 }))).toEqual({ ok: true, status: 200 });
  });

  it('a closed socket and a refused connection are retryable network errors', async () => {
    sink.script(closeSocket());
    const closed = await sendRequest(webhookTo(sink.url('/h')), opts());
    expect(closed).toEqual({
      ok: false, status: null, retryable: true, retryAfterMs: null,
      error: `webhook http://127.0.0.1:${sink.port}/…: connection closed by the server (UND_ERR_SOCKET)`,
    });
    const port = await freePort();
    const refused = await sendRequest(webhookTo(`http://127.0.0.1:${port}/h`), opts());
    expect(refused).toEqual({
      ok: false, status: null, retryable: true, retryAfterMs: null,
      error: `webhook http://127.0.0.1:${port}/…: connection refused (ECONNREFUSED)`,
    });
  });

  it('reads at most 64 KiB of a response body, even an endless one', async () => {
    sink.script({ status: 200, endless: true }, { status: 500, bodyBytes: 8 * 1024 * 1024 });
    const req = webhookTo(sink.url('/h'));
    const [ok, ms] = await timed(sendRequest(req, opts({ timeoutMs: 5000 })));
    expect(ok).toEqual({ ok: true, status: 200 });
    expect(ms).toBeLessThan(2000);
    expect(sink.bytesWritten).toBeLessThan(32 * 1024 * 1024);
    const failed = await sendRequest(req, opts());
    expect(failed.ok).toBe(false);
    if (!failed.ok) expect(failed.error.length).toBeLessThan(400);
  });

  it("the caller's abort (shutdown, a queue deadline) gives a retryable outcome at once", async () => {
    sink.script(stall());
    const ac = new AbortController();
    setTimeout(() => ac.abort(new Error('shutting down')), 50);
    const [out, ms] = await timed(sendRequest(webhookTo(sink.url('/h')), opts({ signal: ac.signal, timeoutMs: 5000 })));
    expect(out).toEqual({
      ok: false, status: null, retryable: true, retryAfterMs: null,
      error: `webhook http://127.0.0.1:${sink.port}/…: aborted (shutting down)`,
    });
    expect(ms).toBeLessThan(1000);
    expect(await sendRequest(webhookTo(sink.url('/h')), opts({ signal: ac.signal }))).toMatchObject({
      ok: false, retryable: true, error: expect.stringContaining('not sent: aborted (shutting down)'),
    });
    expect(sink.requests).toHaveLength(1);
    const plain = new AbortController();
    plain.abort();
    expect(await sendRequest(webhookTo(sink.url('/h')), opts({ signal: plain.signal }))).toMatchObject({ error: expect.stringMatching(/not sent: aborted$/) });
  });
});

describe('secrets never reach SendOutcome.error', () => {
  const SLACK_PATH = '/services/T0000/B0000/SLACKsecretPATH';
  const KEY = 'PDsecretROUTINGkey0123456789abcd';

  it('slack: path absent from errors for a status, a timeout, a closed socket and a refused connection', async () => {
    const slack = (base: string) => slackReceiver.build([firing()], { url: `${base}${SLACK_PATH}` }, CTX)[0]!;
    sink.script(respond(404, { body: `no_service at ${SLACK_PATH} (${sink.url(SLACK_PATH)})` }), stall(), closeSocket());
    const outs = [
      await sendRequest(slack(sink.url('')), opts()),
      await sendRequest(slack(sink.url('')), opts({ timeoutMs: 200 })),
      await sendRequest(slack(sink.url('')), opts()),
      await sendRequest(slack(`http://127.0.0.1:${await freePort()}`), opts()),
    ];
    expect(sink.requests.map((r) => r.path)).toEqual([SLACK_PATH, SLACK_PATH, SLACK_PATH]);
    for (const o of outs) {
      expect(o.ok).toBe(false);
      if (o.ok) continue;
      expect(o.error).toMatch(/^slack http:\/\/127\.0\.0\.1:\d+: /);
      expect(o.error).not.toContain('SLACKsecretPATH');
    }
    expect(outs[0]).toMatchObject({ status: 404, error: expect.stringContaining('no_service at ***') });
  });

  it('webhook, alertmanager, pagerduty at a relay: a token in the URL path is absent from every error', async () => {
    const TOKEN = 'PATHsecretTOKEN0042';
    const builds: [string, (base: string) => PreparedRequest][] = [
      [`/hooks/${TOKEN}`, (base) => webhookReceiver.build([firing()], { url: `${base}/hooks/${TOKEN}` }, CTX)[0]!],
      [`/am/${TOKEN}/api/v2/alerts`, (base) => alertmanagerReceiver.build([firing()], { url: `${base}/am/${TOKEN}` }, CTX)[0]!],
      [`/pd/${TOKEN}`, (base) => pagerdutyReceiver.build([firing()], { routingKey: KEY, url: `${base}/pd/${TOKEN}` }, CTX)[0]!],
    ];
    for (const [path, build] of builds) {
      sink.script(respond(404, { body: `no route for ${path} (nor ${TOKEN})` }), closeSocket());
      const outs = [
        await sendRequest(build(sink.url('')), opts()),
        await sendRequest(build(sink.url('')), opts()),
        await sendRequest(build(`http://127.0.0.1:${await freePort()}`), opts()),
      ];
      for (const o of outs) {
        expect(o.ok).toBe(false);
        if (o.ok) continue;
        expect(o.error).toMatch(/^\w+ http:\/\/127\.0\.0\.1:\d+\/…/);
        expect(o.error).not.toContain(TOKEN);
      }
      expect(outs[0]).toMatchObject({ status: 404, error: expect.stringContaining('no route for ***') });
    }
    expect(sink.requests.map((r) => r.path)).toEqual(builds.flatMap(([path]) => [path, path]));
  });

  it('pagerduty: routing key absent even when the server echoes the request body', async () => {
    const [req] = pagerdutyReceiver.build([firing()], { routingKey: KEY, url: sink.url('/v2/enqueue') }, CTX);
    sink.script(respond(400, { body: `{"status":"invalid event","echo":${JSON.stringify(req!.body)}}` }));
    const out = await sendRequest(req!, opts());
    expect(out).toMatchObject({ ok: false, status: 400, retryable: false });
    expect(JSON.stringify(out)).not.toContain(KEY);
    expect(sink.requests[0]!.body).toContain(KEY);
  });
});

describe('sendRequest through an undici MockAgent', () => {
  it('uses the injected dispatcher, never the global one', async () => {
    const mock = new MockAgent();
    mock.disableNetConnect();
    const pd = mock.get('https://events.pagerduty.com');
    pd.intercept({ path: '/v2/enqueue', method: 'POST' }).reply(202, { status: 'success', dedup_key: 'smtp-probe/smtp_probe_down/mx1-submission' });
    pd.intercept({ path: '/v2/enqueue', method: 'POST' }).reply(429, 'slow down', { headers: { 'retry-after': '30' } });
    pd.intercept({ path: '/v2/enqueue', method: 'POST' }).replyWithError(Object.assign(new Error('socket hang up'), { code: 'ECONNRESET' }));
    const [req] = pagerdutyReceiver.build([firing()], { routingKey: 'mock-routing-key' }, CTX);
    const o = { dispatcher: mock, timeoutMs: 1000, now: Date.now() };
    expect(await sendRequest(req!, o)).toEqual({ ok: true, status: 202 });
    expect(await sendRequest(req!, o)).toMatchObject({ ok: false, status: 429, retryable: true, retryAfterMs: 30_000 });
    expect(await sendRequest(req!, o)).toEqual({
      ok: false, status: null, retryable: true, retryAfterMs: null,
      error: 'pagerduty https://events.pagerduty.com/v2/enqueue: connection reset (ECONNRESET)',
    });
    mock.assertNoPendingInterceptors();
    await mock.close();
  });
});

describe('parseRetryAfter', () => {
  const now = Date.parse('2026-11-26T02:00:00Z');
  it.each([
    [undefined, null],
    ['', null],
    ['0', 0],
    ['12', 12_000],
    [['5', '9'], 5000],
    ['Thu, 26 Nov 2026 02:00:30 GMT', 30_000],
    ['Thu, 26 Nov 2026 01:00:00 GMT', 0],
    ['Sat, 26 Dec 2026 02:00:00 GMT', MAX_RETRY_AFTER_MS],
    ['-5', null],
    ['soon', null],
    ['1.5', null],
  ] as const)('%j → %j', (v, ms) => {
    expect(parseRetryAfter(v as string | string[] | undefined, now)).toBe(ms);
  });
});

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address() as net.AddressInfo;
      s.close(() => resolve(port));
    });
  });
}
