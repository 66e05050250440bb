/** Badges `/badge/{name}/{kind}.svg` (src/web/badge.ts): shields-style flat SVG, escaped, sized from a width table. */
import { describe, expect, it } from 'vitest';
import { badgeSvg, badgeText, textWidth } from '../../src/web/badge.js';
import { BADGE_KINDS, renderBadge } from '../../src/web/index.js';
import { healthy, rcptFailing, source, target, xmlProblem } from './fixtures.js';

const texts = (svg: string): string[] => [...svg.matchAll(/<text x="[\d.]+" y="140"[^>]*>([^<]*)<\/text>/g)].map((m) => m[1]!);
const fill = (svg: string): string => /<rect x="\d+" width="\d+" height="20" fill="(#[0-9a-f]+)"\/>/.exec(svg)![1]!;

describe('badges', () => {
  it('status: the name and ok / failing / pending, green / red / grey', () => {
    const src = source([healthy('ok1'), rcptFailing('bad1'), target('new1', { history: [] })]);
    const status = (n: string): [string[], string] => {
      const svg = renderBadge(src, n, 'status')!.body;
      return [texts(svg), fill(svg)];
    };
    expect(status('ok1')).toEqual([['ok1', 'ok'], '#4c1']);
    expect(status('bad1')).toEqual([['bad1', 'failing'], '#e05d44']);
    expect(status('new1')).toEqual([['new1', 'pending'], '#9f9f9f']);
  });

  it('uptime-24h: the share, green from 99%, red below, grey without data; latency: p95 in ms', () => {
    const b = (over: Parameters<typeof target>[1], kind: (typeof BADGE_KINDS)[number]): string => {
      const t = badgeText(target('a', over), kind);
      return `${t.label}|${t.value}|${t.color}`;
    };
    expect(b({ uptime: { '1h': 1, '24h': 0.99 } }, 'uptime-24h')).toBe('uptime 24h|99.00%|#4c1');
    expect(b({ uptime: { '1h': 1, '24h': 0.98999 } }, 'uptime-24h')).toBe('uptime 24h|98.99%|#e05d44');
    expect(b({ uptime: { '1h': null, '24h': null } }, 'uptime-24h')).toBe('uptime 24h|no data|#9f9f9f');
    expect(b({}, 'latency')).toBe('p95|121 ms|#4c1');
    expect(b({ latencyMs: { p50: null, p95: null } }, 'latency')).toBe('p95|no data|#9f9f9f');
  });

  it('every kind is well-formed SVG, no-cache, and null for an unknown target', () => {
    const src = source([healthy('a')]);
    for (const kind of BADGE_KINDS) {
      const a = renderBadge(src, 'a', kind)!;
      expect(xmlProblem(a.body), kind).toBeNull();
      expect(a.body).toMatch(/^<svg xmlns="http:\/\/www.w3.org\/2000\/svg" width="\d+" height="20"/);
      expect(a.contentType).toBe('image/svg+xml; charset=utf-8');
      expect(a.headers['Cache-Control']).toBe('no-cache');
    }
    expect(renderBadge(src, 'b', 'status')).toBeNull();
  });

  it('a hostile name is escaped text, and the SVG stays well-formed', () => {
    const name = '"><script>alert(1)</script>&x\u0001';
    const svg = renderBadge(source([healthy(name)]), name, 'status')!.body;
    expect(xmlProblem(svg)).toBeNull();
    expect(svg).not.toContain('<script');
    expect(texts(svg)[0]).toBe('&quot;&gt;&lt;script&gt;alert(1)&lt;/script&gt;&amp;x\ufffd');
  });

  it('the box grows with the text: the label part is the text width plus padding', () => {
    expect(textWidth('ok')).toBe(13.2); // o 6.68 + k 6.51
    expect(textWidth('WWW')).toBeGreaterThan(textWidth('iii') * 2);
    const short = badgeSvg('a', 'ok', '#4c1');
    const long = badgeSvg('a much longer label', 'ok', '#4c1');
    const width = (s: string): number => Number(/width="(\d+)"/.exec(s)![1]);
    expect(width(long) - width(short)).toBe(Math.round(textWidth('a much longer label') + 10) - Math.round(textWidth('a') + 10));
  });
});
