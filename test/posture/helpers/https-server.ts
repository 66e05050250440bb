/**
 * An HTTPS server on 127.0.0.1:0 for the MTA-STS fetch tests, with a certificate from test/helpers/certs.ts. It
 * records each request (path, Host header, the SNI name the client sent) and each connection's end, so a test can
 * wait for the client to hang up. A plain TCP server that accepts and never speaks is here too (a stalled peer).
 */
import { createServer as createHttpsServer, type Server } from 'node:https';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { createServer as createNetServer, type Server as NetServer, type Socket } from 'node:net';
import type { TLSSocket } from 'node:tls';
import type { KeyPair } from '../../helpers/certs.js';

export interface SeenRequest {
  path: string;
  host: string | undefined;
  sni: string | false | null;
}

export interface TestHttps {
  port: number;
  requests: SeenRequest[];
  /** Connections the client (or the server) has closed. */
  closed: number;
  /** Resolves once `closed` reaches `n`. */
  waitClosed(n: number): Promise<void>;
  close(): Promise<void>;
}

type Handler = (req: IncomingMessage, res: ServerResponse) => void;

function listen(server: Server | NetServer): Promise<number> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const addr = server.address();
      resolve(typeof addr === 'object' && addr ? addr.port : 0);
    });
  });
}

export async function startHttps(pair: KeyPair, handler: Handler): Promise<TestHttps> {
  const state = { requests: [] as SeenRequest[], closed: 0 };
  const server = createHttpsServer({ cert: pair.cert, key: pair.key }, (req, res) => {
    const socket = req.socket as TLSSocket;
    state.requests.push({ path: req.url ?? '', host: req.headers.host, sni: socket.servername });
    handler(req, res);
  });
  const sockets = new Set<Socket>();
  const waiters: { n: number; resolve(): void }[] = [];
  server.on('secureConnection', (s: TLSSocket) => {
    sockets.add(s);
    s.on('close', () => {
      sockets.delete(s);
      state.closed += 1;
      for (const w of waiters.filter((x) => state.closed >= x.n)) w.resolve();
    });
  });
  server.on('tlsClientError', () => undefined);
  const port = await listen(server);
  return {
    port,
    get requests() {
      return state.requests;
    },
    get closed() {
      return state.closed;
    },
    waitClosed: (n) => (state.closed >= n ? Promise.resolve() : new Promise((resolve) => waiters.push({ n, resolve }))),
    close: () =>
      new Promise((resolve) => {
        for (const s of sockets) s.destroy();
        server.close(() => resolve());
      }),
  };
}

/**
 * A TCP server that accepts and never sends a byte (no TLS handshake); `accepted` counts connections, `waitClosed(n)`
 * resolves once the peer has closed `n` of them.
 */
export async function startSilent(): Promise<{ port: number; accepted(): number; waitClosed(n: number): Promise<void>; close(): Promise<void> }> {
  const sockets = new Set<Socket>();
  let accepted = 0;
  let closed = 0;
  const waiters: { n: number; resolve(): void }[] = [];
  const server = createNetServer((s) => {
    accepted += 1;
    sockets.add(s);
    s.on('error', () => undefined);
    s.resume(); // read (and drop) what comes, so the peer's FIN is seen
    s.on('close', () => {
      sockets.delete(s);
      closed += 1;
      for (const w of waiters.filter((x) => closed >= x.n)) w.resolve();
    });
  });
  const port = await listen(server);
  return {
    port,
    accepted: () => accepted,
    waitClosed: (n) => (closed >= n ? Promise.resolve() : new Promise((resolve) => waiters.push({ n, resolve }))),
    close: () =>
      new Promise((resolve) => {
        for (const s of sockets) s.destroy();
        server.close(() => resolve());
      }),
  };
}
