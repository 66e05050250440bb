/**
 * Sends one prepared receiver request and classifies what happened; never throws. The dispatcher is injected
 * (an undici Agent in the daemon, a MockAgent in tests): the global dispatcher is never touched.
 *
 * Classification: 2xx ok; 408, 429, 5xx, network errors and timeouts retryable; any other status not (a 4xx
 * means the request itself is wrong, and a redirect is not followed). `Retry-After` (delta-seconds or an
 * HTTP-date) becomes `retryAfterMs`, capped. Error texts name the request by its `describe` and have every
 * string in `redact` (and the URL) scrubbed, so they may be logged and stored.
 */
import { request } from 'undici';
import { systemClock } from '../core/clock.js';
import type { PreparedRequest, SendOptions, SendOutcome } from './providers/provider.js';

/** Most bytes of a response body read; the rest is discarded with the connection. */
export const MAX_RESPONSE_BYTES = 64 * 1024;
/** Longest `Retry-After` honoured. */
export const MAX_RETRY_AFTER_MS = 60 * 60 * 1000;
/** Most characters of the response body quoted in an error. */
const MAX_QUOTED = 200;

const NETWORK_CODES: Record<string, string> = {
  ECONNREFUSED: 'connection refused',
  ECONNRESET: 'connection reset',
  EPIPE: 'connection closed while sending',
  ETIMEDOUT: 'connection timed out',
  EHOSTUNREACH: 'host unreachable',
  ENETUNREACH: 'network unreachable',
  ENOTFOUND: 'host not found',
  EAI_AGAIN: 'name lookup failed (temporary)',
  UND_ERR_SOCKET: 'connection closed by the server',
  UND_ERR_CLOSED: 'connection closed',
  UND_ERR_CONNECT_TIMEOUT: 'connect timed out',
  UND_ERR_HEADERS_TIMEOUT: 'no answer in time',
  UND_ERR_BODY_TIMEOUT: 'response body timed out',
};

export async function sendRequest(req: PreparedRequest, opts: SendOptions): Promise<SendOutcome> {
  const scrub = scrubber(req);
  const fail = (status: number | null, retryable: boolean, retryAfterMs: number | null, what: string): SendOutcome => ({
    ok: false,
    status,
    retryable,
    retryAfterMs,
    error: `${req.describe}: ${scrub(what)}`,
  });
  if (opts.signal?.aborted) return fail(null, true, null, `not sent: ${abortReason(opts.signal)}`);

  const ac = new AbortController();
  let timedOut = false;
  const timer = (opts.clock ?? systemClock).setTimer(opts.timeoutMs, () => {
    timedOut = true;
    ac.abort(new Error('timeout'));
  });
  const onAbort = (): void => ac.abort(new Error('aborted'));
  opts.signal?.addEventListener('abort', onAbort, { once: true });
  try {
    let res: Awaited<ReturnType<typeof request>>;
    try {
      res = await request(req.url, {
        dispatcher: opts.dispatcher,
        method: req.method,
        headers: req.headers,
        body: req.body,
        signal: ac.signal,
        headersTimeout: opts.timeoutMs,
        bodyTimeout: opts.timeoutMs,
      });
    } catch (e) {
      if (timedOut) return fail(null, true, null, `no answer within ${opts.timeoutMs}ms`);
      if (opts.signal?.aborted) return fail(null, true, null, abortReason(opts.signal));
      return fail(null, true, null, describeError(e));
    }
    // The status is in; a body that fails or times out halfway does not change it.
    const head = await readBounded(res.body, MAX_RESPONSE_BYTES);
    const status = res.statusCode;
    if (status >= 200 && status < 300) return { ok: true, status };
    const retryAfterMs = parseRetryAfter(res.headers['retry-after'], opts.now);
    const retryable = status === 408 || status === 429 || status >= 500;
    const quoted = quote(head);
    const redirect = status >= 300 && status < 400 ? ' (redirects are not followed)' : '';
    return fail(status, retryable, retryAfterMs, `HTTP ${status}${redirect}${quoted ? `: ${quoted}` : ''}`);
  } finally {
    timer.cancel();
    opts.signal?.removeEventListener('abort', onAbort);
  }
}

/** The caller's abort, in its own words when it gave an Error (shutdown, the delivery queue's own deadline). */
function abortReason(signal: AbortSignal): string {
  const r: unknown = signal.reason;
  return r instanceof Error && r.name !== 'AbortError' && r.message ? `aborted (${r.message})` : 'aborted';
}

/** Read at most `limit` bytes, then drop the rest (destroying the stream closes the connection). Never throws. */
async function readBounded(body: AsyncIterable<Buffer | string> & { destroy(err?: Error): unknown }, limit: number): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let size = 0;
  try {
    for await (const c of body) {
      const b = typeof c === 'string' ? Buffer.from(c) : c;
      if (size + b.length >= limit) {
        chunks.push(b.subarray(0, limit - size));
        size = limit;
        break;
      }
      chunks.push(b);
      size += b.length;
    }
  } catch {
    // A reset or a timeout mid-body: keep what arrived.
  } finally {
    body.destroy();
  }
  return Buffer.concat(chunks, size);
}

/** The start of a response body on one line, for the error text. */
function quote(head: Buffer): string {
  const text = head.subarray(0, MAX_QUOTED * 4).toString('utf8').replace(/\s+/g, ' ').trim();
  const chars = [...text];
  return chars.length > MAX_QUOTED ? `${chars.slice(0, MAX_QUOTED).join('')}…` : text;
}

/**
 * `Retry-After` as a delay in ms: delta-seconds or an HTTP-date (relative to `now`), at most
 * MAX_RETRY_AFTER_MS; null when absent or unreadable.
 */
export function parseRetryAfter(value: string | string[] | undefined, now: number): number | null {
  const v = (Array.isArray(value) ? value[0] : value)?.trim();
  if (!v) return null;
  let ms: number;
  if (/^\d+$/.test(v)) ms = Number(v) * 1000;
  else {
    const at = Date.parse(v);
    if (Number.isNaN(at) || !/[a-z]/i.test(v)) return null;
    ms = at - now;
  }
  return Math.min(Math.max(0, ms), MAX_RETRY_AFTER_MS);
}

/** A network error in a few words: a known code's meaning, else the code or name, never the raw URL. */
function describeError(e: unknown): string {
  const err = e as { code?: unknown; name?: unknown; message?: unknown; cause?: unknown };
  const code = typeof err?.code === 'string' ? err.code : undefined;
  const causeCode = typeof (err?.cause as { code?: unknown } | undefined)?.code === 'string' ? (err.cause as { code: string }).code : undefined;
  for (const c of [code, causeCode]) if (c && NETWORK_CODES[c]) return `${NETWORK_CODES[c]} (${c})`;
  const message = typeof err?.message === 'string' ? err.message : String(e);
  return `${code ?? causeCode ?? (typeof err?.name === 'string' ? err.name : 'error')}: ${message}`;
}

/** Path segments at least this long are scrubbed on their own too (a token echoed without the rest of the path). */
const MIN_SECRET_SEGMENT = 8;

/**
 * Replace the URL, its query, credentials and path, and every `redact` string with `***` (`describe` is safe by
 * contract). A path the receiver shows in `describe` (a public API path) is left alone; any other may hold a
 * token (Slack, PagerDuty-style URLs), and a response body or a network error may echo it.
 */
function scrubber(req: PreparedRequest): (s: string) => string {
  const secrets = new Set<string>([req.url, ...(req.redact ?? [])]);
  try {
    const u = new URL(req.url);
    if (u.search.length > 1) secrets.add(u.search.slice(1));
    if (u.username) secrets.add(u.username);
    if (u.password) secrets.add(u.password);
    if (!req.describe.includes(u.pathname)) for (const p of pathSecrets(u.pathname)) secrets.add(p);
  } catch {
    // not a URL: the whole string is already listed
  }
  const list = [...secrets].filter((s) => s.length >= 4).sort((a, b) => b.length - a.length);
  return (s) => list.reduce((acc, secret) => acc.split(secret).join('***'), s);
}

/** A path, decoded too, and its long segments. */
function pathSecrets(pathname: string): string[] {
  let decoded = pathname;
  try {
    decoded = decodeURIComponent(pathname);
  } catch {
    // a malformed escape: the raw path is listed
  }
  const segments = [pathname, decoded].flatMap((p) => p.split('/')).filter((seg) => seg.length >= MIN_SECRET_SEGMENT);
  return [pathname, decoded, ...segments];
}
