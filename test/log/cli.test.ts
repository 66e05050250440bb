/**
 * --log-format on the commands, as processes (the built CLI, dist/src/cli/main.js, stderr a pipe unless a test gives
 * it a terminal): `run --log-format text` writes readable lines, `--log-format json` JSON lines, `auto` on a real
 * terminal (a pty from script(1)) writes text, and a bad value is a usage error naming the flag.
 */
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, afterEach, beforeAll, describe, expect, test } from 'vitest';
import { closeAll } from '../helpers/cleanup.js';
import { cli } from '../helpers/cli.js';
import { startFakeMx, type FakeMx } from '../helpers/fake-mx.js';
import { freePort } from '../helpers/ports.js';
import { onPath } from '../examples/support.js';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const MAIN = join(ROOT, 'dist/src/cli/main.js');
/** One text record: local time, the level padded to five, the message, then key=value fields. */
const TEXT = /^\d\d:\d\d:\d\d\.\d{3} (TRACE|DEBUG|INFO |WARN |ERROR|FATAL) \S.*$/;

let mx: FakeMx;
let dir: string;
let config: string;
const children: ChildProcess[] = [];

beforeAll(async () => {
  expect(existsSync(MAIN), 'build first: npm run build').toBe(true);
  mx = await startFakeMx();
  dir = mkdtempSync(join(tmpdir(), 'smtp-probe-log-'));
  config = join(dir, 'config.yaml');
  writeFileSync(
    config,
    `global: { interval: 1s, timeout: 800ms, phase_timeout: 500ms, ehlo: probe.test }
modules:
  plain: { tls: none }
targets:
  - { name: healthy, url: "smtp://127.0.0.1:${mx.port}", module: plain }
  - { name: down, url: "smtp://127.0.0.1:${await freePort()}", module: plain }
`,
  );
});
afterEach(() => {
  for (const c of children.splice(0)) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
});
afterAll(async () => {
  await closeAll();
  rmSync(dir, { recursive: true, force: true });
});

async function until(what: () => boolean, ms = 15_000): Promise<void> {
  for (const end = Date.now() + ms; !what(); await new Promise((r) => setTimeout(r, 20))) {
    if (Date.now() > end) throw new Error('condition not met in time');
  }
}

/** `run` until both targets have logged a run, then SIGTERM (to its PID); its stderr lines and exit code. */
async function runUntilBothLogged(format: 'text' | 'json', done: (stderr: string) => boolean): Promise<{ lines: string[]; code: number | null }> {
  const child = spawn(process.execPath, [MAIN, 'run', '--config', config, '--listen', '127.0.0.1:0', '--log-format', format], {
    stdio: ['ignore', 'ignore', 'pipe'],
    env: { ...process.env, TERM: 'xterm-256color', NO_COLOR: undefined },
  });
  children.push(child);
  let err = '';
  child.stderr!.on('data', (d: Buffer) => (err += d.toString()));
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  await until(() => done(err) || child.exitCode !== null);
  child.kill('SIGTERM');
  const code = await exited;
  return { lines: err.split('\n').filter((l) => l !== ''), code };
}

describe('run --log-format', () => {
  test('text: every stderr line is one readable record; the failure message quoted, no colour on a pipe', async () => {
    const { lines, code } = await runUntilBothLogged('text', (e) => /run finished target=healthy/.test(e) && /run failed target=down/.test(e));
    expect(code).toBe(0);
    for (const line of lines) expect(line).toMatch(TEXT);
    expect(lines.join('\n')).not.toContain('\x1b');
    expect(lines.some((l) => /^\S+ INFO  smtp-probe started targets=2 shard=null listen=127\.0\.0\.1:\d+ workers=\d+$/.test(l)), lines.join('\n')).toBe(true);
    expect(lines.some((l) => /^\S+ INFO  run finished target=healthy ok=true durationMs=[\d.]+$/.test(l))).toBe(true);
    const failed = lines.find((l) => / WARN  run failed target=down /.test(l));
    expect(failed).toMatch(/ ok=false durationMs=[\d.]+ phase=connect reason=connect code=null message="connection refused by 127\.0\.0\.1:\d+"$/);
    expect(lines.some((l) => l.startsWith('{'))).toBe(false);
  }, 30_000);

  test('json: every stderr line is a JSON object, the same records', async () => {
    const { lines, code } = await runUntilBothLogged('json', (e) => /"msg":"run finished"/.test(e) && /"target":"down"[^\n]*"msg":"run failed"/.test(e));
    expect(code).toBe(0);
    const records = lines.map((l) => JSON.parse(l) as Record<string, unknown>);
    expect(records.find((r) => r.msg === 'smtp-probe started')).toMatchObject({ level: 30, name: 'smtp-probe', targets: 2 });
    expect(records.find((r) => r.msg === 'run finished')).toMatchObject({ level: 30, target: 'healthy', ok: true });
    expect(records.find((r) => r.msg === 'run failed')).toMatchObject({ level: 40, target: 'down', ok: false, reason: 'connect' });
    for (const line of lines) expect(line).not.toMatch(TEXT);
  }, 30_000);
});

describe('auto on a real terminal', () => {
  test('check --log-level info under a pty: the log line is text, in colour; on a pipe the same check logs JSON', async (ctx) => {
    const script = onPath('script');
    if (!script) ctx.skip('script(1) (util-linux) is not on PATH: no pty to run under');
    const args = [MAIN, 'check', `smtp://127.0.0.1:${mx.port}`, '--tls', 'none', '--log-level', 'info'];
    // CI set (as .ci/run sets it) makes Node count a terminal colourless: this is the terminal of a person.
    const env = { ...process.env, TERM: 'xterm-256color', NO_COLOR: undefined, CI: undefined };
    const command = [process.execPath, ...args].map((a) => `'${a.replaceAll("'", "'\\''")}'`).join(' ');
    const onTty = await new Promise<string>((resolve) =>
      execFile(script!, ['-qfec', command, '/dev/null'], { env, timeout: 20_000 }, (_e, stdout) => resolve(stdout)),
    );
    const line = onTty.split(/\r?\n/).find((l) => l.includes('check finished'));
    expect(line, onTty).toMatch(/^\x1b\[2m\d\d:\d\d:\d\d\.\d{3}\x1b\[0m \x1b\[32mINFO \x1b\[0m check finished \x1b\[2mtarget=\x1b\[0m/);
    const onPipe = await new Promise<string>((resolve) =>
      execFile(process.execPath, args, { env, timeout: 20_000 }, (_e, _stdout, stderr) => resolve(stderr)),
    );
    expect(JSON.parse(onPipe.split('\n').find((l) => l.includes('check finished'))!)).toMatchObject({ msg: 'check finished', ok: true });
  }, 30_000);
});

describe('a bad --log-format', () => {
  test('is a usage error naming the flag, on run, demo and check (nagios: UNKNOWN)', async () => {
    for (const argv of [
      ['run', '--config', config, '--log-format', 'yaml'],
      ['demo', '--log-format', 'yaml'],
      ['check', `smtp://127.0.0.1:${mx.port}`, '--log-format', 'yaml'],
    ]) {
      const r = await cli(argv);
      expect(r.code, argv.join(' ')).toBe(2);
      expect(r.stderr).toContain('--log-format: "yaml" is not one of auto, json, text');
    }
    const nagios = await cli(['check', `smtp://127.0.0.1:${mx.port}`, '--format', 'nagios', '--log-format', 'yaml']);
    expect(nagios.code).toBe(3);
    expect(nagios.stdout).toMatch(/^SMTP UNKNOWN - --log-format: "yaml" is not one of auto, json, text/);
  });

  test('a good one is taken by each (help lists it)', async () => {
    for (const cmd of ['run', 'demo', 'check']) expect((await cli([cmd, '--help'])).stdout, cmd).toContain('--log-format auto|json|text');
    const r = await cli(['check', `smtp://127.0.0.1:${mx.port}`, '--tls', 'none', '--log-format', 'json', '--format', 'json']);
    expect(r.code).toBe(0);
  });
});
