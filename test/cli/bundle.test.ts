/**
 * The bin is the esbuild bundle (scripts/bundle.mjs, run by `npm run build` and `prepare`): dist/bundle/cli.js
 * loads dist/bundle/app.js, which holds every command. It must do what dist/src/cli/main.js does, and a plain
 * `check`, the one-shot case whose wall time is mostly start-up, must load no npm package: the tests spawn the
 * built files with an import trace.
 */
import { execFile, spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import module from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { testCa, TEST_SERVER_NAME } from '../helpers/certs.js';
import { closeAll } from '../helpers/cleanup.js';
import { startFakeMx, type FakeMx } from '../helpers/fake-mx.js';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const BUNDLE = join(ROOT, 'dist/bundle/cli.js');
const APP = join(ROOT, 'dist/bundle/app.js');
const MAIN = join(ROOT, 'dist/src/cli/main.js');

interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

function node(args: string[], env: NodeJS.ProcessEnv = {}): Promise<Run> {
  return new Promise((resolve) => {
    execFile(process.execPath, args, { env: { ...process.env, ...env }, timeout: 20_000 }, (err, stdout, stderr) => {
      resolve({ code: err ? (typeof err.code === 'number' ? err.code : -1) : 0, stdout, stderr });
    });
  });
}

/**
 * A preload (node --import) that writes every file the process loads: ES modules through a load hook as they load,
 * CommonJS ones from require.cache at exit. One "LOADED <path>" line each on stderr, written whole even when the
 * pipe is full (stderr is non-blocking: a plain writeSync can fail with EAGAIN).
 */
const WRITE = `function out(s) { let b = Buffer.from(s); while (b.length > 0) { try { b = b.subarray(writeSync(2, b)); } catch (e) { if (e.code !== 'EAGAIN') throw e; } } }`;
const HOOK = `import { writeSync } from 'node:fs'; ${WRITE}
export async function load(url, context, next) { if (url.startsWith('file:')) out('LOADED ' + new URL(url).pathname + '\\n'); return next(url, context); }`;
const TRACE = `data:text/javascript,${encodeURIComponent(`
import { writeSync } from 'node:fs';
import { createRequire, register } from 'node:module';
${WRITE}
register(${JSON.stringify(`data:text/javascript,${encodeURIComponent(HOOK)}`)});
const require = createRequire(process.cwd() + '/');
process.on('exit', () => out(Object.keys(require.cache).map((f) => 'LOADED ' + f + '\\n').join('')));
`)}`;

/** The npm packages a traced run loaded, by name. */
function packagesLoaded(stderr: string): string[] {
  const names = new Set<string>();
  for (const line of stderr.split('\n')) {
    if (!line.startsWith('LOADED ')) continue;
    const m = [...line.matchAll(/\/node_modules\/((?:@[^/]+\/)?[^/]+)\//g)].at(-1);
    if (m) names.add(m[1]!);
  }
  return [...names].sort();
}

let mx: FakeMx;
let dir: string;
let caFile: string;

beforeAll(async () => {
  expect(existsSync(BUNDLE), 'build first: npm run build (tsc, then scripts/bundle.mjs)').toBe(true);
  mx = await startFakeMx({ users: { probe: 'secret-pass' }, authMethods: ['PLAIN'] });
  dir = mkdtempSync(join(tmpdir(), 'smtp-probe-bundle-'));
  caFile = join(dir, 'ca.pem');
  writeFileSync(caFile, testCa().cert);
});
afterAll(closeAll);

const checkArgs = (): string[] => [
  'check', `smtp://127.0.0.1:${mx.port}`, '--tls', 'starttls', '--ca', caFile, '--servername', TEST_SERVER_NAME,
  '--auth-user', 'probe', '--auth-pass-env', 'BUNDLE_PASS', '--to', 'someone@example.test', '--format', 'json',
];

/** A result record without what differs from one run to the next: times, dates, message and probe IDs. */
function timeless(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(timeless);
  if (value === null || typeof value !== 'object') return value;
  return Object.fromEntries(
    Object.entries(value).map(([k, v]) => [k, /(Ms|At|^date|[iI]d)$/.test(k) ? typeof v : timeless(v)]),
  );
}

describe('the bundle (dist/bundle/cli.js, the bin)', () => {
  test('is built beside dist/src, is the package bin, and has the worker entry when the pool exists', () => {
    const pkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { bin: Record<string, string>; files: string[] };
    expect(pkg.bin['smtp-probe']).toBe('dist/bundle/cli.js');
    expect(pkg.files).toContain('dist/bundle');
    expect(existsSync(APP)).toBe(true);
    expect(readFileSync(BUNDLE, 'utf8').startsWith('#!/usr/bin/env node\n')).toBe(true);
    expect(existsSync(join(ROOT, 'dist/bundle/worker.js'))).toBe(existsSync(join(ROOT, 'src/pool/worker.ts')));
  });

  test('--version prints the package version', async () => {
    const pkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { version: string };
    const r = await node([BUNDLE, '--version']);
    expect(r.code).toBe(0);
    expect(r.stdout).toBe(`smtp-probe ${pkg.version}\n`);
  });

  test('check (STARTTLS, AUTH, a message): the same JSON record as dist/src/cli/main.js, times and IDs aside', async () => {
    const env = { BUNDLE_PASS: 'secret-pass' };
    const [bundled, compiled] = await Promise.all([node([BUNDLE, ...checkArgs()], env), node([MAIN, ...checkArgs()], env)]);
    expect(bundled.stderr).toBe('');
    expect(bundled.code).toBe(0);
    expect(compiled.code).toBe(0);
    const a = JSON.parse(bundled.stdout) as { ok: boolean; results: { phases: { phase: string }[] }[] };
    expect(a.ok).toBe(true);
    expect(a.results[0]!.phases.map((p) => p.phase)).toEqual(
      ['connect', 'banner', 'ehlo', 'starttls', 'tls_upgrade', 'ehlo_tls', 'auth', 'mail', 'rcpt', 'data', 'message', 'noop', 'quit'],
    );
    expect(timeless(a)).toEqual(timeless(JSON.parse(compiled.stdout)));
    expect(mx.received.filter((m) => m.user === 'probe')).toHaveLength(2);
  });

  test('a failing check: the same exit code and the same text report as dist/src/cli/main.js', async () => {
    const args = ['check', 'smtp://127.0.0.1:1', '--tls', 'none', '--format', 'nagios'];
    const [bundled, compiled] = await Promise.all([node([BUNDLE, ...args]), node([MAIN, ...args])]);
    expect(bundled.code).toBe(2);
    expect(bundled.code).toBe(compiled.code);
    const noTimes = (s: string): string => s.replace(/\d+(\.\d+)?(ms|s)\b/g, 'T').replace(/time=[^ ]+/g, 'time=T');
    expect(noTimes(bundled.stdout)).toBe(noTimes(compiled.stdout));
  });
});

describe('what a plain check loads', () => {
  // The packages of the daemon, the config file, the logger, IMAP, non-ASCII messages and the demo.
  const HEAVY = ['zod', 'yaml', 'prom-client', 'undici', 'pino', 'imapflow', 'libmime', 'libqp', 'smtp-server'];

  for (const [name, entry] of [['the bundle', BUNDLE], ['dist/src/cli/main.js', MAIN]] as const) {
    test(`${name}: no npm package at all (${HEAVY.join(', ')}, ...)`, async () => {
      const r = await node(['--import', TRACE, entry, ...checkArgs()], { BUNDLE_PASS: 'secret-pass' });
      expect(r.code).toBe(0);
      expect(r.stderr).toMatch(/^LOADED .*\/cli[/.]/m);
      expect(packagesLoaded(r.stderr)).toEqual([]);
    });
  }

  test('the bundle: two files of its own, cli.js and app.js', async () => {
    const r = await node(['--import', TRACE, BUNDLE, ...checkArgs()], { BUNDLE_PASS: 'secret-pass' });
    const own = r.stderr.split('\n').filter((l) => l.startsWith('LOADED ') && !l.includes('/node_modules/'));
    expect(own.map((l) => l.slice('LOADED '.length)).sort()).toEqual([APP, BUNDLE]);
  });

  test('validate --config (yaml, zod) still loads them, on demand, from the bundle', async () => {
    const r = await node(['--import', TRACE, BUNDLE, 'validate', '--offline', '--config', join(ROOT, 'examples/minimal.yaml')]);
    expect(r.stdout).toContain('ok offline');
    expect(packagesLoaded(r.stderr)).toEqual(expect.arrayContaining(['yaml', 'zod']));
  });

  test('the bundle imports no node: builtin as an ES module (the facade reads every export; ~12 ms on start)', () => {
    const meta = JSON.parse(readFileSync(join(ROOT, 'dist/bundle/meta.json'), 'utf8')) as {
      outputs: Record<string, { imports: { path: string; kind: string; external?: boolean }[] }>;
    };
    const statics = Object.entries(meta.outputs)
      .filter(([file]) => file.endsWith('.js'))
      .flatMap(([file, o]) => o.imports.filter((i) => i.kind === 'import-statement').map((i) => `${file} -> ${i.path}`));
    expect(statics).toEqual([]);
  });
});

describe('the other commands from the bundle', () => {
  test('demo --once: a full STARTTLS + AUTH check against the in-process server (smtp-server from node_modules)', async () => {
    const r = await node([BUNDLE, 'demo', '--once', '--format', 'json']);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect((JSON.parse(r.stdout) as { ok: boolean }).ok).toBe(true);
  });

  test('run: the daemon starts, runs its checks in the bundled worker threads, serves /metrics, stops on SIGTERM', async () => {
    const config = join(dir, 'run.yaml');
    writeFileSync(config, `global: { interval: 2s, timeout: 1s, ehlo: probe.test, workers: 2, state_file: ${join(dir, 'state.json')} }
modules:
  plain: { tls: none }
targets:
  - { name: mx1, url: "smtp://127.0.0.1:${mx.port}", module: plain }
`);
    const child = spawn(process.execPath, ['--import', TRACE, BUNDLE, 'run', '--config', config, '--listen', '127.0.0.1:0'], {
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    // 'close': the exit code and all of stderr (the trace writes its CommonJS list at exit).
    const exited = new Promise<number | null>((resolve) => child.once('close', (code) => resolve(code)));
    let err = '';
    child.stderr.on('data', (d: Buffer) => (err += d.toString()));
    try {
      await until(() => /"listen":"127\.0\.0\.1:\d+"/.test(err) || child.exitCode !== null);
      const port = Number(/"listen":"127\.0\.0\.1:(\d+)"/.exec(err)?.[1]);
      expect(port, err).toBeGreaterThan(0);
      let metrics = '';
      await until(async () => (metrics = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text()).includes('smtp_probe_success{'));
      expect(metrics).toMatch(/^smtp_probe_success\{target="mx1"[^}]*\} 1$/m);
      child.kill('SIGTERM');
      expect(await exited).toBe(0);
      // The worker threads' entry is dist/bundle/worker.js (pool.ts resolves ./worker.js beside app.js): one per thread.
      const loaded = err.split('\n').filter((l) => l.startsWith('LOADED ') && !l.includes('/node_modules/'));
      expect(loaded.filter((l) => l === `LOADED ${join(ROOT, 'dist/bundle/worker.js')}`)).toHaveLength(2);
      expect(loaded.filter((l) => !l.includes('/dist/bundle/'))).toEqual([]);
      expect(packagesLoaded(err)).toEqual(expect.arrayContaining(['pino', 'prom-client', 'yaml', 'zod']));
    } finally {
      if (child.exitCode === null) child.kill('SIGKILL');
    }
  });

  const cacheable = typeof (module as { enableCompileCache?: unknown }).enableCompileCache === 'function';
  test.skipIf(!cacheable)('the bin turns on the compile cache (Node >= 22.1): os.tmpdir()/node-compile-cache', async () => {
    const tmp = mkdtempSync(join(tmpdir(), 'smtp-probe-cache-'));
    const r = await node([BUNDLE, '--version'], { TMPDIR: tmp, NODE_COMPILE_CACHE: undefined as unknown as string });
    expect(r.code).toBe(0);
    expect(readdirSync(join(tmp, 'node-compile-cache')).length).toBeGreaterThan(0);
  });
});

async function until(what: () => boolean | Promise<boolean>, ms = 15_000): Promise<void> {
  for (const end = Date.now() + ms; !(await what()); await new Promise((r) => setTimeout(r, 20))) {
    if (Date.now() > end) throw new Error('condition not met in time');
  }
}
