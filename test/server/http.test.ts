/**
 * The HTTP server with stub handlers, over real loopback sockets: exact routing, nosniff, the reload rules, and the
 * limits of `global.web` (connections, header timeout against slowloris, concurrent /probe runs).
 */
import http from 'node:http';
import net from 'node:net';
import { afterEach, describe, expect, test } from 'vitest';
import { createLogger } from '../../src/log.js';
import { gunzipSync } from 'node:zlib';
import { acceptsGzip, createHttpServer, listen, type HttpHandlers, type HttpLimits, type HttpReply } from '../../src/server/http.js';

const LIMITS: HttpLimits = {
  maxConnections: 1000,
  maxConcurrentProbes: 8,
  headerTimeoutMs: 1000,
  requestTimeoutMs: 5000,
  keepAliveTimeoutMs: 1000,
  reload: true,
};

interface Stub {
  handlers: HttpHandlers;
  reloads: number;
  /** /probe handlers running now, and the most at once. */
  probes: { active: number; peak: number; started: number };
  /** Lets every /probe that is waiting (and every later one) answer. */
  release(): void;
}

function stub(): Stub {
  let open: () => void = () => undefined;
  const gate = new Promise<void>((r) => (open = r));
  const s: Stub = {
    reloads: 0,
    probes: { active: 0, peak: 0, started: 0 },
    release: () => open(),
    handlers: {
      metrics: async () => ({ contentType: 'text/plain; version=0.0.4; charset=utf-8', body: 'up 1\n' }),
      probe: async (): Promise<HttpReply> => {
        s.probes.active++;
        s.probes.started++;
        s.probes.peak = Math.max(s.probes.peak, s.probes.active);
        await gate;
        s.probes.active--;
        return { status: 200, contentType: 'text/plain; charset=utf-8', body: 'probe_success 1\n' };
      },
      healthy: () => true,
      index: () => ({ status: 200, contentType: 'text/html; charset=utf-8', body: '<html>index</html>' }),
      view: async (path) => (path === '/targets/a%2Fb' ? { status: 200, contentType: 'text/plain', body: 'view' } : null),
      reload: async () => {
        s.reloads++;
        return { ok: true, message: 'config reloaded' };
      },
    },
  };
  return s;
}

const servers: http.Server[] = [];
const sockets: net.Socket[] = [];
afterEach(async () => {
  for (const s of sockets.splice(0)) s.destroy();
  await Promise.all(
    servers.splice(0).map((s) => {
      s.closeAllConnections();
      return new Promise((r) => s.close(r));
    }),
  );
});

async function serve(limits: Partial<HttpLimits> = {}, s: Stub = stub()): Promise<{ port: number; s: Stub; server: http.Server }> {
  const server = createHttpServer(s.handlers, createLogger('silent'), { ...LIMITS, ...limits });
  servers.push(server);
  const a = await listen(server, '127.0.0.1', 0);
  return { port: a.port, s, server };
}

interface Answer {
  status: number;
  headers: http.IncomingHttpHeaders;
  body: string;
}

/** One request on its own connection (no pooling), raw path as given. */
function request(port: number, path: string, o: { method?: string; headers?: Record<string, string> } = {}): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const req = http.request({ host: '127.0.0.1', port, path, method: o.method ?? 'GET', headers: o.headers, agent: false }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => (body += c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body }));
    });
    req.on('error', reject);
    req.end();
  });
}

async function until(what: () => boolean, ms: number, message = 'condition not met in time'): Promise<void> {
  for (const end = Date.now() + ms; !what(); await new Promise((r) => setTimeout(r, 20))) {
    if (Date.now() > end) throw new Error(message);
  }
}

/** A raw client socket (closed after the test); `closed` turns true when the server closes it. */
function connect(port: number, data?: string): Promise<{ socket: net.Socket; closed: () => boolean }> {
  return new Promise((resolve, reject) => {
    let closed = false;
    const socket = net.connect(port, '127.0.0.1', () => {
      if (data !== undefined) socket.write(data);
      resolve({ socket, closed: () => closed });
    });
    sockets.push(socket);
    socket.on('error', () => undefined);
    socket.on('close', () => (closed = true));
    socket.once('error', reject);
    socket.resume();
  });
}

/** One request, the body as the bytes sent (not decoded). */
function rawRequest(port: number, path: string, headers: Record<string, string>, method = 'GET'): Promise<{ status: number; headers: http.IncomingHttpHeaders; body: Buffer }> {
  return new Promise((resolve, reject) => {
    const req = http.request({ host: '127.0.0.1', port, path, method, headers, agent: false }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks) }));
    });
    req.on('error', reject);
    req.end();
  });
}

describe('gzip', () => {
  test('Accept-Encoding: gzip, q=0 refuses, * accepts, absent refuses', () => {
    expect(acceptsGzip('gzip')).toBe(true);
    expect(acceptsGzip('deflate, gzip;q=0.5')).toBe(true);
    expect(acceptsGzip('gzip;q=0, deflate')).toBe(false);
    expect(acceptsGzip('*')).toBe(true);
    expect(acceptsGzip('*;q=1, gzip;q=0')).toBe(false); // gzip's own entry wins over *
    expect(acceptsGzip('*;q=0, gzip')).toBe(true);
    expect(acceptsGzip('br, deflate')).toBe(false);
    expect(acceptsGzip('identity')).toBe(false);
    expect(acceptsGzip(undefined)).toBe(false);
  });

  test('a large answer goes gzipped to a client that asks for it, plain otherwise; a small one always plain', async () => {
    const big = Array.from({ length: 5000 }, (_, i) => `smtp_probe_up{target="t${i}"} 1`).join('\n');
    const s = stub();
    s.handlers.metrics = async () => ({ contentType: 'text/plain; version=0.0.4; charset=utf-8', body: big });
    const { port } = await serve({}, s);
    const zipped = await rawRequest(port, '/metrics', { 'Accept-Encoding': 'gzip, deflate' });
    expect(zipped.status).toBe(200);
    expect(zipped.headers['content-encoding']).toBe('gzip');
    expect(zipped.headers.vary).toBe('Accept-Encoding');
    expect(zipped.headers['x-content-type-options']).toBe('nosniff');
    expect(zipped.body.length).toBeLessThan(big.length / 5);
    expect(gunzipSync(zipped.body).toString('utf8')).toBe(big);
    const plain = await rawRequest(port, '/metrics', {});
    expect(plain.headers['content-encoding']).toBeUndefined();
    expect(plain.body.toString('utf8')).toBe(big);
    const refused = await rawRequest(port, '/metrics', { 'Accept-Encoding': 'gzip;q=0' });
    expect(refused.headers['content-encoding']).toBeUndefined();
    const head = await rawRequest(port, '/metrics', { 'Accept-Encoding': 'gzip' }, 'HEAD');
    expect(head.headers['content-encoding']).toBe('gzip');
    expect(head.body.length).toBe(0);
    const small = await rawRequest(port, '/healthz', { 'Accept-Encoding': 'gzip' });
    expect(small.headers['content-encoding']).toBeUndefined();
  });
});

describe('routing', () => {
  test('paths match exactly: //metrics and /metrics/ are 404, not the index or the metrics', async () => {
    const { port } = await serve();
    expect((await request(port, '/metrics')).status).toBe(200);
    expect((await request(port, '/metrics?x=1')).status).toBe(200);
    for (const path of ['//metrics', '/metrics/', '//', '//healthz', '/%6detrics']) {
      const r = await request(port, path);
      expect(r.status, path).toBe(404);
      expect(r.body, path).not.toContain('index');
    }
  });
  test('every answer carries X-Content-Type-Options: nosniff and Cache-Control: no-store', async () => {
    const { port } = await serve();
    const answers = [
      await request(port, '/'),
      await request(port, '/metrics'),
      await request(port, '/healthz'),
      await request(port, '/nope'),
      await request(port, '/metrics', { method: 'POST' }),
      await request(port, '/-/reload', { method: 'POST', headers: { Origin: 'https://evil.example' } }),
    ];
    expect(answers.map((a) => a.status)).toEqual([200, 200, 200, 404, 405, 403]);
    for (const a of answers) {
      expect(a.headers['x-content-type-options']).toBe('nosniff');
      expect(a.headers['cache-control']).toBe('no-store');
    }
  });
});

describe('POST /-/reload', () => {
  test('a plain POST (curl, kubectl exec, SIGHUP scripts) reloads; a browser request (Origin or Sec-Fetch-Site) is refused', async () => {
    const { port, s } = await serve();
    expect((await request(port, '/-/reload', { method: 'POST' })).status).toBe(200);
    expect(s.reloads).toBe(1);
    const refused: Record<string, string>[] = [
      { Origin: 'https://evil.example' },
      { Origin: 'null' },
      { 'Sec-Fetch-Site': 'cross-site' },
      { 'Sec-Fetch-Site': 'same-site' },
      { 'Content-Type': 'application/x-www-form-urlencoded', Origin: 'http://127.0.0.1:9469' },
    ];
    for (const headers of refused) {
      const r = await request(port, '/-/reload', { method: 'POST', headers });
      expect(r.status, JSON.stringify(headers)).toBe(403);
      expect(r.body).toMatch(/browser/);
    }
    expect(s.reloads).toBe(1);
  });
  test('web.reload: false turns it off (403) and the handler never runs', async () => {
    const { port, s } = await serve({ reload: false });
    const r = await request(port, '/-/reload', { method: 'POST' });
    expect(r.status).toBe(403);
    expect(r.body).toMatch(/global\.web\.reload/);
    expect(s.reloads).toBe(0);
  });
});

describe('limits', () => {
  test('slowloris: 300 half-sent requests do not block /healthz and are closed within the header timeout', async () => {
    const { port } = await serve({ headerTimeoutMs: 1000 });
    const started = Date.now();
    const half = await Promise.all(Array.from({ length: 300 }, () => connect(port, 'GET /metrics HTTP/1.1\r\nHost: x\r\nX-Slow: ')));
    const t0 = Date.now();
    const health = await request(port, '/healthz');
    expect(health.status).toBe(200);
    expect(Date.now() - t0).toBeLessThan(500);
    await until(() => half.every((h) => h.closed()), 4000, `${half.filter((h) => !h.closed()).length} of 300 half-sent requests still open`);
    // header timeout (1 s) plus the server's check interval, counted from the first connection
    expect(Date.now() - started).toBeLessThan(1000 + 1500);
  });
  test('max_connections: at the limit the oldest idle (half-sent) connection makes room, so /healthz still gets in', async () => {
    const { port } = await serve({ maxConnections: 20, headerTimeoutMs: 5000, requestTimeoutMs: 10_000 });
    const held: { closed: () => boolean }[] = [];
    for (let i = 0; i < 50; i++) held.push(await connect(port, 'GET /metrics HTTP/1.1\r\nHost: x\r\n'));
    await until(() => held.filter((h) => !h.closed()).length < 20, 3000, `${held.filter((h) => !h.closed()).length} of 50 still open`);
    expect(held[0]!.closed()).toBe(true);
    expect(held[49]!.closed()).toBe(false);
    const t0 = Date.now();
    expect((await request(port, '/healthz')).status).toBe(200);
    expect(Date.now() - t0).toBeLessThan(500);
  });
  test('max_connections: connections with a request in flight are never closed; one over the limit is', async () => {
    const { port, s } = await serve({ maxConnections: 10, maxConcurrentProbes: 10, headerTimeoutMs: 5000, requestTimeoutMs: 10_000 });
    const probes = Array.from({ length: 9 }, () => request(port, '/probe?target=127.0.0.1:25').catch(() => null));
    await until(() => s.probes.active === 9, 3000);
    const tenth = await connect(port);
    const over = await connect(port);
    await until(over.closed, 2000, 'the connection over max_connections stayed open');
    expect(tenth.closed()).toBe(false);
    expect(s.probes.active).toBe(9);
    s.release();
    expect((await Promise.all(probes)).map((a) => a?.status)).toEqual(Array(9).fill(200));
    expect((await request(port, '/healthz')).status).toBe(200);
  });
  test('a /probe flood: max_concurrent_probes run, the rest get 503 with Retry-After at once; /healthz answers throughout', async () => {
    const { port, s } = await serve({ maxConcurrentProbes: 8 });
    const answers: Answer[] = [];
    const all = Array.from({ length: 200 }, () => request(port, '/probe?target=127.0.0.1:25').then((a) => void answers.push(a), () => undefined));
    await until(() => s.probes.started + answers.length >= 200, 10_000, `${s.probes.started} probes started, ${answers.length} answered`);
    expect(s.probes.peak).toBe(8);
    expect(answers).toHaveLength(192);
    for (const a of answers) {
      expect(a.status).toBe(503);
      expect(Number(a.headers['retry-after'])).toBeGreaterThanOrEqual(1);
      expect(a.headers['x-content-type-options']).toBe('nosniff');
    }
    expect((await request(port, '/healthz')).status).toBe(200);
    s.release();
    await Promise.all(all);
    expect(answers.filter((a) => a.status === 200)).toHaveLength(8);
    // the slots are free again
    expect((await request(port, '/probe?target=127.0.0.1:25')).status).toBe(200);
  });
});
