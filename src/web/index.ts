/**
 * The daemon's pages and badges, drawn from a StatusSource: server-rendered HTML with a little plain JavaScript,
 * no external URL, everything from a server, a config or a URL escaped.
 */
import type { StatusSource } from '../history/view.js';

export const BADGE_KINDS = ['status', 'uptime-24h', 'latency'] as const;
export type BadgeKind = (typeof BADGE_KINDS)[number];

/** `/`: every target (`?failing=1`: the failing ones). */
export function renderStatusPage(src: StatusSource, query: URLSearchParams): string {
  void query;
  const esc = (s: string): string => s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
  const rows = src.targets().map((t) => `<tr><td>${esc(t.name)}</td><td>${t.status}</td></tr>`).join('');
  return `<!doctype html><title>smtp-probe</title><table>${rows}</table>`; // TODO(web): the status page
}

/** `/targets/{name}`; null when there is no such target. */
export function renderTargetPage(src: StatusSource, name: string): string | null {
  return src.target(name) ? '<!doctype html><title>smtp-probe</title>' : null; // TODO(web)
}

/** `/badge/{name}/{kind}.svg`; null when there is no such target. */
export function renderBadge(src: StatusSource, name: string, kind: BadgeKind): string | null {
  void kind;
  return src.target(name) ? '<svg xmlns="http://www.w3.org/2000/svg"/>' : null; // TODO(web)
}
