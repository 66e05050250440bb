/** The status page at `/` (src/web/status-page.ts), rendered from hand-made StatusSources. */
import { describe, expect, it } from 'vitest';
import type { CheckResult, Failure } from '../../src/core/result.js';
import { renderStatusPage } from '../../src/web/index.js';
import { refreshMs, statusPage } from '../../src/web/status-page.js';
import { fullSuccess } from '../metrics/fixtures.js';
import { healthy, rcptFailing, runs, source, target } from './fixtures.js';

const NOW = Date.UTC(2026, 11, 5, 5, 10, 0);
const page = (src = source([]), query = ''): string => statusPage(src, new URLSearchParams(query), { nonce: 'N0nce', now: NOW });
/** The `<tr class="t ...">` row of each target, by name. */
function rows(html: string): Map<string, string> {
  const out = new Map<string, string>();
  for (const m of html.matchAll(/<tr class="t [^"]*">[\s\S]*?<\/tr>/g)) out.set(/class="tn"[^>]*>([^<]*)</.exec(m[0])![1]!, m[0]);
  return out;
}
const cells = (row: string): string[] => [...row.matchAll(/<i( class="f")? title="([^"]*)"><\/i>/g)].map((m) => `${m[1] ? 'F' : 'ok'} ${m[2]}`);

describe('the targets table', () => {
  it('one history cell per kept run, oldest first, the failed ones marked, each with its time, duration and failure', () => {
    const html = page(source([rcptFailing('mx1'), target('mx2', { history: runs(100) }), target('new', { history: [] })]));
    const r = rows(html);
    expect(cells(r.get('mx1')!)).toEqual([
      'ok Dec 05 05:00:00, 100 ms',
      'ok Dec 05 05:01:00, 101 ms',
      'ok Dec 05 05:02:00, 102 ms',
      'F Dec 05 05:03:00, 103 ms: rcpt (reply): 550 5.1.1 &lt;nobody@example.test&gt;: User unknown',
      'F Dec 05 05:04:00, 104 ms: rcpt (reply): 550 5.1.1 &lt;nobody@example.test&gt;: User unknown',
    ]);
    expect(cells(r.get('mx2')!)).toHaveLength(100);
    expect(cells(r.get('new')!)).toEqual([]);
    expect(r.get('new')).toContain('<span class="st pending">pending</span>');
  });

  it('status, since when failing, uptime 24 h, p95, certificate days, firing alerts, a link to the target page', () => {
    const html = page(source([rcptFailing('mx1', { firingAlerts: ['smtp-down', 'slow (mx2.example.test)'], certDaysLeft: 5 }), healthy('ok1')]));
    const failing = rows(html).get('mx1')!;
    expect(failing).toContain('<span class="st failing">failing</span><div class="mut">since Dec 05 05:03:00, 2 runs</div>');
    expect(failing).toContain('<td class="num" data-l="Uptime 24 h">99.50%</td>');
    expect(failing).toContain('<td class="num" data-l="p95">121 ms</td>');
    expect(failing).toContain('<span class="bad">5 d</span>');
    expect(failing).toContain('<span class="al">smtp-down</span><span class="al">slow (mx2.example.test)</span>');
    expect(failing).toContain('<a class="tn" href="/targets/mx1">mx1</a>');
    const ok = rows(html).get('ok1')!;
    expect(ok).toContain('<span class="st ok">ok</span></td>');
    expect(ok).not.toContain('class="why"');
    expect(ok).toContain('<span>67 d</span>');
  });

  it('a summary line counts ok, failing and pending over every target, also when filtered', () => {
    const src = source([rcptFailing('a'), healthy('b'), healthy('c'), target('d', { history: [] })]);
    for (const q of ['', 'failing=1']) {
      expect(page(src, q)).toContain('<b class="ok">2 ok</b><b class="failing">1 failing</b><b class="pending">1 pending</b>');
    }
    expect(page(src)).toContain('4 targets · updated Dec 05 05:10:00');
    expect(page(src)).toMatch(/<title>1 failing · smtp-probe<\/title>/);
  });

  it('?failing=1 shows the failing targets only, with a link back to all; without it a link to the filter', () => {
    const src = source([rcptFailing('a'), healthy('b')]);
    expect([...rows(page(src, 'failing=1')).keys()]).toEqual(['a']);
    expect(page(src, 'failing=1')).toContain('<a href="/" data-filter="0">Show all</a>');
    expect(page(src, 'failing=1')).toContain('<main id="m" class="only-failing"');
    expect([...rows(page(src)).keys()]).toEqual(['a', 'b']);
    expect(page(src)).toContain('<a href="/?failing=1" data-filter="1">Show only failing</a>');
    expect(page(source([healthy('b')]), 'failing=1')).toContain('No target is failing.');
    expect(page(source([]))).toContain('No target is configured.');
  });

  it('refreshes itself: every 10 s with the script, every 30 s without; a page of many targets less often', () => {
    const html = page(source([healthy('a')]));
    expect(html).toContain('data-refresh="10000"');
    expect(html).toContain('<noscript><meta http-equiv="refresh" content="30"></noscript>');
    expect([1, 200, 201, 500, 5000].map(refreshMs)).toEqual([10_000, 10_000, 20_000, 30_000, 60_000]);
  });

  it('the recent alert events at the bottom, newest first, with receiver and detail', () => {
    const html = page(source([healthy('a')], {
      firing: [{ rule: 'down', target: 'a', since: '2026-12-05T05:03:00.000Z', severity: 'page', summary: null }],
      events: [
        { at: '2026-12-05T05:03:00.000Z', event: 'fired', rule: 'down', target: 'a', receiver: null, detail: null },
        { at: '2026-12-05T05:03:01.000Z', event: 'delivery_failed', rule: 'down', target: 'a', receiver: 'ops-hook', detail: 'HTTP 502' },
      ],
    }));
    expect(html).toContain('1 alert firing');
    const ev = html.slice(html.indexOf('Recent alert events'));
    expect(ev.indexOf('delivery_failed')).toBeLessThan(ev.indexOf('>fired<'));
    expect(ev).toContain('<td>ops-hook</td><td>HTTP 502</td>');
    expect(page(source([healthy('a')]))).toContain('<h2>Recent alert events</h2><p class="mut">None yet.</p>');
  });
});

/** The failure text of a failing target's row (the old index page's failure column, each thing said once). */
function failureCell(f: Failure, over: Partial<CheckResult> = {}): string {
  const r: CheckResult = { ...fullSuccess('mx1'), ok: false, failure: f, ...over };
  const html = page(source([target('mx1', { status: 'failing', history: [], lastResult: r, lastFailure: r })]));
  return /<div class="why">([^<]*)<\/div>/.exec(html)![1]!;
}

describe('the failure text', () => {
  it('a refused connection: "connect: connection refused", not "connect: connect - ..."', () => {
    expect(failureCell({ phase: 'connect', reason: 'connect', code: null, enhancedCode: null, message: 'connection refused' })).toBe('connect: connection refused');
  });

  it('a refused AUTH: the reply code once, the reason in brackets', () => {
    const cell = failureCell({ phase: 'auth', reason: 'reply', code: 535, enhancedCode: '5.7.8', message: '535 5.7.8 Error: authentication failed' });
    expect(cell).toBe('auth (reply): 535 5.7.8 Error: authentication failed');
  });

  it('a failure without the code in its message gets it in front', () => {
    const cell = failureCell({ phase: 'rcpt', reason: 'expectation', code: 250, enhancedCode: '2.1.5', message: 'accepted, but 5xx was expected' });
    expect(cell).toBe('rcpt (expectation): 250 2.1.5 accepted, but 5xx was expected');
  });

  it('an mx:// target names the host that failed', () => {
    const f: Failure = { phase: 'banner', reason: 'timeout', code: null, enhancedCode: null, message: 'no banner within 2s' };
    expect(failureCell(f, { mx: { host: 'mx2.example.test', preference: 20, address: '192.0.2.2' } })).toBe('mx2.example.test: banner (timeout): no banner within 2s');
  });

  it('without a kept record, the last run summary says why', () => {
    const html = page(source([target('x', { history: runs(2, (i) => (i === 1 ? 'dns: no such host' : null)) })]));
    expect(html).toContain('<div class="why">dns: no such host</div>');
  });
});

describe('escaping on the status page', () => {
  const HOSTILE_LABEL = '"><img src=x onerror=alert(1)>';
  const src = source([
    rcptFailing('evil/na%me<script>', {
      labels: { team: HOSTILE_LABEL },
      url: 'smtp://x"><script>alert(2)</script>',
      firingAlerts: ['<b>rule</b>'],
      history: runs(1, () => '<script>alert(3)</script> & "quoted"'),
      lastResult: null,
    }),
  ], { firing: [], events: [{ at: '2026-12-05T05:03:00.000Z', event: 'fired', rule: '<i>r</i>', target: 'evil/na%me<script>', receiver: '"><svg onload=x>', detail: '</td><script>' }] });
  const html = page(src);

  it('no markup from a name, label, URL, failure text, rule or receiver survives: only the page\'s own tags', () => {
    expect(html).not.toMatch(/<(img|svg|b>|i>)/);
    expect(html.match(/<script/g)).toHaveLength(1); // the page's own, nonce'd
    expect(html).toContain('<script nonce="N0nce">');
    expect(html).toContain('team=&quot;&gt;&lt;img src=x onerror=alert(1)&gt;');
    expect(html).toContain('title="Dec 05 05:00:00, 100 ms: &lt;script&gt;alert(3)&lt;/script&gt; &amp; &quot;quoted&quot;"');
  });

  it('a name with / and % links as one percent-encoded path segment', () => {
    expect(html).toContain('<a class="tn" href="/targets/evil%2Fna%25me%3Cscript%3E">evil/na%me&lt;script&gt;</a>');
  });

  it('control characters a config or server might carry do not reach the page', () => {
    const weird = page(source([target('a\u0001b\ud800', { labels: {} })]));
    expect(weird).toContain('>a\ufffdb\ufffd</a>');
  });
});

describe('renderStatusPage', () => {
  it('a fresh nonce per answer, the same in the CSP header, the style and the script', () => {
    const a = renderStatusPage(source([healthy('a')]), new URLSearchParams(), NOW);
    const b = renderStatusPage(source([healthy('a')]), new URLSearchParams(), NOW);
    const nonce = /script-src 'nonce-([^']+)'/.exec(a.headers['Content-Security-Policy']!)![1]!;
    expect(nonce).toMatch(/^[A-Za-z0-9+/]{22}==$/);
    expect(a.body).toContain(`<style nonce="${nonce}">`);
    expect(a.body).toContain(`<script nonce="${nonce}">`);
    expect(b.headers['Content-Security-Policy']).not.toContain(nonce);
    expect(a.headers['Content-Security-Policy']).toMatch(/^default-src 'none'; /);
    expect(a.headers['Referrer-Policy']).toBe('no-referrer');
    // No external URL to load: every src and href is a path of the daemon, or the favicon's data: URL.
    expect([...a.body.matchAll(/(?:src|href)="([^"]*)"/g)].map((m) => m[1]).filter((u) => !/^(\/|data:image\/svg\+xml,)/.test(u!))).toEqual([]);
  });
});
