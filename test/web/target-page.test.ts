/** The target page `/targets/{name}` (src/web/target-page.ts) and its phase waterfall (src/web/waterfall.ts). */
import { describe, expect, it } from 'vitest';
import type { PostureFinding, PostureSnapshot } from '../../src/core/posture.js';
import type { CheckResult } from '../../src/core/result.js';
import { targetPage } from '../../src/web/target-page.js';
import { placePhases, waterfall } from '../../src/web/waterfall.js';
import { connectTimeout, fullSuccess, rcptFailure } from '../metrics/fixtures.js';
import { healthy, rcptFailing, source, xmlProblem } from './fixtures.js';

const page = (src: ReturnType<typeof source>, name: string): string => targetPage(src, name, { nonce: 'N', now: 0 })!;
/** Each bar group of a waterfall: its phase and class (ok / fail / warn). */
const bars = (svg: string): string[] => [...svg.matchAll(/<g class="ph (\w+)" data-phase="(\w+)">/g)].map((m) => `${m[2]}:${m[1]}`);
const figures = (html: string): string[] => html.match(/<figure class="wf">[\s\S]*?<\/figure>/g) ?? [];

describe('the phase waterfall', () => {
  it('one bar per phase, in order, each starting where the previous one ended; the failing phase marked', () => {
    const r = rcptFailure('t');
    expect(bars(waterfall(r, 'x'))).toEqual(['connect:ok', 'banner:ok', 'ehlo:ok', 'mail:ok', 'rcpt:fail', 'rset:ok', 'quit:ok']);
    const placed = placePhases(r);
    expect(placed.map((p) => Math.round(p.startMs * 10) / 10)).toEqual([0, 0.3, 1.8, 2.7, 3.5, 4.2, 4.5]);
    expect(placed.filter((p) => p.failed).map((p) => p.record.phase)).toEqual(['rcpt']);
    expect(waterfall(r, 'x')).toContain('rcpt ✗</text>');
  });

  it('bars are placed and sized in proportion, with the reply code and milliseconds as labels', () => {
    const svg = waterfall(rcptFailure('t'), 'x');
    const rects = [...svg.matchAll(/<rect class="b" x="([\d.]+)%" y="\d+" width="([\d.]+)%"/g)].map((m) => [Number(m[1]), Number(m[2])] as const);
    expect(rects).toHaveLength(7);
    expect(rects[0]![0]).toBe(24);
    for (let i = 1; i < rects.length; i++) expect(rects[i]![0]).toBeCloseTo(rects[i - 1]![0] + rects[i - 1]![1], 1);
    const end = rects.at(-1)!;
    expect(end[0] + end[1]).toBeCloseTo(24 + 53, 1);
    expect(svg).toContain('>550 0.7 ms</text>');
    expect(svg).toContain('<title>rcpt (550 5.1.1, nobody@example.test): FAILED, 0.7 ms from 3.5 ms</title>');
  });

  it('a run with only one phase (connect timed out) is one full-width bar; a record without phases says so', () => {
    expect(bars(waterfall(connectTimeout('t'), 'x'))).toEqual(['connect:fail']);
    expect(waterfall({ ...connectTimeout('t'), phases: [] }, 'x')).toContain('No phase was recorded.');
  });

  it('is well-formed SVG inside its figure, and escapes what it shows', () => {
    const r: CheckResult = { ...rcptFailure('t'), phases: [{ phase: 'rcpt', ok: false, durationMs: 1, code: 550, recipient: '<script>"x"</script>' }] };
    const fig = waterfall(r, '<caption>');
    expect(xmlProblem(fig)).toBeNull();
    expect(fig).not.toContain('<script');
    expect(fig).toContain('&lt;caption&gt;');
  });
});

describe('the target page', () => {
  it('the failing target: its waterfall with rcpt failed, the transcript with the 550 reply, the phase replies', () => {
    const html = page(source([rcptFailing('mx1')]), 'mx1');
    const figs = figures(html);
    expect(figs).toHaveLength(1); // the last run is the last failure: drawn once
    expect(figs[0]).toContain('Last run (failed)');
    expect(bars(figs[0]!)).toContain('rcpt:fail');
    const pre = /<pre class="tr">([\s\S]*?)<\/pre>/.exec(html)![1]!;
    expect(pre).toContain('<span class="C"><span class="t">   3.6 ms  </span>C: RCPT TO:&lt;nobody@example.test&gt;</span>');
    expect(pre).toContain('<span class="S err"><span class="t">   4.3 ms  </span>S: 550 5.1.1 &lt;nobody@example.test&gt;: User unknown</span>');
    expect(pre).toContain('<span class="S"><span class="t">   3.5 ms  </span>S: 250 2.1.0 Ok</span>');
    expect(pre).toContain('<span class="x"><span class="t">   0.3 ms  </span>* connected to 192.0.2.10:25</span>');
    expect(html).toContain('<p class="why">Failed: rcpt (reply): 550 5.1.1 &lt;nobody@example.test&gt;: User unknown</p>');
    expect(html).toContain('<tr class="bad"><td>rcpt</td><td>failed</td><td class="mono">550 5.1.1</td>');
  });

  it('last run and last failure side by side when they differ; the passing run\'s transcript folded', () => {
    const fail: CheckResult = { ...rcptFailure('a'), startedAt: '2026-12-05T05:01:00.000Z', transcript: [{ t: 1, dir: 'S', line: '554 go away' }] };
    const ok: CheckResult = { ...fullSuccess('a'), startedAt: '2026-12-05T05:04:00.000Z', transcript: [{ t: 1, dir: 'S', line: '220 welcome' }] };
    const html = page(source([healthy('a', { lastResult: ok, lastFailure: fail })]), 'a');
    const figs = figures(html);
    expect(figs.map((f) => /<figcaption>([^<]*)/.exec(f)![1])).toEqual(['Last run ', 'Last failure ']);
    expect(bars(figs[0]!)).toHaveLength(14);
    expect(bars(figs[0]!).every((b) => b.endsWith(':ok'))).toBe(true);
    expect(bars(figs[1]!)).toContain('rcpt:fail');
    expect(html).toContain('<div class="grid"><figure');
    expect(html.indexOf('554 go away')).toBeLessThan(html.indexOf('<details><summary>Transcript of the last run'));
    expect(html).toMatch(/<details><summary>Transcript of the last run[^<]*<\/summary><pre class="tr">.*220 welcome/);
  });

  it('a failing last run beside the last good run; the good run\'s transcript folded after the failure\'s', () => {
    const ok: CheckResult = { ...fullSuccess('a'), startedAt: '2026-12-05T05:01:00.000Z', transcript: [{ t: 1, dir: 'S', line: '250 2.1.5 Ok' }] };
    const fail: CheckResult = { ...rcptFailure('a'), startedAt: '2026-12-05T05:04:00.000Z', transcript: [{ t: 1, dir: 'S', line: '550 5.1.1 gone' }] };
    const html = page(source([rcptFailing('a', { lastResult: fail, lastFailure: fail, lastSuccess: ok })]), 'a');
    const figs = figures(html);
    expect(figs.map((f) => /<figcaption>([^<]*)/.exec(f)![1])).toEqual(['Last run (failed) ', 'Last good run ']);
    expect(bars(figs[0]!)).toContain('rcpt:fail');
    expect(bars(figs[1]!).every((b) => b.endsWith(':ok'))).toBe(true);
    expect(html.indexOf('550 5.1.1 gone')).toBeLessThan(html.indexOf('<details><summary>Transcript of the last good run'));
    expect(html).toMatch(/<details><summary>Transcript of the last good run[^<]*<\/summary><pre class="tr">.*250 2\.1\.5 Ok/);
    // While the target passes, its last good run is its last run: drawn once.
    const passing = page(source([healthy('b', { lastResult: ok, lastSuccess: ok })]), 'b');
    expect(figures(passing)).toHaveLength(1);
    expect(passing).not.toContain('last good run');
  });

  it('an mx:// target: one waterfall per host of the last run', () => {
    const hosts = [
      { ...fullSuccess('m'), mx: { host: 'mx1.example.test', preference: 10, address: '192.0.2.1' } },
      { ...connectTimeout('m'), mx: { host: 'mx2.example.test', preference: 20, address: null } },
    ];
    const html = page(source([healthy('m', { lastResult: hosts[1]!, lastFailure: hosts[1]!, lastResults: hosts })]), 'm');
    const perHost = html.slice(html.indexOf('Last run, per MX host'));
    const figs = figures(perHost);
    expect(figs.map((f) => /<figcaption>([^<]*)/.exec(f)![1])).toEqual(['MX mx1.example.test (preference 10, 192.0.2.1) ', 'MX mx2.example.test (preference 20) ']);
    expect(bars(figs[1]!)).toEqual(['connect:fail']);
  });

  it('history bar, facts and badges; a target without runs says so', () => {
    const html = page(source([rcptFailing('mx1', { firingAlerts: ['down'] })]), 'mx1');
    expect(html.match(/<i[^>]*title="[^"]*"><\/i>/g)).toHaveLength(5);
    expect(html).toContain('<div class="bar big"');
    expect(html).toContain('since Dec 05 05:03:00, 2 runs');
    expect(html).toContain('p50 95 ms · p95 121 ms');
    expect(html).toContain('<img src="/badge/mx1/status.svg" alt="status badge" height="20">');
    expect(html).toContain('<span class="al">down</span>');
    const none = page(source([healthy('n', { history: [], lastResult: null })]), 'n');
    expect(none).toContain('<h2>Phases</h2><p class="mut">No run yet.</p>');
    expect(none).not.toContain('<pre');
  });

  it('null for a target that does not exist', () => {
    expect(targetPage(source([healthy('a')]), 'b', { nonce: 'N', now: 0 })).toBeNull();
  });

  it('a <script> banner, a hostile reply and a hostile name stay text', () => {
    const evil = '"><img src=x onerror=alert(1)>';
    const r: CheckResult = {
      ...rcptFailure(evil), banner: '<script>alert(1)</script>', startedAt: '2026-12-05T05:04:00.000Z',
      transcript: [{ t: 1, dir: 'S', line: '220 <script>alert(1)</script>' }, { t: 2, dir: 'S', line: '550 </pre><img src=x onerror=alert(2)>' }],
      failure: { phase: 'rcpt', reason: 'reply', code: 550, enhancedCode: null, message: '550 </pre><img src=x onerror=alert(2)>' },
    };
    const html = page(source([rcptFailing(evil, { lastResult: r, lastFailure: r, labels: { x: evil } })]), evil);
    expect(html.match(/<script/g)).toHaveLength(1);
    expect(html).not.toMatch(/<img src=x/);
    expect(html.match(/<\/pre>/g)).toHaveLength(1);
    expect(html).toContain('Banner: <code>&lt;script&gt;alert(1)&lt;/script&gt;</code>');
    expect(html).toContain('<img src="/badge/%22%3E%3Cimg%20src%3Dx%20onerror%3Dalert(1)%3E/status.svg"');
    expect(html).toContain('<title>&quot;&gt;&lt;img src=x onerror=alert(1)&gt;: failing · smtp-probe</title>');
  });
});

describe('the posture section', () => {
  const finding = (check: PostureFinding['check'], result: PostureFinding['result'], reason: string | null, detail: string): PostureFinding =>
    ({ check, scope: 'address', mxHost: 'mx1.example.test', address: '192.0.2.1', result, reason, detail });
  const snapshot = (over: Partial<PostureSnapshot> = {}): PostureSnapshot => ({
    at: '2026-12-05T06:00:00.000Z', domain: 'example.test', mx: [{ host: 'mx1.example.test', preference: 10, addresses: ['192.0.2.1'] }],
    findings: [finding('dane', 'fail', 'tlsa-invalid', 'no TLSA matches <script>alert(1)</script>'), finding('starttls', 'pass', null, 'upgraded')],
    problems: [], previousAt: '2026-12-05T00:00:00.000Z',
    lastChange: { at: '2026-12-05T06:00:00.000Z', previousAt: '2026-12-05T00:00:00.000Z', changes: [{ check: 'dane', mxHost: 'mx1.example.test', address: '192.0.2.1', from: 'pass', to: 'fail', reason: 'tlsa-invalid', detail: '' }] },
    ...over,
  });

  it('none without a posture run', () => {
    expect(page(source([healthy('a')]), 'a')).not.toContain('id="posture"');
  });

  it('counts, the last change, one row per finding; server text escaped', () => {
    const html = page(source([healthy('a', { posture: snapshot() })]), 'a');
    expect(html).toContain('<h2 id="posture">Posture of example.test <span class="mut">Dec 05 06:00:00</span></h2>');
    expect(html).toContain('<span class="bad">1 fail</span> · <span class="warn">0 warn</span> · <span class="ok">1 pass</span> · <span class="mut">0 n/a</span>');
    expect(html).toContain('<li>dane at mx1.example.test 192.0.2.1: <span class="ok">pass</span> → <span class="bad">fail</span> <span class="mut">(tlsa-invalid)</span></li>');
    expect(html).toContain('<tr class="bad"><td>dane</td><td class="mono">mx1.example.test 192.0.2.1</td><td class="bad">fail</td><td>tlsa-invalid</td><td>no TLSA matches &lt;script&gt;alert(1)&lt;/script&gt;</td></tr>');
    expect(html).not.toContain('<script>alert(1)');
    expect(html).toContain('<td class="ok">pass</td>');
  });

  it('the first run since the start says so; lookup problems are listed', () => {
    const html = page(source([healthy('a', { posture: snapshot({ previousAt: null, lastChange: null, problems: ['MX example.test: SERVFAIL'] }) })]), 'a');
    expect(html).toContain('No change seen yet: this is the first run since the daemon started.');
    expect(html).toContain('<ul class="warn"><li>MX example.test: SERVFAIL</li></ul>');
  });
});
