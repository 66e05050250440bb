/**
 * Alerting through the daemon over real sockets: a mail server that goes down and comes back, receivers on
 * in-process HTTP sinks (one of them down for a while), a restart of smtp-probe in the middle of the incident.
 */
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, test } from 'vitest';
import { Daemon } from '../../src/daemon/daemon.js';
import { inShard, type Shard } from '../../src/scheduler/scheduler.js';
import { toggledServer, type ToggledSmtp } from '../helpers/toggled-smtp.js';
import { respond, startWebhookSink, type WebhookSink } from '../helpers/webhook-sink.js';
import { startTestDaemon } from '../helpers/daemon.js';

let dir: string;
let mx: ToggledSmtp;
let hook: WebhookSink;
let am: WebhookSink;
const daemons: Daemon[] = [];

beforeEach(async () => {
  dir = mkdtempSync(join(tmpdir(), 'smtp-probe-alerts-'));
  mx = await toggledServer();
  hook = await startWebhookSink();
  am = await startWebhookSink();
  writeFileSync(join(dir, 'hook-secret'), 'hook-s3cret\n');
});
afterEach(async () => {
  await Promise.all(daemons.splice(0).map((d) => d.stop(1000)));
  await mx.close();
  await hook.close();
  await am.close();
});

function writeConfig(): string {
  const file = join(dir, 'config.yaml');
  writeFileSync(
    file,
    `global: { interval: 1s, timeout: 800ms, phase_timeout: 500ms, ehlo: probe.test, state_file: ${join(dir, 'state', 'state.json')} }
modules:
  plain: { tls: none }
targets:
  - { name: mx1, url: "smtp://127.0.0.1:${mx.port}", module: plain, labels: { env: test } }
alerts:
  defaults: { failure_threshold: 2, success_threshold: 2, reminder_interval: 1h }
  rules:
    - { name: smtp_probe_down, kind: down, receivers: [ops, am] }
  receivers:
    - { name: ops, type: webhook, url: "${hook.url('/hook')}", secret_file: hook-secret }
    - { name: am, type: alertmanager, url: "${am.url('')}" }
`,
  );
  return file;
}

async function startDaemon(configFile: string, shard: Shard | null = null): Promise<Daemon> {
  const { d } = await startTestDaemon(configFile, { shard });
  daemons.push(d);
  return d;
}

async function until(what: () => boolean, ms = 15_000): Promise<void> {
  for (const end = Date.now() + ms; !what(); await new Promise((r) => setTimeout(r, 50))) {
    if (Date.now() > end) throw new Error('condition not met in time');
  }
}

const hookBodies = (): { status: string; alert: string; target: string }[] =>
  hook.requests.filter((r) => r.path === '/hook').map((r) => JSON.parse(r.body) as { status: string; alert: string; target: string });
interface AmPost {
  at: number;
  alerts: { labels: Record<string, string>; endsAt: string }[];
}
const amPosts = (): AmPost[] =>
  am.requests.filter((r) => r.path === '/api/v2/alerts').map((r) => ({ at: r.at, alerts: JSON.parse(r.body) as AmPost['alerts'] }));
/** A post that resolves: its endsAt is not after the moment it was sent. */
const resolves = (p: AmPost): boolean => Date.parse(p.alerts[0]!.endsAt) <= p.at + 100;

describe('a server that goes down and comes back', () => {
  test('exactly one firing and one resolved per receiver; Alertmanager gets re-posts while firing', async () => {
    await startDaemon(writeConfig());
    mx.setDown(true);
    await until(() => hookBodies().some((b) => b.status === 'firing'));
    await until(() => amPosts().length >= 3); // the firing post, then a refresh every run
    mx.setDown(false);
    await until(() => hookBodies().some((b) => b.status === 'resolved'));
    await until(() => amPosts().some(resolves));
    await new Promise((r) => setTimeout(r, 2500)); // a few more healthy runs: nothing more may arrive
    expect(hookBodies().map((b) => b.status)).toEqual(['firing', 'resolved']);
    expect(hookBodies()[0]).toMatchObject({ alert: 'smtp_probe_down', target: 'mx1' });
    const req = hook.requests[0]!;
    expect(req.headers['x-smtp-probe-signature']).toMatch(/^sha256=[0-9a-f]{64}$/);
    const posts = amPosts();
    expect(posts[0]!.alerts[0]!.labels).toMatchObject({ alertname: 'smtp_probe_down', target: 'mx1', env: 'test' });
    const firing = posts.filter((p) => !resolves(p));
    expect(firing.length).toBeGreaterThanOrEqual(3);
    // While firing, endsAt is about three intervals (3 s) after the post, so Alertmanager keeps it active.
    for (const p of firing) expect(Date.parse(p.alerts[0]!.endsAt) - p.at).toBeGreaterThan(2000);
    expect(posts.filter(resolves)).toHaveLength(1);
    expect(resolves(posts.at(-1)!)).toBe(true);
  });

  test('a receiver that is down for a while gets every notification once it is back', async () => {
    hook.setDefault(respond(503));
    await startDaemon(writeConfig());
    mx.setDown(true);
    await until(() => hook.requests.length >= 2); // the firing, refused at least twice
    mx.setDown(false);
    await new Promise((r) => setTimeout(r, 3000)); // recovered meanwhile: the resolve is queued behind the firing
    hook.setDefault(respond(200));
    await until(() => hookBodies().filter((b) => b.status === 'resolved').length === 1, 30_000);
    const delivered = hook.requests.filter((r) => r.path === '/hook');
    const statuses = delivered.map((r) => JSON.parse(r.body).status as string);
    // Refused attempts repeat the firing; what got through is the firing then the resolve, once each.
    expect(statuses.at(-1)).toBe('resolved');
    expect(statuses.filter((s) => s === 'resolved')).toHaveLength(1);
  });
});

describe('restart in the middle of an incident', () => {
  test('no duplicate firing after the restart, and the resolve still comes', async () => {
    const file = writeConfig();
    const first = await startDaemon(file);
    mx.setDown(true);
    await until(() => hookBodies().length === 1);
    await first.stop(1000);
    daemons.splice(daemons.indexOf(first), 1);
    const state = JSON.parse(readFileSync(join(dir, 'state', 'state.json'), 'utf8')) as { alerts: { status: string; notified: boolean }[] };
    expect(state.alerts).toEqual([expect.objectContaining({ status: 'firing', notified: true })]);
    await startDaemon(file);
    await new Promise((r) => setTimeout(r, 2500)); // still down: runs keep failing, no new firing
    expect(hookBodies().map((b) => b.status)).toEqual(['firing']);
    mx.setDown(false);
    await until(() => hookBodies().length === 2);
    expect(hookBodies().map((b) => b.status)).toEqual(['firing', 'resolved']);
  });
});

describe('a storm seen by one replica of several (--shard)', () => {
  test("the isolated alert is judged over this replica's targets, not held back by the other replicas'", async () => {
    const names = Array.from({ length: 12 }, (_, i) => `mx${i}`);
    const mine = names.filter((n) => inShard(n, 0, 2));
    expect(mine.length).toBeGreaterThanOrEqual(4);
    const file = join(dir, 'storm.yaml');
    writeFileSync(
      file,
      `global: { interval: 1s, timeout: 800ms, phase_timeout: 500ms, ehlo: probe.test, state_file: ${join(dir, 'storm-state.json')} }
modules:
  plain: { tls: none }
targets:
${names.map((n) => `  - { name: ${n}, url: "smtp://127.0.0.1:1", module: plain }`).join('\n')}
alerts:
  isolated: { failure_threshold: 1 }
  rules:
    - { name: smtp_probe_down, kind: down, receivers: [ops], failure_threshold: 2 }
  receivers:
    - { name: ops, type: webhook, url: "${hook.url('/hook')}" }
`,
    );
    await startDaemon(file, { k: 0, n: 2 });
    await until(() => hookBodies().some((b) => b.alert === 'smtp_probe_isolated'));
    expect(hookBodies().filter((b) => b.alert === 'smtp_probe_isolated').map((b) => b.status)).toEqual(['firing']);
  });
});
