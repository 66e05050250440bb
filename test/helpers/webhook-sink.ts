/**
 * An in-process HTTP server on 127.0.0.1, port 0, that records every request (method, path, headers, body) and
 * answers as scripted: per request from a queue, else by a default. For receiver tests (docs/receivers.md).
 *
 *   const sink = await startWebhookSink();            // answers 200 "ok"
 *   sink.script(respond(503, { retryAfter: '7' }), stall(), closeSocket());
 *   sink.rateLimit(2, '1');                            // the first 2 requests get 429 with Retry-After: 1
 *
 * `close()` destroys every open connection, so a stalled request never holds a test up.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { track, untrack } from './cleanup.js';

export type SinkAction =
  /** Answer with this status. `body` as given, or `bodyBytes` bytes of filler, or an endless body. */
  | { status: number; headers?: Record<string, string>; body?: string; bodyBytes?: number; endless?: boolean }
  /** Never answer (the request stays open until the client gives up or the sink closes). */
  | { stall: true }
  /** Wait, then do the action. */
  | { delayMs: number; then: SinkAction }
  /** Destroy the socket without answering. */
  | { closeSocket: true };

export interface SinkRequest {
  method: string;
  /** Path and query, as sent. */
  path: string;
  /** Lower-cased names, as node:http gives them. */
  headers: http.IncomingHttpHeaders;
  body: string;
  /** Arrival time (Date.now()). */
  at: number;
}

export const respond = (status: number, o: { retryAfter?: string; body?: string; headers?: Record<string, string> } = {}): SinkAction => ({
  status,
  body: o.body,
  headers: { ...o.headers, ...(o.retryAfter !== undefined ? { 'Retry-After': o.retryAfter } : {}) },
});
export const stall = (): SinkAction => ({ stall: true });
export const delay = (delayMs: number, then: SinkAction): SinkAction => ({ delayMs, then });
export const closeSocket = (): SinkAction => ({ closeSocket: true });

export class WebhookSink {
  readonly requests: SinkRequest[] = [];
  /** Bytes of response body written (to see that a client stopped reading an endless body). */
  bytesWritten = 0;
  private readonly queue: SinkAction[] = [];
  private fallback: SinkAction = { status: 200, body: 'ok' };
  private limited = 0;
  private limitedRetryAfter: string | undefined;
  private readonly waiters: { n: number; resolve: () => void }[] = [];
  private readonly timers = new Set<NodeJS.Timeout>();

  constructor(private readonly server: http.Server) {
    server.on('request', (req, res) => this.onRequest(req, res));
  }

  get port(): number {
    return (this.server.address() as AddressInfo).port;
  }

  /** `http://127.0.0.1:<port>` plus `path`. */
  url(path = '/'): string {
    return `http://127.0.0.1:${this.port}${path}`;
  }

  /** Answer the next requests with these actions, in order; then the default. */
  script(...actions: SinkAction[]): this {
    this.queue.push(...actions);
    return this;
  }

  /** The answer when the script is empty (initially 200 "ok"). */
  setDefault(action: SinkAction): this {
    this.fallback = action;
    return this;
  }

  /** 429 (with `Retry-After` if given) for the next `k` requests, before any scripted action. */
  rateLimit(k: number, retryAfter?: string): this {
    this.limited = k;
    this.limitedRetryAfter = retryAfter;
    return this;
  }

  /** Resolves once `n` requests have arrived in all. */
  waitForRequests(n: number): Promise<void> {
    if (this.requests.length >= n) return Promise.resolve();
    return new Promise((resolve) => this.waiters.push({ n, resolve }));
  }

  async close(): Promise<void> {
    untrack(this);
    for (const t of this.timers) clearTimeout(t);
    this.timers.clear();
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  private next(): SinkAction {
    if (this.limited > 0) {
      this.limited--;
      return respond(429, this.limitedRetryAfter !== undefined ? { retryAfter: this.limitedRetryAfter } : {});
    }
    return this.queue.shift() ?? this.fallback;
  }

  private onRequest(req: http.IncomingMessage, res: http.ServerResponse): void {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      this.requests.push({
        method: req.method ?? '',
        path: req.url ?? '',
        headers: req.headers,
        body: Buffer.concat(chunks).toString('utf8'),
        at: Date.now(),
      });
      for (const w of [...this.waiters]) {
        if (this.requests.length >= w.n) {
          this.waiters.splice(this.waiters.indexOf(w), 1);
          w.resolve();
        }
      }
      this.act(this.next(), res);
    });
  }

  private act(a: SinkAction, res: http.ServerResponse): void {
    if ('stall' in a) return;
    if ('closeSocket' in a) {
      res.socket?.destroy();
      return;
    }
    if ('delayMs' in a) {
      const t = setTimeout(() => {
        this.timers.delete(t);
        if (!res.destroyed) this.act(a.then, res);
      }, a.delayMs);
      this.timers.add(t);
      return;
    }
    res.writeHead(a.status, a.headers);
    if (a.endless) {
      this.pump(res);
      return;
    }
    const body = a.bodyBytes !== undefined ? Buffer.alloc(a.bodyBytes, 'x') : Buffer.from(a.body ?? '');
    this.bytesWritten += body.length;
    res.end(body);
  }

  /** Write 64 KiB chunks for as long as the client reads. */
  private pump(res: http.ServerResponse): void {
    const chunk = Buffer.alloc(64 * 1024, 'x');
    const write = (): void => {
      while (!res.destroyed) {
        this.bytesWritten += chunk.length;
        if (!res.write(chunk)) {
          res.once('drain', write);
          return;
        }
      }
    };
    res.on('error', () => undefined);
    write();
  }
}

export async function startWebhookSink(): Promise<WebhookSink> {
  const server = http.createServer();
  // A stalled request must not be cut by node's own timeouts: the client's timeout is what is under test.
  server.requestTimeout = 0;
  server.headersTimeout = 0;
  server.keepAliveTimeout = 1000;
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  return track(new WebhookSink(server));
}
