import type { TargetView } from '../history/view.js';
import { esc } from './escape.js';
import { percent } from './format.js';

export const BADGE_KINDS = ['status', 'uptime-24h', 'latency'] as const;
export type BadgeKind = (typeof BADGE_KINDS)[number];

const GREEN = '#4c1';
const RED = '#e05d44';
const GREY = '#9f9f9f';

/**
 * Advance widths of Verdana at 11 px (the badges' font) for printable ASCII, from space to `~`; anything else is
 * taken as 7 px. Approximate: a badge's box is sized from these, its text squeezed to fit with `textLength`.
 */
const WIDTHS = [
  3.87, 4.39, 5.05, 9.17, 6.99, 11.89, 7.92, 2.96, 5.0, 5.0, 6.99, 9.17, 4.0, 4.63, 4.0, 4.93, // space to /
  6.99, 6.99, 6.99, 6.99, 6.99, 6.99, 6.99, 6.99, 6.99, 6.99, 4.93, 4.93, 9.17, 9.17, 9.17, 6.0, // 0 to ?
  10.99, 7.52, 7.55, 7.68, 8.47, 6.95, 6.33, 8.52, 8.27, 4.63, 5.0, 7.65, 6.13, 9.29, 8.23, 8.66, // @ to O
  6.63, 8.66, 7.64, 7.52, 6.78, 8.05, 7.52, 10.88, 7.54, 6.77, 7.54, 5.0, 4.93, 5.0, 9.17, 6.99, // P to _
  6.99, 6.61, 6.83, 5.73, 6.83, 6.55, 3.87, 6.83, 6.96, 3.02, 3.79, 6.51, 3.02, 10.7, 6.96, 6.68, // ` to o
  6.83, 6.83, 4.69, 5.73, 4.33, 6.96, 6.51, 9.0, 6.51, 6.51, 5.77, 6.98, 5.0, 6.98, 9.17, // p to ~
];

/** The approximate width in px of `text` in 11 px Verdana. */
export function textWidth(text: string): number {
  let w = 0;
  for (const ch of text) {
    const c = ch.codePointAt(0)!;
    w += c >= 0x20 && c <= 0x7e ? WIDTHS[c - 0x20]! : 7;
  }
  return Math.round(w * 10) / 10;
}

/** Label and value of a target's badge, and the value's colour. */
export function badgeText(t: TargetView, kind: BadgeKind): { label: string; value: string; color: string } {
  switch (kind) {
    case 'status':
      return { label: t.name, value: t.status, color: t.status === 'ok' ? GREEN : t.status === 'failing' ? RED : GREY };
    case 'uptime-24h': {
      const u = t.uptime['24h'];
      return { label: 'uptime 24h', value: u === null ? 'no data' : percent(u), color: u === null ? GREY : u >= 0.99 ? GREEN : RED };
    }
    case 'latency': {
      const p95 = t.latencyMs.p95;
      const color = p95 === null ? GREY : t.status === 'failing' ? RED : GREEN;
      return { label: 'p95', value: p95 === null ? 'no data' : `${Math.round(p95)} ms`, color };
    }
  }
}

/**
 * A shields.io-style flat badge, `label | value`: grey label, coloured value, 20 px high, widths from the
 * character table. The text is escaped; the whole reads as one `<title>` for screen readers and hover.
 */
export function badgeSvg(label: string, value: string, color: string): string {
  const lw = Math.round(textWidth(label) + 10);
  const vw = Math.round(textWidth(value) + 10);
  const w = lw + vw;
  const l = esc(label);
  const v = esc(value);
  const text = (x: number, s: string, width: number): string =>
    `<text x="${x * 10}" y="150" fill="#010101" fill-opacity=".3" transform="scale(.1)" textLength="${width * 10}">${s}</text>` +
    `<text x="${x * 10}" y="140" transform="scale(.1)" textLength="${width * 10}">${s}</text>`;
  return `<svg xmlns="http://www.w3.org/2000/svg" width="${w}" height="20" role="img" aria-label="${l}: ${v}">` +
    `<title>${l}: ${v}</title>` +
    '<linearGradient id="s" x2="0" y2="100%"><stop offset="0" stop-color="#bbb" stop-opacity=".1"/><stop offset="1" stop-opacity=".1"/></linearGradient>' +
    `<clipPath id="r"><rect width="${w}" height="20" rx="3" fill="#fff"/></clipPath>` +
    `<g clip-path="url(#r)"><rect width="${lw}" height="20" fill="#555"/><rect x="${lw}" width="${vw}" height="20" fill="${color}"/>` +
    `<rect width="${w}" height="20" fill="url(#s)"/></g>` +
    '<g fill="#fff" text-anchor="middle" font-family="Verdana,Geneva,DejaVu Sans,sans-serif" text-rendering="geometricPrecision" font-size="110">' +
    `${text(lw / 2, l, lw - 10)}${text(lw + vw / 2, v, vw - 10)}</g></svg>`;
}
