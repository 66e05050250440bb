/**
 * `smtp-probe demo` as a new user meets it (issue 11, "done when"): it prints the status page's URL, and within one
 * refresh that page shows three targets: one healthy, one failing at RCPT (550 5.1.1), one down; the failing one's
 * waterfall and transcript one click away; the alert rule fires to the demo's own webhook.
 */
import { afterEach, describe, expect, test } from 'vitest';
import { demoCommand } from '../../src/cli/demo.js';
import { until } from '../web/wait.js';

const stops: (() => Promise<unknown>)[] = [];
afterEach(async () => {
  for (const stop of stops.splice(0)) await stop();
});

async function startDemo(): Promise<{ base: string; out: () => string }> {
  let stdout = '';
  let stderr = '';
  const abort = new AbortController();
  const done = demoCommand(['--listen', '127.0.0.1:0', '--log-format', 'json'], {
    stdout: (t) => (stdout += t), stderr: (t) => (stderr += t), env: {}, signal: abort.signal,
  });
  stops.push(async () => {
    abort.abort();
    expect(await done).toBe(0);
  });
  const base = await until('the demo prints its status page URL', () => /status page: +(http:\/\/127\.0\.0\.1:\d+)\//.exec(stderr)?.[1]);
  return { base, out: () => stdout };
}

const rowOf = (html: string, name: string): string | undefined => html.match(new RegExp(`<tr class="t [^"]*">(?:(?!</tr>).)*>${name}</a>(?:(?!</tr>).)*</tr>`, 's'))?.[0];

describe('smtp-probe demo', () => {
  test('three targets: healthy, failing at RCPT with 550 5.1.1, down; the failure one click away; the alert fired', async () => {
    const { base, out } = await startDemo();
    const html = await until('every demo target has run', async () => {
      const page = await (await fetch(`${base}/`)).text();
      return page.includes('<b class="ok">1 ok</b><b class="failing">2 failing</b><b class="pending">0 pending</b>') ? page : undefined;
    });
    expect(rowOf(html, 'demo-submission')).toContain('<span class="st ok">ok</span>');
    expect(rowOf(html, 'demo-mailbox')).toMatch(/<div class="why">rcpt \(reply\): 550 5\.1\.1 &lt;former-colleague@demo\.smtp-probe\.test&gt;: Recipient address rejected: User unknown/);
    expect(rowOf(html, 'demo-down')).toMatch(/<div class="why">connect: connection refused/);
    expect(html).toContain('<a class="tn" href="/targets/demo-mailbox">demo-mailbox</a>');

    const target = await (await fetch(`${base}/targets/demo-mailbox`)).text();
    expect(target).toMatch(/<g class="ph fail" data-phase="rcpt">/);
    expect(target).toMatch(/<pre class="tr">.*C: RCPT TO:&lt;former-colleague@demo\.smtp-probe\.test&gt;.*S: 550 5\.1\.1/s);

    await until('the alert rule fired to the demo webhook', () => /demo-down +ALERT +smtp_probe_down firing/.test(out()));
    expect(out()).toMatch(/demo-submission +OK /);
  }, 40_000);
});
