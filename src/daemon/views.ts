import type { StatusSource } from '../history/view.js';
import { text, type HttpReply } from '../server/http.js';
import { BADGE_KINDS, renderBadge, renderStatusPage, renderTargetPage, type BadgeKind, type WebAnswer } from '../web/index.js';
import { apiReply } from './api.js';

/** A path segment as sent, decoded; null when it is not valid percent-encoding. */
function decoded(segment: string): string | null {
  try {
    return decodeURIComponent(segment);
  } catch {
    return null;
  }
}

const ok = (a: WebAnswer): HttpReply => ({ status: 200, contentType: a.contentType, body: a.body, headers: a.headers });

/** `/` : the status page (a wall-clock time for its "updated" line; no timer). */
export function indexReply(src: StatusSource, query: URLSearchParams): HttpReply {
  return ok(renderStatusPage(src, query, Date.now()));
}

/**
 * The daemon's views under VIEW_PREFIXES: `/api/v1/...` (JSON), `/badge/{name}/{kind}.svg`, `/targets/{name}`.
 * A target name is one path segment, percent-encoded (`encodeURIComponent`), so a name may hold any character.
 */
export async function viewReply(src: StatusSource, path: string, query: URLSearchParams): Promise<HttpReply | null> {
  if (path.startsWith('/api/v1/')) return apiReply(src, path.slice('/api/v1/'.length), query);
  if (path.startsWith('/badge/')) {
    const m = /^([^/]+)\/([a-z0-9-]+)\.svg$/.exec(path.slice('/badge/'.length));
    const name = m ? decoded(m[1]!) : null;
    if (!m || name === null) return null;
    if (!(BADGE_KINDS as readonly string[]).includes(m[2]!)) {
      return text(404, `no badge "${m[2]}" (badges: ${BADGE_KINDS.map((k) => `${k}.svg`).join(', ')})`);
    }
    const svg = renderBadge(src, name, m[2] as BadgeKind);
    return svg === null ? null : ok(svg);
  }
  if (path.startsWith('/targets/')) {
    const name = decoded(path.slice('/targets/'.length));
    const page = name === null ? null : renderTargetPage(src, name, Date.now());
    return page === null ? null : ok(page);
  }
  return null;
}
