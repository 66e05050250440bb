/**
 * The daemon's pages and badges, drawn from a StatusSource: server-rendered HTML with a little plain JavaScript,
 * no external URL, everything from a server, a config or a URL escaped. Each answer carries its own headers: the
 * pages a Content-Security-Policy with a fresh nonce for their one style and one script.
 */
import type { StatusSource } from '../history/view.js';
import { badgeSvg, badgeText, BADGE_KINDS, type BadgeKind } from './badge.js';
import { newNonce, pageHeaders } from './layout.js';
import { statusPage } from './status-page.js';
import { targetPage } from './target-page.js';

export { BADGE_KINDS, type BadgeKind };

/** An answer of this room: the view layer turns it into an HTTP reply (status 200). */
export interface WebAnswer {
  contentType: string;
  body: string;
  headers: Record<string, string>;
}

const HTML = 'text/html; charset=utf-8';

/** `/`: every target (`?failing=1`: the failing ones). `now`: wall time of the answer, ms. */
export function renderStatusPage(src: StatusSource, query: URLSearchParams, now: number): WebAnswer {
  const nonce = newNonce();
  return { contentType: HTML, body: statusPage(src, query, { nonce, now }), headers: pageHeaders(nonce) };
}

/** `/targets/{name}`; null when there is no such target. */
export function renderTargetPage(src: StatusSource, name: string, now: number): WebAnswer | null {
  const nonce = newNonce();
  const body = targetPage(src, name, { nonce, now });
  return body === null ? null : { contentType: HTML, body, headers: pageHeaders(nonce) };
}

/** `/badge/{name}/{kind}.svg`; null when there is no such target. Revalidated on every view (`no-cache`). */
export function renderBadge(src: StatusSource, name: string, kind: BadgeKind): WebAnswer | null {
  const t = src.target(name);
  if (!t) return null;
  const { label, value, color } = badgeText(t, kind);
  return {
    contentType: 'image/svg+xml; charset=utf-8',
    body: badgeSvg(label, value, color),
    headers: { 'Cache-Control': 'no-cache', 'Content-Security-Policy': "default-src 'none'", 'Referrer-Policy': 'no-referrer' },
  };
}
