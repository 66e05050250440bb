/**
 * `smtp-probe run` as a process (the built binary, dist/src/cli/main.js): how it ends. SIGTERM with a state file
 * that cannot be written still ends the process, non-zero, with the port released; kill -9 right after a
 * delivery was acknowledged does not make the restarted daemon send it again.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, test } from 'vitest';
import { toggledServer, type ToggledSmtp } from '../helpers/toggled-smtp.js';
import { startWebhookSink, type WebhookSink } from '../helpers/webhook-sink.js';

interface Running {
  child: ChildProcess;
  port: number;
  stderr: () => string;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null; at: number }>;
}

let dir: string;
let mx: ToggledSmtp;
let hook: WebhookSink;
const children: ChildProcess[] = [];

beforeEach(async () => {
  dir = mkdtempSync(join(tmpdir(), 'smtp-probe-run-'));
  mx = await toggledServer();
  mx.setDown(true);
  hook = await startWebhookSink();
});
afterEach(async () => {
  for (const c of children.splice(0)) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
  await mx.close();
  await hook.close();
});

function writeConfig(stateFile: string): string {
  const file = join(dir, 'config.yaml');
  writeFileSync(
    file,
    `global: { interval: 1s, timeout: 800ms, phase_timeout: 500ms, ehlo: probe.test, state_file: ${stateFile} }
modules:
  plain: { tls: none }
targets:
  - { name: mx1, url: "smtp://127.0.0.1:${mx.port}", module: plain }
alerts:
  rules:
    - { name: smtp_probe_down, kind: down, receivers: [ops], failure_threshold: 1 }
  receivers:
    - { name: ops, type: webhook, url: "${hook.url('/ops')}" }
`,
  );
  return file;
}

/** Starts the daemon and resolves once it listens (its port read from the "smtp-probe started" log line). */
async function startRun(config: string): Promise<Running> {
  const child = spawn(process.execPath, ['dist/src/cli/main.js', 'run', '--config', config, '--listen', '127.0.0.1:0'], {
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  children.push(child);
  let err = '';
  child.stderr!.on('data', (d: Buffer) => (err += d.toString()));
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null; at: number }>((resolve) =>
    child.once('exit', (code, signal) => resolve({ code, signal, at: Date.now() })),
  );
  await until(() => /"listen":"127\.0\.0\.1:\d+"/.test(err) || child.exitCode !== null);
  const port = Number(/"listen":"127\.0\.0\.1:(\d+)"/.exec(err)?.[1]);
  if (!port) throw new Error(`the daemon did not start:\n${err}`);
  return { child, port, stderr: () => err, exited };
}

async function until(what: () => boolean | Promise<boolean>, ms = 15_000): Promise<void> {
  for (const end = Date.now() + ms; !(await what()); await new Promise((r) => setTimeout(r, 20))) {
    if (Date.now() > end) throw new Error('condition not met in time');
  }
}

/** Resolves with the exit, or null if the process is still alive after `ms` (then it is killed). */
async function exitWithin(r: Running, ms: number): Promise<{ code: number | null; afterMs: number } | null> {
  const t0 = Date.now();
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<null>((resolve) => (timer = setTimeout(() => resolve(null), ms)));
  const e = await Promise.race([r.exited, late]);
  clearTimeout(timer);
  if (e === null) {
    r.child.kill('SIGKILL');
    return null;
  }
  return { code: e.code, afterMs: e.at - t0 };
}

const metric = async (port: number, pattern: RegExp): Promise<number | null> => {
  const m = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
  const hit = pattern.exec(m);
  return hit ? Number(hit[1]) : null;
};
const SENT = /^smtp_probe_notifications_total\{receiver="ops",result="sent"\} (\d+)$/m;
const QUEUED = /^smtp_probe_notification_queue_length\{receiver="ops"\} (\d+)$/m;
const FAILED_RUNS = /^smtp_probe_failures_total\{target="mx1",[^}]*\} (\d+)$/m;

const refused = (port: number): Promise<boolean> =>
  new Promise((resolve) => {
    const s = net.connect(port, '127.0.0.1');
    s.once('connect', () => (s.destroy(), resolve(false)));
    s.once('error', () => resolve(true));
  });

describe('run: shutdown', () => {
  test('SIGTERM with a state file that cannot be written: logged, exit 1 within seconds, the port released', async () => {
    const stateFile = join(dir, 'state.json');
    mkdirSync(stateFile); // a directory where the file should be
    const r = await startRun(writeConfig(stateFile));
    await until(() => hook.requests.length >= 1); // an alert fired: there is state to save
    r.child.kill('SIGTERM');
    const e = await exitWithin(r, 15_000);
    expect(e, `still running 15 s after SIGTERM:\n${r.stderr()}`).not.toBeNull();
    expect(e!.code).toBe(1);
    expect(r.stderr()).toMatch(/cannot write the state file/);
    expect(await refused(r.port)).toBe(true);
  }, 40_000);
});

describe('run: kill -9 after a delivery', () => {
  test('the restarted daemon does not send again what the killed one had delivered', async () => {
    const config = writeConfig(join(dir, 'state', 'state.json'));
    const first = await startRun(config);
    await until(async () => (await metric(first.port, SENT)) === 1);
    first.child.kill('SIGKILL');
    await first.exited;
    expect(hook.requests).toHaveLength(1);
    const second = await startRun(config);
    // Two runs of the restarted daemon, its queue empty: a restored copy would have gone out by now.
    await until(async () => ((await metric(second.port, FAILED_RUNS)) ?? 0) >= 2 && (await metric(second.port, QUEUED)) === 0);
    expect(await metric(second.port, SENT)).toBe(0);
    expect(hook.requests).toHaveLength(1);
    second.child.kill('SIGTERM');
    expect((await exitWithin(second, 15_000))?.code).toBe(0);
  }, 40_000);
});
