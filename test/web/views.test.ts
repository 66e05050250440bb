/**
 * The pages and badges as the HTTP server answers them (src/daemon/views.ts over src/server/http.ts), real loopback
 * sockets: headers (CSP with the page's nonce, no referrer, nosniff, caching), names as one encoded path segment,
 * HEAD, and 404s.
 */
import { afterEach, describe, expect, test } from 'vitest';
import type http from 'node:http';
import { indexReply, viewReply } from '../../src/daemon/views.js';
import { createLogger } from '../../src/log.js';
import { createHttpServer, listen, type HttpHandlers } from '../../src/server/http.js';
import { healthy, rcptFailing, source } from './fixtures.js';

const servers: http.Server[] = [];
afterEach(async () => {
  for (const s of servers.splice(0)) await new Promise((r) => s.close(r));
});

async function serve(src: ReturnType<typeof source>): Promise<string> {
  const h: HttpHandlers = {
    metrics: async () => ({ contentType: 'text/plain', body: '' }),
    probe: async () => ({ status: 500, contentType: 'text/plain', body: '' }),
    healthy: () => true,
    index: (q) => indexReply(src, q, Date.now()),
    view: (path, q) => viewReply(src, path, q, Date.now()),
    reload: async () => ({ ok: true, message: '' }),
  };
  const limits = { maxConnections: 100, maxConcurrentProbes: 1, headerTimeoutMs: 1000, requestTimeoutMs: 5000, keepAliveTimeoutMs: 1000, reload: false };
  const server = createHttpServer(h, createLogger('silent'), limits);
  servers.push(server);
  const a = await listen(server, '127.0.0.1', 0);
  return `http://127.0.0.1:${a.port}`;
}

const NAME = 'a/b%c "d"';

describe('pages and badges over HTTP', () => {
  test('/ and /targets/{name}: HTML, a CSP whose nonce is the page\'s, no referrer, nosniff, no-store', async () => {
    const base = await serve(source([healthy('ok1'), rcptFailing(NAME)]));
    for (const path of ['/', '/?failing=1', `/targets/${encodeURIComponent(NAME)}`]) {
      const r = await fetch(base + path);
      expect(r.status, path).toBe(200);
      expect(r.headers.get('content-type')).toBe('text/html; charset=utf-8');
      const csp = r.headers.get('content-security-policy')!;
      const nonce = /'nonce-([^']+)'/.exec(csp)![1]!;
      const body = await r.text();
      expect(body).toContain(`<script nonce="${nonce}">`);
      expect(csp).toContain("default-src 'none'");
      expect(csp).toContain("frame-ancestors 'none'");
      expect(r.headers.get('referrer-policy')).toBe('no-referrer');
      expect(r.headers.get('x-content-type-options')).toBe('nosniff');
      expect(r.headers.get('cache-control')).toBe('no-store');
    }
    const page = await (await fetch(`${base}/targets/${encodeURIComponent(NAME)}`)).text();
    expect(page).toContain('550 5.1.1');
  });

  test('badges: SVG, no-cache; a name with / and % as one encoded segment', async () => {
    const base = await serve(source([rcptFailing(NAME)]));
    const r = await fetch(`${base}/badge/${encodeURIComponent(NAME)}/status.svg`);
    expect(r.status).toBe(200);
    expect(r.headers.get('content-type')).toBe('image/svg+xml; charset=utf-8');
    expect(r.headers.get('cache-control')).toBe('no-cache');
    expect(await r.text()).toContain('>a/b%c &quot;d&quot;</text>');
    const head = await fetch(`${base}/badge/${encodeURIComponent(NAME)}/latency.svg`, { method: 'HEAD' });
    expect(head.status).toBe(200);
    expect(await head.text()).toBe('');
  });

  test('404: unknown target, unknown badge kind, bad percent-encoding', async () => {
    const base = await serve(source([healthy('a')]));
    expect((await fetch(`${base}/targets/b`)).status).toBe(404);
    expect((await fetch(`${base}/targets/%E0%A4%A`)).status).toBe(404);
    expect((await fetch(`${base}/badge/b/status.svg`)).status).toBe(404);
    // A name is one percent-encoded segment: "x/y" sent raw is not the target "x/y" (as in /api/v1/targets/).
    const slashed = await serve(source([healthy('x/y')]));
    expect((await fetch(`${slashed}/targets/x%2Fy`)).status).toBe(200);
    expect((await fetch(`${slashed}/targets/x/y`)).status).toBe(404);
    const kind = await fetch(`${base}/badge/a/nope.svg`);
    expect(kind.status).toBe(404);
    expect(await kind.text()).toContain('badges: status.svg, uptime-24h.svg, latency.svg');
    expect((await fetch(`${base}/targets/a`)).status).toBe(200);
  });
});
