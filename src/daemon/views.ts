import type { StatusSource } from '../history/view.js';
import { text, type HttpReply } from '../server/http.js';
import { BADGE_KINDS, renderBadge, renderStatusPage, renderTargetPage, type BadgeKind } from '../web/index.js';
import { apiReply } from './api.js';

const HTML = 'text/html; charset=utf-8';

/** A path segment as sent, decoded; null when it is not valid percent-encoding. */
function decoded(segment: string): string | null {
  try {
    return decodeURIComponent(segment);
  } catch {
    return null;
  }
}

/** `/` : the status page. */
export function indexReply(src: StatusSource, query: URLSearchParams): string {
  return renderStatusPage(src, query);
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
    return svg === null ? null : { status: 200, contentType: 'image/svg+xml; charset=utf-8', body: svg };
  }
  if (path.startsWith('/targets/')) {
    const name = decoded(path.slice('/targets/'.length));
    const html = name === null ? null : renderTargetPage(src, name);
    return html === null ? null : { status: 200, contentType: HTML, body: html };
  }
  return null;
}
