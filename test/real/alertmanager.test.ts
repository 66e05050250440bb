/**
 * A real Alertmanager (Debian package prometheus-alertmanager) receiving smtp-probe's alerts for a real Postfix
 * that is stopped and started again. A second, private mail stack instance is made for this (stopping Postfix
 * must not disturb the other suites); smtp-probe runs as the built binary. Everything on 127.0.0.1; every
 * process started here is stopped by PID.
 */
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { chmodSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { freePort } from '../helpers/ports.js';
import { startWebhookSink, type WebhookSink } from '../helpers/webhook-sink.js';

if (!process.env.MAILSTACK_HOST) throw new Error('MAILSTACK_* not set: run under .ci/run or eval `bash test/real/mailstack.sh env`');

let dir: string;
let stackDir: string;
let smtpPort: number;
let amPort: number;
let daemonPort: number;
let hook: WebhookSink;
const children: ChildProcess[] = [];


function stack(...args: string[]): void {
  execFileSync('bash', ['test/real/mailstack.sh', ...args], {
    stdio: ['ignore', 'ignore', 'pipe'],
    env: {
      ...process.env,
      MAILSTACK_DIR: stackDir,
      MAILSTACK_SMTP_PORT: String(smtpPort),
      ...Object.fromEntries(portsFor(smtpPort)),
    },
    timeout: 60_000,
  });
}

/** The private instance's other listeners, next to its SMTP port (all must be free: checked by mailstack.sh). */
function portsFor(base: number): [string, string][] {
  return ['SUBMISSION', 'SMTPS', 'POP3', 'POP3S', 'IMAP', 'IMAPS', 'SINK', 'LIMITED'].map((n, i) => [`MAILSTACK_${n}_PORT`, String(base + 1 + i)]);
}

function postfix(action: 'stop' | 'start'): void {
  execFileSync('postfix', ['-c', join(stackDir, 'postfix'), action], { stdio: 'ignore', timeout: 30_000 });
}

function start(cmd: string, args: string[]): ChildProcess {
  const child = spawn(cmd, args, { stdio: ['ignore', 'ignore', 'inherit'] });
  children.push(child);
  return child;
}

async function stopChild(c: ChildProcess): Promise<void> {
  if (c.exitCode !== null || c.signalCode !== null) return;
  const exited = new Promise((r) => c.once('exit', r));
  c.kill('SIGTERM');
  await exited;
}

interface AmAlert {
  labels: Record<string, string>;
  status: { state: string };
  startsAt: string;
  endsAt: string;
}

async function activeAlerts(): Promise<AmAlert[]> {
  const r = await fetch(`http://127.0.0.1:${amPort}/api/v2/alerts?active=true&silenced=false&inhibited=false`);
  return ((await r.json()) as AmAlert[]).filter((a) => a.labels.alertname === 'smtp_probe_down');
}

async function until<T>(what: () => Promise<T> | T, ok: (v: T) => boolean, ms = 60_000): Promise<T> {
  let last: T | undefined;
  for (const end = Date.now() + ms; Date.now() < end; await new Promise((r) => setTimeout(r, 250))) {
    try {
      last = await what();
      if (ok(last)) return last;
    } catch {
      // still starting
    }
  }
  throw new Error(`condition not met in ${ms} ms; last: ${JSON.stringify(last)}`);
}

const hookStatuses = (): string[] => hook.requests.map((r) => (JSON.parse(r.body) as { status: string }).status);

let daemon: ChildProcess;
let configFile: string;
const startDaemon = (): ChildProcess =>
  (daemon = start(process.execPath, ['dist/src/cli/main.js', 'run', '--config', configFile, '--listen', `127.0.0.1:${daemonPort}`, '--log-level', 'warn']));

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'smtp-probe-am-'));
  chmodSync(dir, 0o755); // Postfix and Dovecot users must reach the stack below it
  stackDir = join(dir, 'stack');
  smtpPort = 40_000 + Math.floor(Math.random() * 2000) * 10;
  amPort = await freePort();
  daemonPort = await freePort();
  hook = await startWebhookSink();
  stack('start', stackDir);
  writeFileSync(join(dir, 'am.yml'), `route: { receiver: blackhole, group_wait: 0s, group_interval: 1s, repeat_interval: 1h }\nreceivers: [ { name: blackhole } ]\n`);
  start('prometheus-alertmanager', [
    `--config.file=${join(dir, 'am.yml')}`, `--storage.path=${join(dir, 'am-data')}`,
    `--web.listen-address=127.0.0.1:${amPort}`, '--cluster.listen-address=', '--log.level=warn',
  ]);
  await until(() => fetch(`http://127.0.0.1:${amPort}/-/ready`).then((r) => r.status), (s) => s === 200);
  configFile = join(dir, 'smtp-probe.yaml');
  writeFileSync(
    configFile,
    `global: { interval: 1s, timeout: 900ms, phase_timeout: 800ms, ehlo: probe.test, state_file: ${join(dir, 'state.json')} }
modules:
  mx: { tls: none }
targets:
  - { name: postfix, url: "smtp://127.0.0.1:${smtpPort}", module: mx, labels: { env: ci } }
alerts:
  defaults: { failure_threshold: 3, success_threshold: 2 }
  rules:
    - { name: smtp_probe_down, kind: down, receivers: [alertmanager, hook] }
  receivers:
    - { name: alertmanager, type: alertmanager, url: "http://127.0.0.1:${amPort}" }
    - { name: hook, type: webhook, url: "${hook.url('/hook')}" }
`,
  );
  startDaemon();
}, 120_000);

afterAll(async () => {
  await Promise.all(children.map(stopChild));
  await hook.close();
  try {
    stack('stop', stackDir);
  } catch {
    // already stopped
  }
  rmSync(dir, { recursive: true, force: true });
}, 60_000);

describe('Alertmanager receives smtp-probe alerts for a real Postfix', () => {
  test('healthy at first: no alert', async () => {
    await new Promise((r) => setTimeout(r, 3000));
    expect(await activeAlerts()).toEqual([]);
    expect(hook.requests).toHaveLength(0);
  });

  test('Postfix stopped: the alert fires in Alertmanager, one firing notification on the webhook', async () => {
    postfix('stop');
    const alerts = await until(activeAlerts, (a) => a.length === 1);
    expect(alerts[0]!.labels).toMatchObject({ alertname: 'smtp_probe_down', target: 'postfix', env: 'ci' });
    expect(alerts[0]!.status.state).toBe('active');
    await until(hookStatuses, (s) => s.length === 1);
    await new Promise((r) => setTimeout(r, 3000)); // more failing runs: re-posts to Alertmanager, nothing else
    expect(hookStatuses()).toEqual(['firing']);
    expect(await activeAlerts()).toHaveLength(1);
  });

  test('smtp-probe restarted mid-incident: no duplicate firing', async () => {
    await stopChild(daemon);
    startDaemon();
    await new Promise((r) => setTimeout(r, 4000));
    expect(hookStatuses()).toEqual(['firing']);
    expect(await activeAlerts()).toHaveLength(1);
  });

  test('Postfix started again: the alert resolves in Alertmanager, one resolved notification', async () => {
    postfix('start');
    await until(activeAlerts, (a) => a.length === 0);
    await until(hookStatuses, (s) => s.length === 2);
    await new Promise((r) => setTimeout(r, 2000));
    expect(hookStatuses()).toEqual(['firing', 'resolved']);
  });
});
