import http from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Logger } from '../log.js';

/** What the HTTP endpoints need from the daemon; the server itself holds no state. */
export interface HttpHandlers {
  metrics(): Promise<{ contentType: string; body: string }>;
  probe(query: URLSearchParams, scrapeTimeoutSeconds: number | null, signal: AbortSignal): Promise<HttpReply>;
  healthy(): boolean;
  index(): string;
  reload(): Promise<{ ok: boolean; message: string }>;
}

export interface HttpReply {
  status: number;
  contentType: string;
  body: string;
}

const TEXT = 'text/plain; charset=utf-8';

/** /metrics, /probe, /healthz, /, POST /-/reload. Unknown paths 404, wrong methods 405; handler errors 500. */
export function createHttpServer(h: HttpHandlers, log: Logger): http.Server {
  return http.createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://localhost');
    const send = (r: HttpReply): void => {
      res.writeHead(r.status, { 'Content-Type': r.contentType, 'Cache-Control': 'no-store' });
      res.end(r.body);
    };
    const route = ROUTES[url.pathname];
    if (!route) return send({ status: 404, contentType: TEXT, body: `not found: ${url.pathname}\n` });
    if (!route.methods.includes(req.method ?? 'GET')) {
      res.setHeader('Allow', route.methods.join(', '));
      return send({ status: 405, contentType: TEXT, body: `method ${req.method} not allowed on ${url.pathname}\n` });
    }
    const abort = new AbortController();
    res.on('close', () => abort.abort());
    route
      .handle(h, url, req, abort.signal)
      .then(send)
      .catch((e: unknown) => {
        log.error({ err: e, path: url.pathname }, 'http handler failed');
        if (!res.headersSent) send({ status: 500, contentType: TEXT, body: 'internal error\n' });
      });
  });
}

interface Route {
  methods: string[];
  handle(h: HttpHandlers, url: URL, req: http.IncomingMessage, signal: AbortSignal): Promise<HttpReply>;
}

const ROUTES: Record<string, Route> = {
  '/metrics': {
    methods: ['GET', 'HEAD'],
    async handle(h) {
      const m = await h.metrics();
      return { status: 200, contentType: m.contentType, body: m.body };
    },
  },
  '/probe': {
    methods: ['GET'],
    handle(h, url, req, signal) {
      const header = Number(req.headers['x-prometheus-scrape-timeout-seconds']);
      return h.probe(url.searchParams, Number.isFinite(header) && header > 0 ? header : null, signal);
    },
  },
  '/healthz': {
    methods: ['GET', 'HEAD'],
    async handle(h) {
      return h.healthy() ? { status: 200, contentType: TEXT, body: 'ok\n' } : { status: 503, contentType: TEXT, body: 'stopping\n' };
    },
  },
  '/': {
    methods: ['GET'],
    async handle(h) {
      return { status: 200, contentType: 'text/html; charset=utf-8', body: h.index() };
    },
  },
  '/-/reload': {
    methods: ['POST', 'PUT'],
    async handle(h) {
      const r = await h.reload();
      return { status: r.ok ? 200 : 500, contentType: TEXT, body: `${r.message}\n` };
    },
  },
};

export async function listen(server: http.Server, host: string, port: number): Promise<AddressInfo> {
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host === '' ? undefined : host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  return server.address() as AddressInfo;
}
