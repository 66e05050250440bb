import http from 'node:http';
import { gzip } from 'node:zlib';
import type { AddressInfo, Socket } from 'node:net';
import { systemClock, type Clock } from '../core/clock.js';
import { bounded, deadline } from '../core/deadline.js';
import type { Logger } from '../log.js';
import type { WebSettings } from '../plan/build.js';

/** What the HTTP endpoints need from the daemon; the server itself holds no state. */
export interface HttpHandlers {
  metrics(): Promise<{ contentType: string; body: string }>;
  probe(query: URLSearchParams, scrapeTimeoutSeconds: number | null, signal: AbortSignal): Promise<HttpReply>;
  healthy(): boolean;
  /** The status page at `/` (`?failing=1`: failing targets only), with its own headers (Content-Security-Policy). */
  index(query: URLSearchParams): HttpReply;
  /**
   * A path under one of VIEW_PREFIXES (`/targets/{name}`, `/api/v1/...`, `/badge/{name}/...`), as sent (still
   * percent-encoded); null: not found.
   */
  view(path: string, query: URLSearchParams): Promise<HttpReply | null>;
  reload(): Promise<{ ok: boolean; message: string }>;
}

/** Answers of at least this many characters go gzipped to a client that asks for it (Prometheus and browsers do). */
const GZIP_MIN_BYTES = 1024;
/**
 * zlib level 1: 8.3 MB of /metrics-like text for 5,000 targets goes to 0.54 MB in 35 ms (level 6: 0.44 MB in
 * 61 ms), on the pool, not the event loop.
 */
const GZIP_LEVEL = 1;

/** `Accept-Encoding` gives gzip a quality above zero: its own entry if it has one, else that of `*` (RFC 9110 12.5.3). */
export function acceptsGzip(header: string | undefined): boolean {
  if (!header) return false;
  const quality = new Map<string, number>();
  for (const part of header.split(',')) {
    const [name, ...params] = part.trim().toLowerCase().split(';');
    const q = params.map((p) => p.trim()).find((p) => p.startsWith('q='));
    quality.set(name!.trim(), q === undefined ? 1 : Number(q.slice(2)));
  }
  return (quality.get('gzip') ?? quality.get('*') ?? 0) > 0;
}

export interface HttpReply {
  status: number;
  contentType: string;
  body: string;
  headers?: Record<string, string>;
}

/** `global.web`: what one client, or many, can hold of the server (the settings are plan/build.ts WebSettings). */
export type HttpLimits = WebSettings;

const TEXT = 'text/plain; charset=utf-8';
/** Retry-After of a /probe refused because max_concurrent_probes runs are going. */
const PROBE_RETRY_AFTER_S = 1;
/** Connections dropped or closed at max_connections are logged once per this. */
const DROP_LOG_EVERY_MS = 10_000;

/** A plain-text answer. */
export const text = (status: number, body: string, headers?: Record<string, string>): HttpReply => ({
  status, contentType: TEXT, body: `${body}\n`, ...(headers ? { headers } : {}),
});

/**
 * /metrics, /probe, /healthz, /, POST /-/reload, within `global.web`'s limits. Paths match exactly (unknown: 404,
 * wrong method: 405); handler errors 500; every answer is `nosniff` and `no-store`. `drain` and `shutdown` end it:
 * no new /probe while stopping, running handlers finish within the grace period.
 */
export class HttpServer extends http.Server {
  private limits: HttpLimits;
  /** Handlers running, and of those /probe runs. */
  private active = 0;
  private probes = 0;
  private stopping = false;
  private idleWaiters: (() => void)[] = [];
  /** Open connections, oldest first, with their requests in flight. */
  private readonly tracked = new Map<Socket, { busy: number }>();
  private overLimit = { dropped: 0, evicted: 0, loggedAt: Number.NEGATIVE_INFINITY };

  constructor(
    private readonly h: HttpHandlers,
    private readonly log: Logger,
    limits: HttpLimits,
    private readonly clock: Clock = systemClock,
  ) {
    // Node looks for requests past their header/request timeout every connectionsCheckingInterval (default 30 s):
    // checked often enough that a half-sent request is gone soon after header_timeout. Fixed at creation.
    super({ connectionsCheckingInterval: Math.min(1000, Math.max(100, Math.floor(limits.headerTimeoutMs / 4))) });
    this.limits = limits;
    this.configure(limits);
    this.on('request', (req: http.IncomingMessage, res: http.ServerResponse) => this.serve(req, res));
    this.on('connection', (socket: Socket) => this.onConnection(socket));
    this.on('drop', () => this.overflow('dropped'));
  }

  /** Apply (new) limits; open connections keep theirs until their next request. */
  configure(limits: HttpLimits): void {
    this.limits = { ...limits };
    this.maxConnections = limits.maxConnections;
    this.headersTimeout = limits.headerTimeoutMs;
    this.requestTimeout = limits.requestTimeoutMs;
    this.keepAliveTimeout = limits.keepAliveTimeoutMs;
  }

  /**
   * Stop taking /probe runs (503) and close connections after their answer; wait up to `ms` for the running
   * handlers. True when none is left.
   */
  async drain(ms: number): Promise<boolean> {
    this.stopping = true;
    if (this.active === 0) return true;
    const bound = deadline(ms, [], this.clock);
    await new Promise<void>((resolve) => {
      this.idleWaiters.push(resolve);
      bound.signal.addEventListener('abort', () => resolve(), { once: true });
    });
    bound.dispose();
    return this.active === 0;
  }

  /** Stop listening, end idle connections, wait up to `ms` for the others to end, then cut them. */
  async shutdown(ms: number): Promise<void> {
    this.stopping = true;
    const closed = new Promise<void>((resolve) => this.close(() => resolve()));
    this.closeIdleConnections();
    await bounded(closed, ms, undefined, this.clock, () => undefined);
    this.closeAllConnections();
    await closed;
  }

  private serve(req: http.IncomingMessage, res: http.ServerResponse): void {
    res.setHeader('X-Content-Type-Options', 'nosniff');
    res.setHeader('Cache-Control', 'no-store');
    const send = (r: HttpReply): void => {
      if (res.headersSent || res.destroyed) return;
      if (this.stopping) res.setHeader('Connection', 'close');
      if (r.body.length < GZIP_MIN_BYTES || !acceptsGzip(req.headers['accept-encoding'])) {
        res.writeHead(r.status, { ...r.headers, 'Content-Type': r.contentType });
        res.end(r.body);
        return;
      }
      // Off the event loop (zlib runs on libuv's pool): a page of 5,000 targets or their /metrics is megabytes.
      gzip(r.body, { level: GZIP_LEVEL }, (err, zipped) => {
        if (res.headersSent || res.destroyed) return;
        const headers = { ...r.headers, 'Content-Type': r.contentType, Vary: 'Accept-Encoding' };
        if (err) return void res.writeHead(r.status, headers).end(r.body);
        res.writeHead(r.status, { ...headers, 'Content-Encoding': 'gzip' }).end(zipped);
      });
    };
    const target = requestTarget(req.url ?? '');
    const route = target ? routeOf(target.path) : undefined;
    if (!target || !route) return send(text(404, `not found: ${target?.path ?? ''}`));
    if (!route.methods.includes(req.method ?? 'GET')) {
      return send(text(405, `method ${req.method} not allowed on ${target.path}`, { Allow: route.methods.join(', ') }));
    }
    const refused = this.refuse(route, req);
    if (refused) return send(refused);
    const abort = new AbortController();
    const conn = this.tracked.get(req.socket);
    if (conn) conn.busy++;
    res.on('close', () => {
      abort.abort();
      if (conn) conn.busy--;
    });
    this.begin(route);
    route
      .handle(this.h, target.query, req, abort.signal)
      .then(send)
      .catch((e: unknown) => {
        this.log.error({ err: e, path: target.path }, 'http handler failed');
        send(text(500, 'internal error'));
      })
      .finally(() => this.end(route));
  }

  /** Why this request does not reach its handler, or null. */
  private refuse(route: Route, req: http.IncomingMessage): HttpReply | null {
    if (route.refuse) return route.refuse(req, this.limits);
    if (!route.probe) return null;
    if (this.stopping) return text(503, 'smtp-probe is stopping');
    if (this.probes >= this.limits.maxConcurrentProbes) {
      return text(503, `${this.probes} /probe runs are going (global.web.max_concurrent_probes); try again shortly`, {
        'Retry-After': String(PROBE_RETRY_AFTER_S),
      });
    }
    return null;
  }

  private begin(route: Route): void {
    this.active++;
    if (route.probe) this.probes++;
  }

  private end(route: Route): void {
    this.active--;
    if (route.probe) this.probes--;
    if (this.active > 0) return;
    for (const wake of this.idleWaiters.splice(0)) wake();
  }

  /**
   * A connection that fills the last slot closes the oldest one without a request in flight, so the next client
   * (a /healthz, a scrape) still gets in while half-sent requests hold the rest; Node drops any over the limit.
   */
  private onConnection(socket: Socket): void {
    this.tracked.set(socket, { busy: 0 });
    socket.once('close', () => this.tracked.delete(socket));
    if (this.tracked.size < this.limits.maxConnections) return;
    for (const [s, c] of this.tracked) {
      if (s === socket || c.busy > 0) continue;
      this.tracked.delete(s);
      s.destroy();
      this.overflow('evicted');
      return;
    }
  }

  private overflow(what: 'dropped' | 'evicted'): void {
    const o = this.overLimit;
    o[what]++;
    const now = this.clock.now();
    if (now - o.loggedAt < DROP_LOG_EVERY_MS) return;
    const line = { dropped: o.dropped, idleClosed: o.evicted, maxConnections: this.limits.maxConnections };
    this.log.warn(line, 'global.web.max_connections reached: idle connections closed, new ones dropped');
    this.overLimit = { dropped: 0, evicted: 0, loggedAt: now };
  }
}

export function createHttpServer(h: HttpHandlers, log: Logger, limits: HttpLimits, clock: Clock = systemClock): HttpServer {
  return new HttpServer(h, log, limits, clock);
}

/** The path (exact, as sent) and query of an origin-form or absolute-form request target; null for any other. */
function requestTarget(raw: string): { path: string; query: URLSearchParams } | null {
  if (raw.startsWith('/')) {
    const q = raw.indexOf('?');
    return { path: q < 0 ? raw : raw.slice(0, q), query: new URLSearchParams(q < 0 ? '' : raw.slice(q + 1)) };
  }
  if (!/^https?:\/\//i.test(raw) || !URL.canParse(raw)) return null;
  const u = new URL(raw);
  return { path: u.pathname, query: u.searchParams };
}

/**
 * A browser's request: it carries `Origin` (every POST since 2020) or `Sec-Fetch-Site`. curl, wget and scripts send
 * neither, and a web page cannot remove them, so a page the operator visits cannot make the daemon reload.
 */
function fromBrowser(req: http.IncomingMessage): boolean {
  return req.headers.origin !== undefined || req.headers['sec-fetch-site'] !== undefined;
}

interface Route {
  methods: string[];
  /** Counted against max_concurrent_probes (refused while stopping). */
  probe?: true;
  /** Refuses the request before its handler runs; null admits it. */
  refuse?(req: http.IncomingMessage, limits: HttpLimits): HttpReply | null;
  handle(h: HttpHandlers, query: URLSearchParams, req: http.IncomingMessage, signal: AbortSignal): Promise<HttpReply>;
}

/** Paths under these are the daemon's views (pages, JSON API, badges): one route, the rest of the path to the handler. */
export const VIEW_PREFIXES = ['/targets/', '/api/v1/', '/badge/'] as const;

const VIEW_ROUTE: Route = {
  methods: ['GET', 'HEAD'],
  async handle(h, query, req) {
    const path = requestTarget(req.url ?? '')?.path ?? '';
    return (await h.view(path, query)) ?? text(404, `not found: ${path}`);
  },
};

function routeOf(path: string): Route | undefined {
  if (Object.hasOwn(ROUTES, path)) return ROUTES[path];
  return VIEW_PREFIXES.some((p) => path.startsWith(p)) ? VIEW_ROUTE : undefined;
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
    probe: true,
    handle(h, query, req, signal) {
      const header = Number(req.headers['x-prometheus-scrape-timeout-seconds']);
      return h.probe(query, Number.isFinite(header) && header > 0 ? header : null, signal);
    },
  },
  '/healthz': {
    methods: ['GET', 'HEAD'],
    async handle(h) {
      return h.healthy() ? text(200, 'ok') : text(503, 'stopping');
    },
  },
  '/': {
    methods: ['GET', 'HEAD'],
    async handle(h, query) {
      return h.index(query);
    },
  },
  '/-/reload': {
    methods: ['POST', 'PUT'],
    refuse(req, limits) {
      if (!limits.reload) return text(403, 'reload over HTTP is off (global.web.reload: false); send SIGHUP instead');
      if (fromBrowser(req)) return text(403, 'reload refuses a request from a browser (Origin or Sec-Fetch-Site header); use curl or SIGHUP');
      return null;
    },
    async handle(h) {
      const r = await h.reload();
      return text(r.ok ? 200 : 500, r.message);
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
