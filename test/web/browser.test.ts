/**
 * The status page and the target page in a real browser: Debian's Chromium (/usr/bin/chromium) driven by
 * playwright-core, against a real daemon probing real in-process servers: one healthy (STARTTLS, AUTH, a message),
 * one failing at RCPT (550 5.1.1), one down (nothing listens), one whose banner is `<script>` and whose label is
 * `"><img src=x onerror=...>`. Throughout: no dialog ever opens, no request goes anywhere but the daemon's own
 * pages and badges, no console error (CSP violations land there). Without Chromium the suite is skipped, except
 * under CI, where that is a failure.
 *
 * `UPDATE_SCREENSHOTS=1` also runs `smtp-probe demo` in-process for a minute and saves the pages it serves as
 * docs/screenshots/{status,target}-{desktop,phone}.png (the README shows them).
 */
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium, type Browser, type BrowserContext, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { demoCommand } from '../../src/cli/demo.js';
import { demoCertificate } from '../../src/demo/cert.js';
import { DEMO_PASSWORD, DEMO_UNKNOWN, DEMO_USER, startDemoServer, type DemoServer } from '../../src/demo/server.js';
import { startTestDaemon, type TestDaemon } from '../helpers/daemon.js';
import { freePort } from '../helpers/ports.js';
import { banner, ehloSteps, quitSteps, startScriptedServer, type ScriptedServer } from '../helpers/scripted-server.js';
import { fakeSecureDns } from '../dns/secure-fake.js';
import { until } from './wait.js';

const CHROMIUM = '/usr/bin/chromium';
const HAVE_CHROMIUM = existsSync(CHROMIUM);
const SCREENSHOTS = process.env.UPDATE_SCREENSHOTS === '1';
const HOSTILE_BANNER = '220 <script>alert("banner")</script> ESMTP';
const HOSTILE_LABEL = '"><img src=x onerror=alert("label")>';
/** How many runs each target has before the pages are judged. */
const RUNS = 4;
/** How many runs (5 s apart) each target of the demo has before it is photographed. */
const DEMO_RUNS = 12;

test.runIf(!HAVE_CHROMIUM && !!process.env.CI)(`CI runs the browser suite: ${CHROMIUM} must be installed (.ci/run: apt-get install chromium)`, () => {
  expect.fail(`${CHROMIUM} is missing`);
});

describe.skipIf(!HAVE_CHROMIUM)(`the pages in Chromium (skipped when ${CHROMIUM} is missing: apt-get install chromium)`, () => {
  let smtp: DemoServer;
  let hostile: ScriptedServer;
  let dir: string;
  let daemon: TestDaemon;
  let browser: Browser;
  /** What every page of the suite did that it must not: dialogs, foreign requests, console errors. */
  const bad = { dialogs: [] as string[], requests: [] as string[], console: [] as string[] };

  beforeAll(async () => {
    smtp = await startDemoServer();
    hostile = await startScriptedServer([banner(HOSTILE_BANNER), ...ehloSteps(['PIPELINING']), ...quitSteps]);
    dir = mkdtempSync(join(tmpdir(), 'smtp-probe-browser-'));
    writeFileSync(join(dir, 'ca.pem'), demoCertificate().cert);
    writeFileSync(join(dir, 'config.yaml'), config(smtp.port, hostile.port, await freePort(), join(dir, 'ca.pem')));
    // The hostile target's posture: localhost as its own implicit MX, at 127.0.0.1, as a resolver would say.
    const dns = fakeSecureDns({ 'localhost A': { records: ['127.0.0.1'] } });
    daemon = await startTestDaemon(join(dir, 'config.yaml'), { env: { DEMO_PASSWORD }, posture: { dns: () => dns } });
    browser = await chromium.launch({
      executablePath: CHROMIUM,
      args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking',
        '--disable-component-update', '--disable-sync'],
    });
    await until(`${RUNS} runs of every target`, () => ['healthy', 'rcpt-fails', 'down', 'hostile'].every((n) => daemon.results.filter((r) => r.target === n).length >= RUNS), 60_000);
    await until('a posture run of the hostile target', async () => ((await (await fetch(`${daemon.base}/api/v1/targets/hostile`)).json()) as { posture: unknown }).posture !== null, 30_000);
  }, 90_000);

  afterAll(async () => {
    await browser?.close();
    await daemon?.d.stop(2000);
    await hostile?.close();
    await smtp?.close();
    if (dir) rmSync(dir, { recursive: true, force: true });
    expect(bad).toEqual({ dialogs: [], requests: [], console: [] });
  });

  /** A fresh context (no cookies, no cache) and page, watched for dialogs, foreign requests and console errors. */
  async function open(path: string, o: { width?: number; height?: number; javaScript?: boolean; scale?: number; base?: string } = {}): Promise<{ page: Page; ctx: BrowserContext }> {
    const base = o.base ?? daemon.base;
    const ctx = await browser.newContext({
      viewport: { width: o.width ?? 1280, height: o.height ?? 900 }, deviceScaleFactor: o.scale ?? 1, javaScriptEnabled: o.javaScript ?? true,
      ...(o.width && o.width < 500 ? { isMobile: true, hasTouch: true } : {}),
    });
    const page = await ctx.newPage();
    page.on('dialog', (d) => {
      bad.dialogs.push(`${d.type()}: ${d.message()}`);
      void d.dismiss();
    });
    page.on('request', (r) => {
      const own = r.url().startsWith(`${base}/`) && /^\/(\?failing=1)?$|^\/targets\/[^/?]+$|^\/badge\/[^/]+\/[a-z0-9-]+\.svg$/.test(r.url().slice(base.length));
      if (!own && !r.url().startsWith('data:')) bad.requests.push(r.url());
    });
    page.on('console', (m) => {
      if (m.type() === 'error' || m.type() === 'warning') bad.console.push(`${path}: ${m.type()}: ${m.text()}`);
    });
    page.on('pageerror', (e) => bad.console.push(`${path}: pageerror: ${e.message}`));
    await page.goto(base + path);
    return { page, ctx };
  }

  const row = (page: Page, name: string) => page.locator('tr.t', { has: page.locator(`a.tn:text-is("${name}")`) });

  test('/: every target with its status, one history cell per kept run with a tooltip, the failure text', async () => {
    const { page, ctx } = await open('/');
    await expect.poll(() => page.locator('tr.t').count()).toBe(4);
    expect(await row(page, 'healthy').locator('.st').textContent()).toBe('ok');
    expect(await row(page, 'rcpt-fails').locator('.st').textContent()).toBe('failing');
    expect(await row(page, 'down').locator('.st').textContent()).toBe('failing');
    expect(await row(page, 'rcpt-fails').locator('.why').textContent()).toMatch(/^rcpt \(reply\): 550 5\.1\.1 <former-colleague@demo\.smtp-probe\.test>/);
    expect(await row(page, 'down').locator('.why').textContent()).toMatch(/^connect: connection refused/);
    expect(await page.locator('.sum').textContent()).toContain('failing');

    const cells = row(page, 'rcpt-fails').locator('.bar i');
    expect(await cells.count()).toBeGreaterThanOrEqual(RUNS);
    const title = await cells.last().getAttribute('title');
    expect(title).toMatch(/^[A-Z][a-z]{2} \d\d \d\d:\d\d:\d\d, [\d.]+ m?s: rcpt \(reply\): 550 5\.1\.1 /);
    expect(await row(page, 'healthy').locator('.bar i.f').count()).toBe(0);
    expect(await row(page, 'healthy').locator('.bar i').last().getAttribute('title')).toMatch(/^[A-Z][a-z]{2} \d\d \d\d:\d\d:\d\d, [\d.]+ m?s$/);

    // The script's tooltip: hover a cell, the same text shows at once.
    await cells.last().hover();
    await expect.poll(() => page.locator('#tip').isVisible()).toBe(true);
    expect(await page.locator('#tip').textContent()).toBe(title);
    await ctx.close();
  });

  test('"Show only failing" hides the ok targets at once, survives the refresh, and "Show all" brings them back', async () => {
    const { page, ctx } = await open('/');
    await page.getByText('Show only failing').click();
    expect(await row(page, 'healthy').isVisible()).toBe(false);
    expect(await row(page, 'rcpt-fails').isVisible()).toBe(true);
    expect(page.url()).toBe(`${daemon.base}/?failing=1`);
    // The refresh that follows the click brings the server's filtered table: the ok row is gone, not just hidden.
    await expect.poll(() => row(page, 'healthy').count()).toBe(0);
    expect(await row(page, 'down').isVisible()).toBe(true);
    await page.getByText('Show all').click();
    await expect.poll(() => row(page, 'healthy').isVisible()).toBe(true);
    expect(page.url()).toBe(`${daemon.base}/`);
    await ctx.close();
  });

  test('the page refreshes itself: the table is swapped for a newer one without a reload', async () => {
    const { page, ctx } = await open('/');
    await page.evaluate('window.__marker = 1');
    const before = await row(page, 'rcpt-fails').locator('.bar i').count();
    const updated = await page.locator('.sum .mut').textContent();
    await expect.poll(() => page.locator('.sum .mut').textContent(), { timeout: 25_000 }).not.toBe(updated);
    expect(await page.evaluate('window.__marker')).toBe(1); // the same document: swapped, not reloaded
    expect(await row(page, 'rcpt-fails').locator('.bar i').count()).toBeGreaterThanOrEqual(before);
    await ctx.close();
  });

  test('without JavaScript the page reads and the filter is a link', async () => {
    const { page, ctx } = await open('/?failing=1', { javaScript: false });
    expect(await page.locator('tr.t').count()).toBe(3);
    expect(await row(page, 'healthy').count()).toBe(0);
    expect(await page.locator('noscript').count()).toBe(1);
    await page.getByText('Show all').click();
    await page.waitForURL(`${daemon.base}/`);
    expect(await page.locator('tr.t').count()).toBe(4);
    expect(await row(page, 'rcpt-fails').locator('.bar i').first().getAttribute('title')).toMatch(/, [\d.]+ m?s: /);
    await ctx.close();
  });

  test('one click from / to the failing target: the waterfall\'s phases with rcpt failed, the transcript with the 550', async () => {
    const { page, ctx } = await open('/');
    await row(page, 'rcpt-fails').locator('a.tn').click();
    await page.waitForURL(`${daemon.base}/targets/rcpt-fails`);
    const phases = await page.locator('figure.wf').first().locator('g.ph').evaluateAll((gs) => gs.map((g) => `${g.getAttribute('data-phase')}:${g.getAttribute('class')}`));
    expect(phases).toEqual(expect.arrayContaining(['connect:ph ok', 'banner:ph ok', 'ehlo:ph ok', 'starttls:ph ok', 'auth:ph ok', 'mail:ph ok', 'rcpt:ph fail']));
    expect(phases.indexOf('rcpt:ph fail')).toBeGreaterThan(phases.indexOf('mail:ph ok'));
    expect(await page.locator('g.ph.fail text').first().textContent()).toBe('rcpt ✗');
    const transcript = await page.locator('pre.tr').first().textContent();
    expect(transcript).toMatch(/C: RCPT TO:<former-colleague@demo\.smtp-probe\.test>/);
    expect(transcript).toMatch(/S: 550 5\.1\.1 <former-colleague@demo\.smtp-probe\.test>: Recipient address rejected/);
    expect(await page.locator('pre.tr .S.err').count()).toBeGreaterThanOrEqual(1);
    expect(await page.locator('pre.tr .C').count()).toBeGreaterThan(3);
    expect(await page.locator('.badges img').evaluateAll((imgs) => imgs.map((i) => (i as unknown as { naturalWidth: number }).naturalWidth > 0))).toEqual([true, true, true]);
    await ctx.close();
  });

  test('a <script> banner and an "><img onerror> label stay text: shown as written, nothing runs, nothing loads', async () => {
    const { page, ctx } = await open('/');
    expect(await row(page, 'hostile').locator('.lbl').textContent()).toBe(`note=${HOSTILE_LABEL}`);
    await row(page, 'hostile').locator('a.tn').click();
    await page.waitForURL(`${daemon.base}/targets/hostile`);
    // The record keeps the banner without its code.
    expect(await page.locator('code', { hasText: 'alert("banner")' }).first().textContent()).toBe(HOSTILE_BANNER.slice(4));
    expect(await page.locator('pre.tr').first().textContent()).toContain(`S: ${HOSTILE_BANNER}`);
    expect(await page.locator('.lbl').textContent()).toBe(`note=${HOSTILE_LABEL}`);
    // The posture section quotes the banner's name as text too, and says what it found.
    const posture = page.locator('table.posture');
    expect(await page.locator('h2#posture').textContent()).toMatch(/^Posture of localhost /);
    expect(await posture.locator('tr', { hasText: 'starttls' }).locator('td').nth(2).textContent()).toBe('fail');
    expect(await posture.locator('tr', { hasText: 'banner_hostname' }).textContent()).toContain('the 220 greeting says "<script>alert(\\"banner\\")</script>"');
    expect(await page.locator('img').count()).toBe(3); // the three badges, no injected image
    expect(await page.locator('script').count()).toBe(1); // the page's own
    await ctx.close();
  });

  test('a 390 px phone: no sideways scrolling, the targets as cards', async () => {
    for (const path of ['/', '/targets/rcpt-fails']) {
      const { page, ctx } = await open(path, { width: 390, height: 844 });
      expect(await page.evaluate('document.documentElement.scrollWidth'), path).toBeLessThanOrEqual(390);
      await ctx.close();
    }
    const { page, ctx } = await open('/', { width: 390, height: 844 });
    expect(await page.locator('table.targets thead').isVisible()).toBe(false);
    expect(await row(page, 'rcpt-fails').evaluate((tr) => (globalThis as unknown as { getComputedStyle(e: unknown): { display: string } }).getComputedStyle(tr).display)).toBe('block');
    await ctx.close();
  });

  test.runIf(SCREENSHOTS)('screenshots for the README, of `smtp-probe demo` as a new user sees it: docs/screenshots/', async () => {
    let stderr = '';
    const abort = new AbortController();
    const done = demoCommand(['--listen', '127.0.0.1:0', '--log-format', 'json'], { stdout: () => undefined, stderr: (t) => (stderr += t), env: {}, signal: abort.signal });
    try {
      const base = await until('the demo prints its URL', () => /status page: +(http:\/\/127\.0\.0\.1:\d+)\//.exec(stderr)?.[1]);
      await until(`${DEMO_RUNS} runs of each demo target`, async () => {
        const targets = (await (await fetch(`${base}/api/v1/targets`)).json()) as { name: string }[];
        const runs = await Promise.all(targets.map(async (t) => ((await (await fetch(`${base}/api/v1/targets/${t.name}`)).json()) as { history: unknown[] }).history.length));
        return targets.length === 3 && runs.every((n) => n >= DEMO_RUNS);
      }, DEMO_RUNS * 5000 + 20_000);
      const out = join(import.meta.dirname, '../../docs/screenshots');
      mkdirSync(out, { recursive: true });
      const shots: [string, string, { width: number; height: number; scale?: number }][] = [
        ['status-desktop.png', '/', { width: 1280, height: 640 }],
        ['status-phone.png', '/', { width: 390, height: 844, scale: 2 }],
        ['target-desktop.png', '/targets/demo-mailbox', { width: 1280, height: 1200 }],
        ['target-phone.png', '/targets/demo-mailbox', { width: 390, height: 844, scale: 2 }],
      ];
      for (const [file, path, size] of shots) {
        const { page, ctx } = await open(path, { ...size, base });
        await page.screenshot({ path: join(out, file) });
        await ctx.close();
      }
    } finally {
      abort.abort();
      await done;
    }
  }, DEMO_RUNS * 5000 + 60_000);
});

function config(smtpPort: number, hostilePort: number, closedPort: number, caFile: string): string {
  const tls = `tls: starttls\n    tls_config: { ca_file: ${caFile}, server_name: localhost }\n    auth: { username: ${DEMO_USER}, password: "\${DEMO_PASSWORD}" }`;
  return `global: { interval: 1s, timeout: 900ms, phase_timeout: 800ms, ehlo: probe.demo.smtp-probe.test }
modules:
  submission:
    ${tls}
    send: { from: ${DEMO_USER}, to: [${DEMO_USER}] }
  mailbox:
    ${tls}
    send: { from: ${DEMO_USER}, to: [${DEMO_UNKNOWN}] }
  plain: { tls: none }
  hostile: { tls: none, posture: { checks: [starttls, banner_hostname], every: 1s } }
targets:
  - { name: healthy, url: "smtp://127.0.0.1:${smtpPort}", module: submission, labels: { env: test } }
  - { name: rcpt-fails, url: "smtp://127.0.0.1:${smtpPort}", module: mailbox, labels: { env: test } }
  - { name: down, url: "smtp://127.0.0.1:${closedPort}", module: plain, labels: { env: test } }
  - { name: hostile, url: "smtp://localhost:${hostilePort}", module: hostile, labels: { note: '${HOSTILE_LABEL}' } }
`;
}
