/**
 * Reloads of a daemon in the middle of an incident, over real sockets: an empty or truncated file is refused, an
 * incident keeps its identity (ids, startsAt) across reloads, owed resolves reach the receivers that saw the firing,
 * and a receiver's delivery pacing (backoff, rate cap) is not reset by a reload.
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, test } from 'vitest';
import { Daemon } from '../../src/daemon/daemon.js';
import { toggledServer, type ToggledSmtp } from '../helpers/toggled-smtp.js';
import { respond, startWebhookSink, type WebhookSink } from '../helpers/webhook-sink.js';
import { startTestDaemon } from '../helpers/daemon.js';

let dir: string;
let mx: ToggledSmtp;
let hook: WebhookSink;
const daemons: Daemon[] = [];

beforeEach(async () => {
  dir = mkdtempSync(join(tmpdir(), 'smtp-probe-reload-'));
  mx = await toggledServer();
  hook = await startWebhookSink();
});
afterEach(async () => {
  await Promise.all(daemons.splice(0).map((d) => d.stop(1000)));
  await mx.close();
  await hook.close();
});

interface Shape {
  /** Receivers of the down rule; null: no down rule at all. */
  ruleReceivers?: string[] | null;
  /** Receivers defined (each a webhook to /<name> on the sink). */
  receivers?: string[];
  /** Something else that changes across reloads. */
  extra?: boolean;
}

function configText({ ruleReceivers = ['ops'], receivers = ['ops', 'ops2'], extra = false }: Shape = {}): string {
  const rules = [
    ...(ruleReceivers ? [`    - { name: smtp_probe_down, kind: down, receivers: [${ruleReceivers.join(', ')}] }`] : []),
    `    - { name: cert_expiring, kind: certificate, days_left_under: 14, receivers: [${receivers[0]}] }`,
  ];
  return `global: { interval: 1s, timeout: 800ms, phase_timeout: 500ms, ehlo: probe.test, state_file: ${join(dir, 'state.json')} }
modules:
  plain: { tls: none }
${extra ? '  spare: { tls: none, timeout: 700ms }\n' : ''}targets:
  - { name: mx1, url: "smtp://127.0.0.1:${mx.port}", module: plain }
alerts:
  defaults: { failure_threshold: 2, success_threshold: 2, reminder_interval: 1h }
  rules:
${rules.join('\n')}
  receivers:
${receivers.map((r) => `    - { name: ${r}, type: webhook, url: "${hook.url(`/${r}`)}" }`).join('\n')}
`;
}

const file = (): string => join(dir, 'config.yaml');

async function startDaemon(shape: Shape = {}): Promise<{ d: Daemon; base: string }> {
  writeFileSync(file(), configText(shape));
  const { d, base } = await startTestDaemon(file());
  daemons.push(d);
  return { d, base };
}

async function reload(base: string, text: string): Promise<{ status: number; body: string }> {
  writeFileSync(file(), text);
  const r = await fetch(`${base}/-/reload`, { method: 'POST' });
  return { status: r.status, body: await r.text() };
}

async function until(what: () => boolean | Promise<boolean>, ms = 15_000): Promise<void> {
  for (const end = Date.now() + ms; !(await what()); await new Promise((r) => setTimeout(r, 50))) {
    if (Date.now() > end) throw new Error('condition not met in time');
  }
}

const metrics = async (base: string): Promise<string> => (await fetch(`${base}/metrics`)).text();

/** Runs of mx1 so far (it fails while down): the sum of its failure counters. */
async function failedRuns(base: string): Promise<number> {
  const m = await metrics(base);
  return [...m.matchAll(/^smtp_probe_failures_total\{target="mx1"[^}]*\} (\d+)$/gm)].reduce((k, x) => k + Number(x[1]), 0);
}

interface Delivered {
  id: string;
  status: string;
  alert: string;
  startsAt: string;
  summary: string;
}

/** What reached the sink at `/name`, in order. */
const at = (name: string): Delivered[] =>
  hook.requests
    .filter((r) => r.path === `/${name}`)
    .map((r) => ({ ...(JSON.parse(r.body) as Omit<Delivered, 'id'>), id: String(r.headers['x-smtp-probe-notification']) }));
const statuses = (name: string): string[] => at(name).map((n) => `${n.status}:${n.alert}`);

describe('a config that defines nothing is refused', () => {
  test.each([
    ['an empty file', ''],
    ['a file of comments only', '# smtp-probe\n# targets: to come\n'],
    ['a file truncated after its first line', (t: string) => t.split('\n')[0]!],
  ])('%s: reload_successful 0, the targets keep running', async (_name, text) => {
    const { base } = await startDaemon();
    await until(async () => (await metrics(base)).includes('smtp_probe_success{target="mx1"} 1'));
    const r = await reload(base, typeof text === 'string' ? text : text(configText()));
    expect(r.status).toBe(500);
    expect(r.body).toMatch(/config\.yaml:1:1 the config defines nothing/);
    const m = await metrics(base);
    expect(m).toMatch(/^smtp_probe_config_last_reload_successful 0$/m);
    expect(m).toMatch(/^smtp_probe_success\{target="mx1"\} 1$/m);
    mx.setDown(true);
    await until(async () => (await metrics(base)).includes('smtp_probe_success{target="mx1"} 0')); // still probed
  });
});

describe('an incident across reloads', () => {
  test('keeps its identity through a reload that changes something else and a refused empty one', async () => {
    const { base } = await startDaemon();
    mx.setDown(true);
    await until(() => at('ops').length === 1);
    expect((await reload(base, configText({ extra: true }))).status).toBe(200);
    await reload(base, ''); // refused (see above); before, it dropped the incident
    expect((await reload(base, configText({ extra: true }))).status).toBe(200);
    const runs = await failedRuns(base);
    await until(async () => (await failedRuns(base)) >= runs + 3); // still down after the reloads: no new firing
    mx.setDown(false);
    await until(() => at('ops').length === 2);
    const [firing, resolved] = at('ops');
    expect(statuses('ops')).toEqual(['firing:smtp_probe_down', 'resolved:smtp_probe_down']);
    expect(resolved!.startsAt).toBe(firing!.startsAt);
    expect(resolved!.id).toBe(firing!.id.replace('|firing|', '|resolved|'));
  });

  test("the rule's receivers change: the old one gets its resolve now, the new one the firing and later the resolve", async () => {
    const { base } = await startDaemon();
    mx.setDown(true);
    await until(() => at('ops').length === 1);
    expect((await reload(base, configText({ ruleReceivers: ['ops2'] }))).status).toBe(200);
    await until(() => at('ops').length === 2 && at('ops2').length === 1);
    expect(statuses('ops')).toEqual(['firing:smtp_probe_down', 'resolved:smtp_probe_down']);
    expect(at('ops')[1]!.summary).toMatch(/config reloaded/);
    expect(statuses('ops2')).toEqual(['firing:smtp_probe_down']);
    expect(at('ops2')[0]!.startsAt).toBe(at('ops')[0]!.startsAt);
    mx.setDown(false);
    await until(() => at('ops2').length === 2);
    expect(statuses('ops2')).toEqual(['firing:smtp_probe_down', 'resolved:smtp_probe_down']);
    expect(at('ops')).toHaveLength(2);
  });

  test('the rule and its receiver are gone: the owed resolve still reaches that receiver, as the old config had it', async () => {
    const { base } = await startDaemon();
    mx.setDown(true);
    await until(() => at('ops').length === 1);
    expect((await reload(base, configText({ ruleReceivers: null, receivers: ['ops2'] }))).status).toBe(200);
    await until(() => at('ops').length === 2);
    expect(statuses('ops')).toEqual(['firing:smtp_probe_down', 'resolved:smtp_probe_down']);
    expect(at('ops')[1]!.summary).toMatch(/config reloaded/);
    expect(at('ops2')).toEqual([]);
  });
});

describe('delivery pacing across reloads', () => {
  test('50 reloads against a failing receiver: attempts stay bounded by its backoff', async () => {
    hook.setDefault(respond(503));
    const { base } = await startDaemon();
    mx.setDown(true);
    await until(() => at('ops').length >= 1);
    const started = Date.now();
    for (let i = 0; i < 50; i += 1) expect((await reload(base, configText({ extra: i % 2 === 0 }))).status).toBe(200);
    const seconds = (Date.now() - started) / 1000;
    // Backoff 1 s, 2 s, 4 s ... (±50 %): at most a handful of attempts in the time the reloads took.
    const bound = 2 + Math.ceil(Math.log2(1 + seconds / 0.5));
    expect(at('ops').length).toBeLessThanOrEqual(bound);
  });
});
