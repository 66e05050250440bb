import type { StatusSource } from '../history/view.js';
import { text, type HttpReply } from '../server/http.js';
import { BADGE_KINDS, renderBadge, renderStatusPage, renderTargetPage, type BadgeKind, type WebAnswer } from '../web/index.js';
import { apiReply } from './api.js';
import { decodedSegment } from './segment.js';

const ok = (a: WebAnswer): HttpReply => ({ status: 200, contentType: a.contentType, body: a.body, headers: a.headers });

/** `/` : the status page; `now`: the daemon clock's wall time, as the history's figures are counted on. */
export function indexReply(src: StatusSource, query: URLSearchParams, now: number): HttpReply {
  return ok(renderStatusPage(src, query, now));
}

/**
 * The daemon's views under VIEW_PREFIXES: `/api/v1/...` (JSON), `/badge/{name}/{kind}.svg`, `/targets/{name}`.
 * A target name is one path segment, percent-encoded (`encodeURIComponent`), so a name may hold any character.
 */
export async function viewReply(src: StatusSource, path: string, query: URLSearchParams, now: number): Promise<HttpReply | null> {
  if (path.startsWith('/api/v1/')) return apiReply(src, path.slice('/api/v1/'.length), query);
  if (path.startsWith('/badge/')) {
    const m = /^([^/]+)\/([a-z0-9-]+)\.svg$/.exec(path.slice('/badge/'.length));
    const name = m ? decodedSegment(m[1]!) : null;
    if (!m || name === null) return null;
    if (!(BADGE_KINDS as readonly string[]).includes(m[2]!)) {
      return text(404, `no badge "${m[2]}" (badges: ${BADGE_KINDS.map((k) => `${k}.svg`).join(', ')})`);
    }
    const svg = renderBadge(src, name, m[2] as BadgeKind);
    return svg === null ? null : ok(svg);
  }
  if (path.startsWith('/targets/')) {
    const name = decodedSegment(path.slice('/targets/'.length));
    const page = name === null ? null : renderTargetPage(src, name, now);
    return page === null ? null : ok(page);
  }
  return null;
}
