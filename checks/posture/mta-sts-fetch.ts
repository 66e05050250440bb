/**
 * The MTA-STS policy fetch (RFC 8461 3.3): `GET https://mta-sts.DOMAIN/.well-known/mta-sts.txt` with undici, on an
 * Agent of its own (the global dispatcher is never touched, no proxy from the environment).
 *
 * - The certificate must be WebPKI-valid for `mta-sts.DOMAIN`: Node's bundled roots plus the `ca` anchors given
 *   (`--ca`), hostname checked; a certificate problem comes back as `webpki`.
 * - No redirect is followed (undici's `request` follows none): the status and `Location` come back for the judge.
 * - The body is read only for a 200, at most `maxBytes`: past it the connection is destroyed (`too-large`).
 * - One deadline over all of it (connect, TLS, headers, body) on the injected Clock.
 * - `connectTo` (curl's `--connect-to HOST:PORT:ADDR:PORT`): a connection meant for HOST:PORT goes to ADDR:PORT,
 *   while SNI, the certificate check and the Host header stay `mta-sts.DOMAIN`.
 * Every outcome is data; nothing throws.
 */
import { connect, rootCertificates, type TLSSocket } from 'node:tls';
import { Agent, request, type buildConnector } from 'undici';
import type { Clock } from '../../src/core/clock.js';
import { deadline } from '../../src/core/deadline.js';
import type { ConnectTo } from '../../src/core/posture.js';

export type { ConnectTo };

/** Parses `HOST:PORT:ADDR:PORT` (IPv6 in brackets, each part may be empty as in curl); null when malformed. */
export function parseConnectTo(text: string): ConnectTo | null {
  const m = /^(\[[0-9A-Fa-f:.]*\]|[^:[\]]*):(\d*):(\[[0-9A-Fa-f:.]*\]|[^:[\]]*):(\d*)$/.exec(text);
  if (!m) return null;
  const port = (p: string): number | null | undefined => {
    if (p === '') return null;
    const n = Number(p);
    return n >= 1 && n <= 65535 ? n : undefined;
  };
  const fromPort = port(m[2] as string);
  const toPort = port(m[4] as string);
  if (fromPort === undefined || toPort === undefined) return null;
  const unbracket = (h: string): string => h.replace(/^\[(.*)\]$/, '$1');
  return { host: unbracket(m[1] as string), port: fromPort, toHost: unbracket(m[3] as string), toPort };
}

export interface StsFetchOptions {
  /** The whole fetch: connect, TLS, headers and body. */
  timeoutMs: number;
  /** Most bytes of body read (RFC 8461 3.3 asks senders for at most 64 KiB). */
  maxBytes: number;
  /** Extra trust anchors (PEM), beside Node's bundled roots. */
  ca: readonly string[];
  connectTo: readonly ConnectTo[];
}

/** What the fetch saw: an answer (the body only for a 200), or why there is none. */
export type StsFetch =
  | { kind: 'response'; url: string; status: number; location: string | null; contentType: string | null; body: string | null }
  | { kind: 'too-large'; url: string; maxBytes: number }
  | { kind: 'webpki'; url: string; detail: string }
  | { kind: 'error'; url: string; detail: string };

/** Node's and OpenSSL's certificate verification codes: the certificate, not the network, is the problem. */
const CERT_CODES = new Set([
  'UNABLE_TO_GET_ISSUER_CERT', 'UNABLE_TO_GET_ISSUER_CERT_LOCALLY', 'UNABLE_TO_VERIFY_LEAF_SIGNATURE',
  'UNABLE_TO_DECRYPT_CERT_SIGNATURE', 'UNABLE_TO_DECODE_ISSUER_PUBLIC_KEY', 'DEPTH_ZERO_SELF_SIGNED_CERT',
  'SELF_SIGNED_CERT_IN_CHAIN', 'INVALID_CA', 'PATH_LENGTH_EXCEEDED', 'INVALID_PURPOSE', 'HOSTNAME_MISMATCH',
  'ERR_TLS_CERT_ALTNAME_INVALID', 'ERR_TLS_CERT_ALTNAME_FORMAT',
]);

function isCertError(code: string): boolean {
  return CERT_CODES.has(code) || code.startsWith('CERT_');
}

/**
 * The Agent's connector: a TLS connection of our own (so the fetch can destroy one still connecting at its
 * deadline: undici does not hand it over before the handshake), with `connectTo` applied. SNI and the name the
 * certificate is checked against stay the URL's host.
 */
function stsConnector(opts: StsFetchOptions, sockets: Set<TLSSocket>): buildConnector.connector {
  const ca = [...rootCertificates, ...opts.ca];
  return (o, cb) => {
    const port = Number(o.port || 443);
    const rule = opts.connectTo.find(
      (r) => (r.host === '' || r.host.toLowerCase() === o.hostname.toLowerCase()) && (r.port === null || r.port === port),
    );
    const socket = connect({
      host: rule?.toHost || o.hostname,
      port: rule?.toPort ?? port,
      servername: o.servername || o.hostname,
      ca,
      rejectUnauthorized: true,
      ALPNProtocols: ['http/1.1'],
    });
    sockets.add(socket);
    socket.once('close', () => sockets.delete(socket));
    let answered = false;
    socket.once('secureConnect', () => {
      if (answered) return;
      answered = true;
      socket.setNoDelay(true);
      cb(null, socket);
    });
    socket.on('error', (e) => {
      if (answered) return;
      answered = true;
      cb(e, null);
    });
  };
}

/** Fetches the policy of `domain`; see the file comment. */
export async function fetchStsPolicy(domain: string, opts: StsFetchOptions, clock: Clock, signal?: AbortSignal): Promise<StsFetch> {
  const url = `https://mta-sts.${domain}/.well-known/mta-sts.txt`;
  const sockets = new Set<TLSSocket>();
  const agent = new Agent({
    connect: stsConnector(opts, sockets),
    headersTimeout: opts.timeoutMs,
    bodyTimeout: opts.timeoutMs,
    connections: 1,
    pipelining: 0,
  });
  const limit = deadline(opts.timeoutMs, [signal], clock);
  // undici notices an abort during connect only when the connection is made: the wait ends here at the deadline,
  // and the sockets still open are destroyed below.
  const aborted = new Promise<never>((_resolve, reject) => {
    const stop = (): void => reject(new Error('aborted'));
    if (limit.signal.aborted) stop();
    else limit.signal.addEventListener('abort', stop, { once: true });
  });
  try {
    return await Promise.race([exchange(url, agent, limit.signal, opts.maxBytes), aborted]);
  } catch (e) {
    if (limit.signal.aborted && !signal?.aborted) {
      return { kind: 'error', url, detail: `no policy within ${opts.timeoutMs} ms` };
    }
    return classify(url, e);
  } finally {
    limit.dispose();
    agent.destroy().catch(() => undefined);
    for (const socket of sockets) socket.destroy();
  }
}

async function exchange(url: string, agent: Agent, signal: AbortSignal, maxBytes: number): Promise<StsFetch> {
  const res = await request(url, {
    dispatcher: agent,
    signal,
    headers: { accept: 'text/plain', 'user-agent': 'smtp-probe (MTA-STS policy check)' },
  });
  const header = (n: string): string | null => {
    const v = res.headers[n];
    return v === undefined ? null : Array.isArray(v) ? v.join(', ') : v;
  };
  // Destroying the body makes it emit an AbortError: nobody waits for it, so it is swallowed here.
  const drop = (): void => void res.body.on('error', () => undefined).destroy();
  const base = { url, status: res.statusCode, location: header('location'), contentType: header('content-type') };
  if (res.statusCode !== 200) {
    drop();
    return { kind: 'response', ...base, body: null };
  }
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of res.body as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > maxBytes) {
      drop();
      return { kind: 'too-large', url, maxBytes };
    }
    chunks.push(chunk);
  }
  return { kind: 'response', ...base, body: Buffer.concat(chunks).toString('utf8') };
}

function classify(url: string, e: unknown): StsFetch {
  const err = e as { code?: unknown; message?: unknown; cause?: { code?: unknown; message?: unknown } };
  const code = typeof err.code === 'string' ? err.code : typeof err.cause?.code === 'string' ? err.cause.code : '';
  const message = String(err.message ?? err.cause?.message ?? e).replace(/[\r\n]+/g, ' ').slice(0, 200);
  if (isCertError(code)) return { kind: 'webpki', url, detail: `${code}: ${message}` };
  return { kind: 'error', url, detail: code ? `${code}: ${message}` : message };
}
