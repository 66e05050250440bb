/**
 * The MTA-STS fetch over real HTTPS on 127.0.0.1 (a test CA; `mta-sts.example.test` reached through
 * `--connect-to`), judged by the real check.
 */
import type { ServerResponse } from 'node:http';
import { afterEach, describe, expect, it } from 'vitest';
import { DEFAULT_MTA_STS_OPTIONS, runMtaSts, type MtaStsOptions } from '../../checks/posture/mta-sts.js';
import { fetchStsPolicy } from '../../checks/posture/mta-sts-fetch.js';
import { systemClock } from '../../src/core/clock.js';
import { expiredCert, selfSignedCert, serverCert, testCa, wrongNameCert } from '../helpers/certs.js';
import { flushMicrotasks, ManualClock } from '../helpers/manual-clock.js';
import { fakeTxt } from './helpers/fake-txt.js';
import { startHttps, startSilent, type TestHttps } from './helpers/https-server.js';

const DOMAIN = 'example.test';
const HOST = `mta-sts.${DOMAIN}`;
const txt = fakeTxt({ [`_mta-sts.${DOMAIN}`]: ['v=STSv1; id=20261205'] }).txt;
const stops: (() => Promise<void>)[] = [];
/** Polls a condition every 5 ms (a wait for it, not a sleep standing in for it). */
const waitFor = (cond: () => boolean): Promise<void> =>
  new Promise((resolve) => {
    const tick = (): void => (cond() ? resolve() : void setTimeout(tick, 5));
    tick();
  });
afterEach(async () => {
  while (stops.length > 0) await stops.pop()?.();
});

async function serve(handler: (res: ServerResponse) => void, pair = serverCert(HOST)): Promise<TestHttps> {
  const s = await startHttps(pair, (_req, res) => handler(res));
  stops.push(() => s.close());
  return s;
}

function options(port: number, extra: Partial<MtaStsOptions> = {}): MtaStsOptions {
  return {
    ...DEFAULT_MTA_STS_OPTIONS,
    timeoutMs: 10_000,
    ca: [testCa().cert],
    connectTo: [{ host: HOST, port: 443, toHost: '127.0.0.1', toPort: port }],
    ...extra,
  };
}

const plain = (body: string, type = 'text/plain; charset=utf-8') => (res: ServerResponse): void => {
  res.writeHead(200, { 'content-type': type });
  res.end(body);
};
const policy = (mode: string, ...mx: string[]): string =>
  ['version: STSv1', `mode: ${mode}`, ...mx.map((m) => `mx: ${m}`), 'max_age: 86400', ''].join('\r\n');

async function run(port: number, mx: string[] = ['mx1.example.test'], extra: Partial<MtaStsOptions> = {}) {
  const findings = await runMtaSts(DOMAIN, mx, options(port, extra), { txt, clock: systemClock });
  return findings.map((f) => ({ mx: f.mxHost, result: f.result, reason: f.reason, detail: f.detail }));
}

describe('mta_sts over HTTPS', () => {
  it('enforce covering the MX passes; the request went to the well-known path with SNI and Host mta-sts.DOMAIN', async () => {
    const s = await serve(plain(policy('enforce', 'mx1.example.test')));
    const [domain, mx] = await run(s.port);
    expect(domain).toMatchObject({ mx: null, result: 'pass', reason: null });
    expect(domain?.detail).toMatch(/^mode enforce, max_age 86400 s \(1 d/);
    expect(mx).toMatchObject({ mx: 'mx1.example.test', result: 'pass' });
    expect(s.requests).toEqual([{ path: '/.well-known/mta-sts.txt', host: HOST, sni: HOST }]);
  });

  it('testing and none warn', async () => {
    const t = await serve(plain(policy('testing', 'mx1.example.test')));
    const n = await serve(plain('version: STSv1\nmode: none\nmax_age: 0\n'));
    expect((await run(t.port)).map((f) => [f.result, f.reason])).toEqual([['warn', 'sts-mode-testing'], ['pass', null]]);
    expect((await run(n.port)).map((f) => [f.result, f.reason])).toEqual([['warn', 'sts-mode-none'], ['n/a', null]]);
  });

  it('a wildcard covers one label only: a.example.test passes, a.b.example.test fails under enforce', async () => {
    const s = await serve(plain(policy('enforce', '*.example.test')));
    const found = await run(s.port, ['a.example.test', 'a.b.example.test']);
    expect(found.map((f) => [f.mx, f.result, f.reason])).toEqual([
      [null, 'pass', null],
      ['a.example.test', 'pass', null],
      ['a.b.example.test', 'fail', 'validation-failure'],
    ]);
  });

  it('a 302 is not followed: fail, and the redirect target never gets a request', async () => {
    const target = await serve(plain(policy('enforce', '*.example.test')));
    const s = await serve((res) => {
      res.writeHead(302, { location: `https://127.0.0.1:${target.port}/.well-known/mta-sts.txt` });
      res.end();
    });
    const [domain] = await run(s.port);
    expect(domain).toMatchObject({ result: 'fail', reason: 'sts-policy-fetch-error' });
    expect(domain?.detail).toMatch(/HTTP 302 redirect to .*\(not followed\)/);
    expect(target.requests).toEqual([]);
    expect(s.requests).toHaveLength(1);
  });

  it('a 404 fails', async () => {
    const s = await serve((res) => {
      res.writeHead(404, { 'content-type': 'text/plain' });
      res.end('not here');
    });
    const [domain] = await run(s.port);
    expect(domain).toMatchObject({ result: 'fail', reason: 'sts-policy-fetch-error' });
    expect(domain?.detail).toMatch(/HTTP 404$/);
  });

  it('text/html fails as an invalid policy, though the body is a good one', async () => {
    const s = await serve(plain(policy('enforce', 'mx1.example.test'), 'text/html'));
    const found = await run(s.port);
    expect(found).toHaveLength(1);
    expect(found[0]).toMatchObject({ result: 'fail', reason: 'sts-policy-invalid' });
    expect(found[0]?.detail).toMatch(/Content-Type "text\/html", not text\/plain/);
  });

  it('an endless body: the client stops past 64 KiB and hangs up, long before the timeout', async () => {
    let sent = 0;
    const s = await serve((res) => {
      res.writeHead(200, { 'content-type': 'text/plain' });
      const chunk = Buffer.alloc(16 * 1024, 'a');
      const pump = (): void => {
        while (!res.destroyed) {
          sent += chunk.length;
          if (!res.write(chunk)) return void res.once('drain', pump);
        }
      };
      pump();
    });
    const started = Date.now();
    const [domain] = await run(s.port, ['mx1.example.test'], { timeoutMs: 15_000 });
    expect(domain).toMatchObject({ result: 'fail', reason: 'sts-policy-fetch-error' });
    expect(domain?.detail).toMatch(/body larger than 65536 bytes/);
    await s.waitClosed(1);
    expect(Date.now() - started).toBeLessThan(10_000);
    expect(sent).toBeGreaterThan(64 * 1024);
    // What the server got to write is the client's 64 KiB plus what the socket buffers took: far from endless.
    expect(sent).toBeLessThan(4 * 1024 * 1024);
  });

  it('a body of exactly 64 KiB is read whole (the policy is then judged)', async () => {
    const body = policy('enforce', 'mx1.example.test');
    const s = await serve(plain(body + 'x'.repeat(64 * 1024 - body.length - 1) + '\n'));
    const [domain] = await run(s.port);
    expect(domain).toMatchObject({ result: 'fail', reason: 'sts-policy-invalid' });
    expect(domain?.detail).toMatch(/line 5 is not key: value/);
  });

  it('one byte over 64 KiB is too large', async () => {
    const s = await serve(plain('x'.repeat(64 * 1024 + 1)));
    const [domain] = await run(s.port);
    expect(domain).toMatchObject({ result: 'fail', reason: 'sts-policy-fetch-error', detail: expect.stringMatching(/body larger than 65536 bytes$/) });
  });

  it('a certificate for another name: sts-webpki-invalid, and no request is sent', async () => {
    const s = await serve(plain(policy('enforce', 'mx1.example.test')), wrongNameCert('www.example.test'));
    const [domain] = await run(s.port);
    expect(domain).toMatchObject({ result: 'fail', reason: 'sts-webpki-invalid' });
    expect(domain?.detail).toMatch(/ERR_TLS_CERT_ALTNAME_INVALID/);
    expect(s.requests).toEqual([]);
  });

  it.each([
    ['expired', () => expiredCert(HOST), /CERT_HAS_EXPIRED/],
    ['self-signed', () => selfSignedCert(HOST), /DEPTH_ZERO_SELF_SIGNED_CERT/],
  ])('an %s certificate: sts-webpki-invalid', async (_what, pair, code) => {
    const s = await serve(plain(policy('enforce', 'mx1.example.test')), pair());
    const [domain] = await run(s.port);
    expect(domain).toMatchObject({ result: 'fail', reason: 'sts-webpki-invalid', detail: expect.stringMatching(code) });
    expect(s.requests).toEqual([]);
  });

  it('a certificate from a CA not trusted (no --ca): sts-webpki-invalid; Node\'s roots alone do not trust it', async () => {
    const s = await serve(plain(policy('enforce', 'mx1.example.test')));
    const [domain] = await run(s.port, ['mx1.example.test'], { ca: [] });
    expect(domain).toMatchObject({ result: 'fail', reason: 'sts-webpki-invalid' });
    expect(domain?.detail).toMatch(/UNABLE_TO_VERIFY_LEAF_SIGNATURE|SELF_SIGNED|UNABLE_TO_GET_ISSUER/);
  });

  it('a server that answers nothing after the request: bounded by the timeout', async () => {
    const s = await serve(() => undefined);
    const started = Date.now();
    const [domain] = await run(s.port, ['mx1.example.test'], { timeoutMs: 400 });
    const took = Date.now() - started;
    expect(domain).toMatchObject({ result: 'fail', reason: 'sts-policy-fetch-error' });
    expect(domain?.detail).toMatch(/no policy within 400 ms/);
    expect(took).toBeGreaterThanOrEqual(390);
    expect(took).toBeLessThan(2_000);
    await s.waitClosed(1);
  });

  it('a peer that never starts TLS: bounded by the timeout too', async () => {
    const silent = await startSilent();
    stops.push(() => silent.close());
    const started = Date.now();
    const [domain] = await run(silent.port, ['mx1.example.test'], { timeoutMs: 400 });
    const took = Date.now() - started;
    expect(domain).toMatchObject({ result: 'fail', reason: 'sts-policy-fetch-error', detail: expect.stringMatching(/no policy within 400 ms$/) });
    expect(took).toBeGreaterThanOrEqual(390);
    expect(took).toBeLessThan(2_000);
    expect(silent.accepted()).toBe(1);
    await silent.waitClosed(1);
  });

  it('nothing listening: a fetch error naming the refusal', async () => {
    const s = await serve(plain(''));
    const port = s.port;
    await s.close();
    stops.pop();
    const [domain] = await run(port);
    expect(domain).toMatchObject({ result: 'fail', reason: 'sts-policy-fetch-error' });
    expect(domain?.detail).toMatch(/ECONNREFUSED/);
  });
});

describe('fetchStsPolicy', () => {
  it('--connect-to applies only to the HOST:PORT it names', async () => {
    const s = await serve(plain(policy('enforce', 'mx1.example.test')));
    const other = { ...options(s.port), connectTo: [{ host: 'mta-sts.other.test', port: 443, toHost: '127.0.0.1', toPort: s.port }], maxBytes: 65536, timeoutMs: 3000 };
    const hit = await fetchStsPolicy('other.test', other, systemClock);
    expect(hit.kind).toBe('webpki');
    const anyHost = { ...other, connectTo: [{ host: '', port: null, toHost: '127.0.0.1', toPort: s.port }] };
    const got = await fetchStsPolicy(DOMAIN, anyHost, systemClock);
    expect(got).toMatchObject({ kind: 'response', status: 200, contentType: 'text/plain; charset=utf-8' });
    expect(s.requests.map((r) => r.host)).toEqual([HOST]);
  });

  it('the default 60 s bound runs on the injected Clock: a stalled answer ends when the clock passes 60 s', async () => {
    const s = await serve(() => undefined);
    const clock = new ManualClock();
    const p = fetchStsPolicy(DOMAIN, { ...options(s.port), maxBytes: 65536, timeoutMs: 60_000 }, clock);
    await waitFor(() => s.requests.length > 0);
    await clock.advance(59_999);
    let settled = false;
    void p.then(() => (settled = true));
    await flushMicrotasks();
    expect(settled).toBe(false);
    const realStart = Date.now();
    await clock.advance(1);
    expect(await p).toMatchObject({ kind: 'error', detail: 'no policy within 60000 ms' });
    expect(Date.now() - realStart).toBeLessThan(1_000);
    await s.waitClosed(1);
  });

  it('an aborted caller ends the fetch at once', async () => {
    const s = await serve(() => undefined);
    const ac = new AbortController();
    const p = fetchStsPolicy(DOMAIN, { ...options(s.port), maxBytes: 65536, timeoutMs: 30_000 }, systemClock, ac.signal);
    await waitFor(() => s.requests.length > 0);
    const abortedAt = Date.now();
    ac.abort();
    const got = await p;
    expect(got.kind).toBe('error');
    expect(got.kind === 'error' && got.detail).not.toMatch(/no policy within/);
    expect(Date.now() - abortedAt).toBeLessThan(1_000);
    await s.waitClosed(1);
  });
});
