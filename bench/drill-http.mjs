#!/usr/bin/env node
// bench/drill-http.mjs: the daemon's HTTP side under attack, on loopback only. It starts a small SMTP responder and
// the built daemon (`node DIST/dist/src/cli/main.js run --config F`, one scheduled target every 1 s), then:
//   (a) a /probe flood: N concurrent GET /probe (default 10,000), each on its own connection;
//   (b) a slowloris: N idle half-sent requests (default 20,000) held open for S seconds.
// Throughout it samples the daemon's open fds (/proc/PID/fd) and RSS, times GET /healthz on a fresh connection,
// and counts the scheduled runs from the daemon's log (each must finish green within its 900 ms timeout).
// Plain ESM, Node 20, no dependencies. Attackers are child processes (each holds at most 10,000 sockets, from
// its own 127.0.0.x source address); every process started is stopped by PID on every exit path.
//
//   npm run build && node bench/drill-http.mjs                         # this tree
//   node bench/drill-http.mjs --dist /tmp/before --label "old main"    # another built tree, same drill
//   node bench/drill-http.mjs --probes 2000 --idle 3000 --hold 10      # smaller
import { spawn } from 'node:child_process';
import { closeSync, existsSync, mkdtempSync, openSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import { ROOT, fmt, freePort, guardDrill, heading, percentile, sleep, startDaemon, stopChild, table, track, untrack, waitFor } from './lib.mjs';

const SELF = fileURLToPath(import.meta.url);
const PER_ATTACKER = 10_000;
/** The whole drill ends by itself after this, whatever happens. */
const WATCHDOG_MS = 10 * 60_000;

// ------------------------------------------------------------------------------------------- options ---

function options(argv) {
  const o = { dist: ROOT, label: 'this tree', probes: 10_000, idle: 20_000, hold: 20, settle: 5, role: null, rest: {} };
  for (let i = 0; i < argv.length; i++) {
    const [k, inline] = argv[i].split('=', 2);
    const v = inline ?? argv[++i];
    if (k === '--dist') o.dist = v;
    else if (k === '--label') o.label = v;
    else if (k === '--probes') o.probes = Number(v);
    else if (k === '--idle') o.idle = Number(v);
    else if (k === '--hold') o.hold = Number(v);
    else if (k === '--settle') o.settle = Number(v);
    else if (k === '--role') o.role = v;
    else if (k.startsWith('--')) o.rest[k.slice(2)] = v;
    else throw new Error(`unknown argument ${argv[i]}`);
  }
  return o;
}

// ------------------------------------------------------------------------------------------- roles ---

/** Role smtp: a minimal SMTP responder on two ports (scheduled, probe); prints its ports, then counts every second. */
async function roleSmtp() {
  const counts = { scheduled: 0, probe: 0, open: 0 };
  const serve = (kind) =>
    net.createServer((s) => {
      counts[kind]++;
      counts.open++;
      s.on('close', () => counts.open--);
      s.on('error', () => undefined);
      s.write('220 drill.test ESMTP\r\n');
      s.on('data', (d) => {
        for (const line of d.toString().split('\r\n').filter(Boolean)) s.write(/^QUIT/i.test(line) ? '221 bye\r\n' : '250 ok\r\n');
      });
    });
  const servers = [serve('scheduled'), serve('probe')];
  await Promise.all(servers.map((s) => new Promise((r) => s.listen(0, '127.0.0.1', 1024, r))));
  console.log(JSON.stringify({ ports: servers.map((s) => s.address().port) }));
  setInterval(() => console.log(JSON.stringify({ counts })), 1000);
}

/** Role flood: `count` concurrent GET /probe, one connection each, from `local`; prints the answers' tally. */
async function roleFlood({ port, count, local, path, seconds }) {
  const tally = {};
  const add = (k) => (tally[k] = (tally[k] ?? 0) + 1);
  const one = () =>
    new Promise((resolve) => {
      const req = http.get({ host: '127.0.0.1', port, path, localAddress: local, agent: false, timeout: seconds * 1000 }, (res) => {
        res.resume();
        res.on('end', () => resolve(add(String(res.statusCode))));
        res.on('error', () => resolve(add('reset')));
      });
      req.on('timeout', () => req.destroy(new Error('timeout')));
      req.on('error', (e) => resolve(add(e.message === 'timeout' ? 'timeout' : e.code ?? 'error')));
    });
  await Promise.all(Array.from({ length: Number(count) }, one));
  console.log(JSON.stringify({ tally }));
  process.exit(0);
}

/** Role idle: `count` half-sent requests from `local`, held `seconds`; prints how many the server closed, and when. */
async function roleIdle({ port, count, local, seconds }) {
  const t0 = performance.now();
  const closedAt = [];
  const sockets = [];
  let refused = 0;
  for (let i = 0; i < Number(count); i++) {
    const s = net.connect({ host: '127.0.0.1', port, localAddress: local });
    sockets.push(s);
    s.on('connect', () => s.write('GET /metrics HTTP/1.1\r\nHost: drill\r\nX-Slow: '));
    s.on('error', () => refused++);
    s.on('close', () => closedAt.push(performance.now() - t0));
    s.resume();
    if (i % 500 === 499) await sleep(5); // let the accept queue drain a little; still ~all at once
  }
  await sleep(Number(seconds) * 1000);
  const byServer = closedAt.length;
  for (const s of sockets) s.destroy();
  console.log(JSON.stringify({ opened: sockets.length, closedByServer: byServer, errors: refused, closeMs: { p50: percentile(closedAt, 50), max: Math.max(0, ...closedAt) } }));
  process.exit(0);
}

// ------------------------------------------------------------------------------------------- children ---

/** Start this file in a role as a tracked child (own process group); resolves its stdout JSON lines via onLine. */
function child(role, args, onLine) {
  const argv = [SELF, '--role', role, ...Object.entries(args).flatMap(([k, v]) => [`--${k}`, String(v)])];
  const c = spawn(process.execPath, argv, { stdio: ['ignore', 'pipe', 'inherit'], detached: true });
  track(c.pid);
  let buf = '';
  c.stdout.on('data', (d) => {
    buf += d;
    for (let i = buf.indexOf('\n'); i >= 0; i = buf.indexOf('\n')) {
      const line = buf.slice(0, i);
      buf = buf.slice(i + 1);
      if (line.trim()) onLine(JSON.parse(line));
    }
  });
  c.on('exit', () => untrack(c.pid));
  return c;
}

/** Run attackers of one role (at most PER_ATTACKER sockets each, source 127.0.0.2, .3, ...) to their end. */
async function attack(role, total, args) {
  const results = [];
  const runs = [];
  for (let i = 0, left = total; left > 0; i++, left -= PER_ATTACKER) {
    const c = child(role, { ...args, count: Math.min(PER_ATTACKER, left), local: `127.0.0.${i + 2}` }, (m) => results.push(m));
    runs.push(new Promise((r) => c.once('exit', r)));
  }
  await Promise.all(runs);
  return results;
}

// ------------------------------------------------------------------------------------------- sampling ---

function fdCount(pid) {
  try {
    return readdirSync(`/proc/${pid}/fd`).length;
  } catch {
    return null;
  }
}

function rssMiB(pid) {
  try {
    const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m ? Number(m[1]) / 1024 : null;
  } catch {
    return null;
  }
}

/** GET /healthz on a fresh connection: its latency in ms, or why it failed (status, ECONNRESET, timeout: no answer in 2 s). */
function healthz(port) {
  const t0 = performance.now();
  return new Promise((resolve) => {
    const req = http.get({ host: '127.0.0.1', port, path: '/healthz', agent: false, timeout: 2000 }, (res) => {
      res.resume();
      res.on('end', () => resolve(res.statusCode === 200 ? performance.now() - t0 : String(res.statusCode)));
    });
    req.on('timeout', () => req.destroy(new Error('timeout')));
    req.on('error', (e) => resolve(e.message === 'timeout' ? 'timeout' : e.code ?? 'error'));
  });
}

/** Samples fds, RSS and /healthz until stopped; `mark(name)` starts a new window. */
function sampler(pid, port) {
  const windows = [];
  let cur = null;
  let stopped = false;
  const mark = (name) => windows.push((cur = { name, from: Date.now(), to: 0, fds: [], rss: [], health: [], healthFailed: {} }));
  const loop = async () => {
    while (!stopped) {
      const w = cur;
      w.fds.push(fdCount(pid) ?? 0);
      w.rss.push(rssMiB(pid) ?? 0);
      const ms = await healthz(port);
      if (typeof ms === 'number') w.health.push(ms);
      else w.healthFailed[ms] = (w.healthFailed[ms] ?? 0) + 1;
      await sleep(200);
    }
  };
  mark('baseline');
  const done = loop();
  return {
    mark: (name) => {
      cur.to = Date.now();
      mark(name);
    },
    stop: async () => {
      stopped = true;
      await done;
      cur.to = Date.now();
      return windows;
    },
  };
}

// ------------------------------------------------------------------------------------------- the drill ---

/** Scheduled runs of target "drill" from the daemon's JSON log, finished (or skipped) in [from, to). */
function scheduledRuns(logFile, from, to) {
  let ok = 0;
  let failed = 0;
  let skipped = 0;
  for (const line of readFileSync(logFile, 'utf8').split('\n')) {
    if (!line.includes('"target":"drill"')) continue;
    try {
      const j = JSON.parse(line);
      if (j.time < from || j.time >= to) continue;
      if (/^run skipped/.test(j.msg ?? '')) skipped++;
      else if (j.durationMs === undefined) continue;
      else if (j.ok) ok++;
      else failed++;
    } catch {
      // a line cut short
    }
  }
  return { ok, failed, skipped };
}

function writeConfig(dir, port, smtpPort) {
  const file = join(dir, 'drill.yaml');
  writeFileSync(
    file,
    `global: { interval: 1s, timeout: 900ms, phase_timeout: 800ms, listen: "127.0.0.1:${port}", ehlo: drill.test }
modules:
  plain: { tls: none }
targets:
  - { name: drill, url: "smtp://127.0.0.1:${smtpPort}", module: plain }
`,
  );
  return file;
}

async function startStack(o, dir) {
  const ports = await new Promise((resolve) => {
    stack.smtp = child('smtp', {}, (m) => (m.ports ? resolve(m.ports) : (stack.smtpCounts = m.counts)));
  });
  const httpPort = await freePort();
  const logFile = join(dir, 'daemon.log');
  const logFd = openSync(logFile, 'w');
  const main = join(o.dist, 'dist/src/cli/main.js');
  stack.daemon = startDaemon(process.execPath, [main, 'run', '--config', writeConfig(dir, httpPort, ports[0])], logFd);
  closeSync(logFd);
  if (!(await waitFor(async () => typeof (await healthz(httpPort)) === 'number', 10_000))) throw new Error(`the daemon did not answer /healthz (log: ${logFile})`);
  return { httpPort, probePort: ports[1], logFile };
}

const stack = { smtp: null, daemon: null, smtpCounts: null };

async function drill(o) {
  const main = join(o.dist, 'dist/src/cli/main.js');
  if (!existsSync(main)) throw new Error(`${main} is missing: build that tree first (npx tsc -p tsconfig.build.json)`);
  const dir = mkdtempSync(join(tmpdir(), 'smtp-probe-drill-'));
  try {
    const { httpPort, probePort, logFile } = await startStack(o, dir);
    const pid = stack.daemon.pid;
    const s = sampler(pid, httpPort);
    await sleep(o.settle * 1000);
    s.mark('a: /probe flood');
    const path = `/probe?target=${encodeURIComponent(`smtp://127.0.0.1:${probePort}`)}&module=plain`;
    const flood = await attack('flood', o.probes, { port: httpPort, path, seconds: 60 });
    s.mark('after a');
    await sleep(o.settle * 1000);
    s.mark('b: slowloris');
    const idle = await attack('idle', o.idle, { port: httpPort, seconds: o.hold });
    s.mark('after b');
    await sleep(o.settle * 1000);
    const windows = await s.stop();
    report(o, windows, logFile, flood, idle, stack.daemon);
  } finally {
    await stopChild(stack.daemon, 5000);
    await stopChild(stack.smtp, 2000);
    rmSync(dir, { recursive: true, force: true });
  }
}

function report(o, windows, logFile, flood, idle, daemon) {
  console.log(heading(`HTTP drill: ${o.label} (${o.dist}), ${o.probes} x /probe, ${o.idle} x half-sent held ${o.hold} s`));
  const rows = [['window', 's', 'peak fds', 'peak RSS MiB', 'runs ok', 'failed', 'skipped', 'healthz ok', 'healthz failed', 'p50 ms', 'p99 ms', 'max ms']];
  for (const w of windows) {
    const runs = scheduledRuns(logFile, w.from, w.to);
    rows.push([
      w.name, fmt((w.to - w.from) / 1000, 1), Math.max(...w.fds), fmt(Math.max(...w.rss), 0), runs.ok, runs.failed, runs.skipped, w.health.length,
      Object.entries(w.healthFailed).map(([k, v]) => `${v} ${k}`).join(', ') || 0, fmt(percentile(w.health, 50)), fmt(percentile(w.health, 99)), fmt(Math.max(0, ...w.health)),
    ]);
  }
  console.log(table(rows));
  console.log('(runs: the scheduled target, every 1 s, timeout 900 ms; healthz: GET /healthz on a fresh connection every ~200 ms, 2 s limit)');
  const tally = {};
  for (const r of flood) for (const [k, v] of Object.entries(r.tally ?? {})) tally[k] = (tally[k] ?? 0) + v;
  console.log(`\n(a) /probe answers: ${JSON.stringify(tally)}`);
  for (const r of idle) console.log(`(b) half-sent: ${JSON.stringify(r)}`);
  const emfile = readFileSync(logFile, 'utf8').split('\n').filter((l) => l.includes('EMFILE')).length;
  console.log(`SMTP sessions opened by the daemon: ${JSON.stringify(stack.smtpCounts)}`);
  console.log(`daemon log lines mentioning EMFILE: ${emfile}; daemon still running: ${daemon.exitCode === null && daemon.signalCode === null}`);
}

// ------------------------------------------------------------------------------------------- main ---

const o = options(process.argv.slice(2));
if (o.role === 'smtp') await roleSmtp();
else if (o.role === 'flood') await roleFlood(o.rest);
else if (o.role === 'idle') await roleIdle(o.rest);
else {
  guardDrill('drill', WATCHDOG_MS);
  await drill(o);
  process.exit(0);
}
