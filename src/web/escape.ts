/**
 * Escaping for every context the pages and badges put text in. All text from a server (banner, replies, the
 * transcript), a config (names, labels, URLs) or a request goes through one of these; nothing is trusted.
 */

const ENTITIES: Record<string, string> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' };

/**
 * The five markup characters, control characters XML does not allow, and lone surrogates (both become U+FFFD).
 */
const UNSAFE = /[&<>"']|[\u0000-\u0008\u000b\u000c\u000e-\u001f\u007f\ufffe\uffff]|[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/g;

/**
 * Text for HTML element content, a double-quoted HTML attribute, and SVG/XML text and attributes: `&<>"'` as
 * character references, characters no XML document may hold replaced, so the same string is safe in all of them.
 */
export function esc(text: string): string {
  return MAYBE_UNSAFE.test(text) ? text.replace(UNSAFE, (c) => ENTITIES[c] ?? '\ufffd') : text;
}

/** A quick first look for anything UNSAFE might replace (most text has none, and the page has a lot of text). */
const MAYBE_UNSAFE = /[&<>"'\u0000-\u001f\u007f\ud800-\udfff\ufffe\uffff]/;

/** Lone surrogates (which no URL can carry) as U+FFFD. */
const wellFormed = (s: string): string => s.replace(/[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/g, '\ufffd');

/** The link to a target's page: the name as one percent-encoded path segment (so `/`, `%`, `?` stay in it). */
export function targetHref(name: string): string {
  return esc(`/targets/${encodeURIComponent(wellFormed(name))}`);
}

/** The URL of one of a target's badges. */
export function badgeHref(name: string, kind: string): string {
  return esc(`/badge/${encodeURIComponent(wellFormed(name))}/${kind}.svg`);
}
