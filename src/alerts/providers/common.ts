/**
 * Small pieces the receiver modules share: URL handling (credentials out of the URL, a loggable description),
 * batching, header merging and the wording of a failure. Pure functions only.
 */
import { z } from 'zod';
import type { Notification } from '../types.js';

export const USER_AGENT = 'smtp-probe';

/** An absolute http(s) URL. */
export const httpUrl = z.string().refine((s) => {
  try {
    return ['http:', 'https:'].includes(new URL(s).protocol);
  } catch {
    return false;
  }
}, 'must be an http:// or https:// URL');

/** Header names are tokens; values are one line (a CR/LF would split the request). */
export const headerMap = z.record(
  z.string().regex(/^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/, 'must be a header field name'),
  z.string().regex(/^[^\r\n\0]*$/, 'a header value must be one line'),
);

export interface Endpoint {
  /** The URL to request: userinfo removed (it travels as an Authorization header instead). */
  url: string;
  /** Basic credentials taken from the URL's userinfo, if it had any. */
  authorization: string | null;
  /** Scheme, host and port only: safe whatever the path or query carry. */
  origin: string;
  /** Origin and path, no userinfo, query or fragment: for a receiver whose path is known to hold no secret. */
  originAndPath: string;
  /**
   * What logs and errors show: the origin, `/…` for the configured path (Slack, PagerDuty-style and many webhook
   * URLs carry a token in it), then the path the receiver appended itself (`http://am:9093/…/api/v2/alerts`).
   */
  shown: string;
}

/** Split a configured URL into what is requested and what may be shown. `path` is appended to the URL's path. */
export function endpoint(raw: string, path = ''): Endpoint {
  const u = new URL(raw);
  let authorization: string | null = null;
  if (u.username !== '' || u.password !== '') {
    const user = decodeURIComponent(u.username);
    const pass = decodeURIComponent(u.password);
    authorization = `Basic ${Buffer.from(`${user}:${pass}`).toString('base64')}`;
    u.username = '';
    u.password = '';
  }
  u.hash = '';
  const configured = u.pathname.replace(/\/+$/, '');
  if (path !== '') u.pathname = configured + path;
  const shown = `${u.origin}${configured === '' ? '' : '/…'}${path}`;
  return { url: u.toString(), authorization, origin: u.origin, originAndPath: u.origin + u.pathname, shown: shown === u.origin ? `${shown}/` : shown };
}

/** Split into runs of at most `size`. */
export function chunk<T>(items: readonly T[], size: number): T[][] {
  const out: T[][] = [];
  for (let i = 0; i < items.length; i += Math.max(1, size)) out.push(items.slice(i, i + Math.max(1, size)));
  return out;
}

/**
 * Merge header maps, later ones winning; names compare case-insensitively and the later spelling is kept, so a
 * configured `content-type` replaces our `Content-Type` instead of sending both.
 */
export function mergeHeaders(...maps: (Readonly<Record<string, string>> | undefined)[]): Record<string, string> {
  const byLower = new Map<string, [string, string]>();
  for (const m of maps) for (const [k, v] of Object.entries(m ?? {})) byLower.set(k.toLowerCase(), [k, v]);
  return Object.fromEntries(byLower.values());
}

/** "auth reply 535" / "connect timeout": phase, reason and code in a few words; null when nothing failed. */
export function failureWords(n: Notification): string | null {
  const f = n.failure;
  if (!f) return null;
  return [f.phase, f.reason, f.code === null ? null : String(f.code)].filter((x) => x !== null).join(' ');
}

/** The failure in full for a human: the words plus the server's message when the result record has one. */
export function failureDetail(n: Notification): string | null {
  const words = failureWords(n);
  if (words === null) return null;
  const message = n.result?.failure?.message;
  return message ? `${words}: ${message}` : words;
}

/** Cut to `max` characters (code points), marking the cut with an ellipsis. */
export function truncate(s: string, max: number): string {
  const chars = [...s];
  return chars.length <= max ? s : `${chars.slice(0, max - 1).join('')}…`;
}

/** `critical` when the target is down (or the probe is cut off); `warning` for degradations. */
export function severityOf(n: Pick<Notification, 'alertKind'>): 'critical' | 'warning' {
  return n.alertKind === 'down' || n.alertKind === 'isolated' ? 'critical' : 'warning';
}

export function acceptsOnly(kinds: readonly Notification['kind'][]): (kind: Notification['kind']) => boolean {
  const set = new Set(kinds);
  return (kind) => set.has(kind);
}
