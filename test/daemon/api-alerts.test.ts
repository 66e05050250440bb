/**
 * Alert events through the daemon over real sockets: a mail server goes down and comes back, one webhook receiver
 * answers, another refuses with 500. The events (fired, delivered, delivery_failed, resolved) are in
 * `/api/v1/alerts` and in the info logs, one object per event, and survive a restart; no receiver URL appears.
 */
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, expect, test } from 'vitest';
import type { Daemon, DaemonOptions } from '../../src/daemon/daemon.js';
import type { AlertEvent, AlertsView, TargetView } from '../../src/history/view.js';
import { createLogger } from '../../src/log.js';
import { startTestDaemon } from '../helpers/daemon.js';
import { ManualClock } from '../helpers/manual-clock.js';
import { toggledServer, type ToggledSmtp } from '../helpers/toggled-smtp.js';
import { respond, startWebhookSink, type WebhookSink } from '../helpers/webhook-sink.js';
import { getJson, until } from './api-helpers.js';

/** A key in the receiver's URL path, as Slack and many webhooks carry one: never to be shown. */
const KEY = 'K3yInThePathQ9z';
let dir: string;
let mx: ToggledSmtp;
let hook: WebhookSink;
let broken: WebhookSink;
const daemons: Daemon[] = [];

beforeEach(async () => {
  dir = mkdtempSync(join(tmpdir(), 'smtp-probe-api-alerts-'));
  mx = await toggledServer();
  hook = await startWebhookSink();
  broken = await startWebhookSink();
  broken.setDefault(respond(500, { body: 'internal error' }));
});
afterEach(async () => {
  await Promise.all(daemons.splice(0).map((d) => d.stop(1000)));
  await Promise.all([mx.close(), hook.close(), broken.close()]);
});

function writeConfig(): string {
  const file = join(dir, 'config.yaml');
  writeFileSync(
    file,
    `global: { interval: 500ms, timeout: 450ms, phase_timeout: 400ms, ehlo: probe.test, state_file: ${join(dir, 'state.json')} }
modules:
  plain: { tls: none }
targets:
  - { name: mx1, url: "smtp://127.0.0.1:${mx.port}", module: plain }
alerts:
  defaults: { failure_threshold: 1, success_threshold: 1, reminder_interval: 1h }
  rules:
    - { name: smtp_probe_down, kind: down, receivers: [ops, broken] }
  receivers:
    - { name: ops, type: webhook, url: "${hook.url(`/hook/${KEY}`)}" }
    - { name: broken, type: webhook, url: "${broken.url(`/hook/${KEY}`)}" }
`,
  );
  return file;
}

function captured(): { logger: DaemonOptions['logger']; lines: string[] } {
  const lines: string[] = [];
  return { logger: createLogger('info', { format: 'json', write: (l) => void lines.push(l) }), lines };
}

const said = (events: AlertEvent[]): string[] => events.map((e) => `${e.event}:${e.rule}:${e.target}:${e.receiver ?? '-'}`);

test('fired, delivered, delivery_failed, resolved: in /api/v1/alerts, in the info logs, across a restart', async () => {
  const file = writeConfig();
  const { logger, lines } = captured();
  const t = await startTestDaemon(file, { logger });
  daemons.push(t.d);
  const alerts = async (): Promise<AlertsView> => (await getJson<AlertsView>(`${t.base}/api/v1/alerts`)).body;

  mx.setDown(true);
  await until(async () => (await alerts()).events.some((e) => e.event === 'delivered'));
  await until(async () => (await alerts()).events.some((e) => e.event === 'delivery_failed'));
  const firing = await alerts();
  expect(firing.firing).toEqual([
    { rule: 'smtp_probe_down', target: 'mx1', since: expect.any(String), severity: 'critical', summary: expect.stringMatching(/failed at banner \(reply 421\)/) },
  ]);
  expect(said(firing.events)[0]).toBe('fired:smtp_probe_down:mx1:-');
  expect(said(firing.events)).toContain('delivered:smtp_probe_down:mx1:ops');
  expect(firing.events.find((e) => e.event === 'delivered')!.detail).toBe('firing sent (HTTP 200)');
  const failed = firing.events.find((e) => e.event === 'delivery_failed')!;
  expect(failed).toMatchObject({ rule: 'smtp_probe_down', target: 'mx1', receiver: 'broken' });
  expect(failed.detail).toMatch(/^firing: .*HTTP 500/);
  const view = (await getJson<TargetView[]>(`${t.base}/api/v1/targets`)).body[0]!;
  expect(view).toMatchObject({ status: 'failing', firingAlerts: ['smtp_probe_down'] });

  mx.setDown(false);
  await until(async () => (await alerts()).events.some((e) => e.event === 'resolved'));
  await until(async () => (await alerts()).events.some((e) => e.event === 'delivered' && /^resolved/.test(e.detail ?? '')));
  const after = await alerts();
  expect(after.firing).toEqual([]);
  expect(said(after.events)).toContain('resolved:smtp_probe_down:mx1:-');
  expect((await getJson<TargetView[]>(`${t.base}/api/v1/targets`)).body[0]!.firingAlerts).toEqual([]);

  // One log object per event at info, with rule, target and receiver.
  const logged = lines.map((l) => JSON.parse(l) as Record<string, unknown>).filter((l) => typeof l.event === 'string');
  const shape = (event: string, receiver: string | null) => expect.objectContaining({ level: 30, event, rule: 'smtp_probe_down', target: 'mx1', receiver });
  expect(logged).toEqual(expect.arrayContaining([
    shape('fired', null), shape('delivered', 'ops'), shape('delivery_failed', 'broken'), shape('resolved', null),
  ]));
  expect(logged.find((l) => l.event === 'fired')!.msg).toBe('alert fired');
  expect(logged.find((l) => l.event === 'resolved')!.msg).toBe('alert resolved');
  expect(logged.find((l) => l.event === 'delivery_failed')!.msg).toBe('alert notification failed');
  for (const [where, text] of [['logs', lines.join('')], ['/api/v1/alerts', JSON.stringify(after)]] as const) {
    expect(text, where).not.toContain(KEY);
  }

  // The events are kept in the history file: a restarted daemon shows them before anything happens.
  const seen = after.events;
  daemons.splice(0);
  await t.d.stop(1000);
  const clock = new ManualClock({ wallStart: Date.now() });
  const again = await startTestDaemon(file, { clock });
  const restored = (await getJson<AlertsView>(`${again.base}/api/v1/alerts`)).body;
  // Its clock moves only when told: stop (which waits for the pending resolve's delivery) is given the time.
  const stopping = again.d.stop(1000);
  await clock.advance(10_000);
  await stopping;
  // The broken receiver may have failed again between the last look and the stop: its newest attempt replaces the
  // event of the one before, the others are as they were.
  const settled = (events: AlertEvent[]): AlertEvent[] => events.filter((e) => e.event !== 'delivery_failed');
  expect(settled(restored.events)).toEqual(settled(seen));
  expect(said(restored.events)).toContain('delivery_failed:smtp_probe_down:mx1:broken');
  expect(restored.firing).toEqual([]);
});

test('a saved firing alert whose target left the config while the daemon was stopped is resolved at start, its resolve sent', async () => {
  const file = writeConfig();
  const t = await startTestDaemon(file);
  daemons.push(t.d);
  mx.setDown(true);
  await until(async () => (await getJson<AlertsView>(`${t.base}/api/v1/alerts`)).body.firing.length === 1);
  await until(async () => hook.requests.some((r) => JSON.parse(r.body).status === 'firing'));
  daemons.splice(0);
  await t.d.stop(1000);

  // mx1 is renamed while the daemon is down: the saved alert of mx1 has no target any more.
  writeFileSync(file, readFileSync(file, 'utf8').replace('name: mx1,', 'name: mx1-renamed,'));
  mx.setDown(false);
  const again = await startTestDaemon(file);
  daemons.push(again.d);
  const alerts = (await getJson<AlertsView>(`${again.base}/api/v1/alerts`)).body;
  expect(alerts.firing).toEqual([]);
  expect(alerts.events.at(-1)).toMatchObject({ event: 'resolved', rule: 'smtp_probe_down', target: 'mx1', detail: 'no longer monitored (config changed while stopped)' });
  await until(async () => hook.requests.some((r) => JSON.parse(r.body).status === 'resolved'));
  const resolved = hook.requests.map((r) => JSON.parse(r.body)).find((b) => b.status === 'resolved');
  expect(resolved).toMatchObject({ status: 'resolved', target: 'mx1' });
});
