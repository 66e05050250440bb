#!/usr/bin/env node
// bench/drill-dns.mjs: the daemon while /probe is asked about names whose DNS server never answers. Loopback
// only, inside a private network and mount namespace (`unshare -mn`, needs root or user namespaces): there
// /etc/resolv.conf is bind-mounted to say `nameserver 127.0.0.1`, and a blackhole DNS server on 127.0.0.1:53
// swallows every query. The machine's own resolv.conf and network are never touched.
//
// In the namespace: an SMTP responder, the built daemon (`node DIST/dist/src/cli/main.js run --config F`) with
// one scheduled target `smtp://localhost:PORT` every 1 s (a hosts-file name: getaddrinfo resolves it on libuv's
// thread pool, the new lookup from the file), then PROBES requests `/probe?target=smtp://blackhole-N.test:25`
// spread over SECONDS, each name different. Reported per window (baseline, flood, after): scheduled runs green
// of total, peak open fds (/proc/PID/fd), peak RSS, queries the blackhole received; the /probe answers; and the
// daemon's non-JSON output lines (warnings such as MaxListenersExceededWarning).
// Plain ESM, Node 20, no dependencies. Everything started is stopped by PID on every exit path; a watchdog
// ends the drill after 10 minutes whatever happens.
//
//   npm run build && node bench/drill-dns.mjs                          # this tree
//   node bench/drill-dns.mjs --dist /tmp/before --label "old main"     # another built tree, same drill
//   node bench/drill-dns.mjs --probes 240 --seconds 30 --after 60
//
// Figures of 2026-12-04 (240 probes over 30 s, 60 s after; scheduled runs green/total, peak fds, peak RSS):
//   old main 27b7a74 (dns.lookup, getaddrinfo on the 4-thread pool): flood 0/29 (29 dns/timeout), after 0/60
//     (60 dns/timeout, none green within the window: ~240 lookups x 10 s queued on 4 threads), fds 29, RSS 81 MiB
//   this change (c-ares, a resolver per lookup, cancelled at the phase timeout): flood 30/30, after 60/60, the
//     first green run 0.5 s after the flood, fds 40, RSS 106 MiB; /probe answered 240 x 200 (probe_success 0)
//     at p50 813 ms in both.
import { spawn, spawnSync } from 'node:child_process';
import dgram from 'node:dgram';
import { closeSync, existsSync, mkdtempSync, openSync, readFileSync, readdirSync, readlinkSync, rmSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import { ROOT, fmt, freePort, guardDrill, heading, percentile, sleep, startDaemon, stopChild, table, track, untrack, waitFor } from './lib.mjs';

const SELF = fileURLToPath(import.meta.url);
const WATCHDOG_MS = 10 * 60_000;

function options(argv) {
  const o = { dist: ROOT, label: 'this tree', probes: 240, seconds: 30, after: 60, settle: 5, role: null };
  for (let i = 0; i < argv.length; i++) {
    const [k, inline] = argv[i].split('=', 2);
    const v = inline ?? argv[++i];
    if (k === '--dist') o.dist = v;
    else if (k === '--label') o.label = v;
    else if (['--probes', '--seconds', '--after', '--settle'].includes(k)) o[k.slice(2)] = Number(v);
    else if (k === '--role') o.role = v;
    else throw new Error(`unknown argument ${argv[i]}`);
  }
  return o;
}

// ------------------------------------------------------------------------------------------- outside ---

/** Run this file again inside a fresh network + mount namespace; its output is ours. */
async function outside(o, argv) {
  const c = spawn('unshare', ['-mn', process.execPath, SELF, '--role', 'inner', ...argv], { stdio: 'inherit', detached: true });
  track(c.pid);
  const code = await new Promise((resolve) => {
    c.on('error', (e) => resolve(`unshare: ${e.message}`));
    c.on('exit', (status) => resolve(status ?? 1));
  });
  untrack(c.pid);
  if (typeof code === 'string') throw new Error(`${code} (the drill needs unshare -mn: root or user namespaces)`);
  return code;
}

// ------------------------------------------------------------------------------------------- inside ---

/** Loopback up; /etc/resolv.conf (in this mount namespace only) names 127.0.0.1. */
function setUpNamespace(dir) {
  const conf = join(dir, 'resolv.conf');
  writeFileSync(conf, 'nameserver 127.0.0.1\n');
  for (const [cmd, args] of [['ip', ['link', 'set', 'lo', 'up']], ['mount', ['--bind', conf, '/etc/resolv.conf']]]) {
    const r = spawnSync(cmd, args, { encoding: 'utf8' });
    if (r.status !== 0) throw new Error(`${cmd} ${args.join(' ')}: ${r.stderr || r.error?.message}`);
  }
}

/** A DNS server that never answers: counts the queries it swallows. */
async function startBlackhole() {
  const socket = dgram.createSocket('udp4');
  const state = { queries: 0, close: () => new Promise((r) => socket.close(r)) };
  socket.on('message', () => state.queries++);
  await new Promise((resolve, reject) => {
    socket.once('error', reject);
    socket.bind(53, '127.0.0.1', resolve);
  });
  return state;
}

/** A minimal SMTP responder on 127.0.0.1: banner, 250 to everything, 221 to QUIT. */
async function startSmtp() {
  const sockets = new Set();
  const state = { sessions: 0, port: 0 };
  const server = net.createServer((s) => {
    state.sessions++;
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
    s.on('error', () => undefined);
    s.write('220 drill.test ESMTP\r\n');
    s.on('data', (d) => {
      for (const line of d.toString().split('\r\n').filter(Boolean)) s.write(/^QUIT/i.test(line) ? '221 bye\r\n' : '250 ok\r\n');
    });
  });
  await new Promise((r) => server.listen(0, '127.0.0.1', r));
  state.port = server.address().port;
  state.close = () => {
    for (const s of sockets) s.destroy();
    return new Promise((r) => server.close(r));
  };
  return state;
}

function writeConfig(dir, httpPort, smtpPort) {
  const file = join(dir, 'drill.yaml');
  writeFileSync(
    file,
    `global: { interval: 1s, timeout: 900ms, phase_timeout: 800ms, listen: "127.0.0.1:${httpPort}", ehlo: drill.test, state_file: "${join(dir, 'state.json')}" }
modules:
  plain: { tls: none }
targets:
  - { name: drill, url: "smtp://localhost:${smtpPort}", module: plain }
`,
  );
  return file;
}

// ------------------------------------------------------------------------------------------- measuring ---

/** The process's open fds by kind (socket, anon_inode:[eventpoll], pipe, file ...). */
function fdKinds(pid) {
  const kinds = {};
  try {
    for (const fd of readdirSync(`/proc/${pid}/fd`)) {
      let link = 'gone';
      try {
        link = readlinkSync(`/proc/${pid}/fd/${fd}`).replace(/:\[\d+\]$/, '').replace(/^\/.*/, 'file');
      } catch {
        // closed meanwhile
      }
      kinds[link] = (kinds[link] ?? 0) + 1;
    }
  } catch {
    // the process is gone
  }
  return kinds;
}

function rssMiB(pid) {
  try {
    const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m ? Number(m[1]) / 1024 : 0;
  } catch {
    return 0;
  }
}

/** Samples fds, RSS and the blackhole's query count every 250 ms; `mark(name)` starts a new window. */
function sampler(pid, blackhole) {
  const windows = [];
  let cur = null;
  const mark = (name) => {
    if (cur) cur.to = Date.now();
    windows.push((cur = { name, from: Date.now(), to: 0, fds: [0], peakKinds: {}, rss: [0], queriesAtStart: blackhole.queries, queries: 0 }));
  };
  mark('baseline');
  const timer = setInterval(() => {
    const kinds = fdKinds(pid);
    const n = Object.values(kinds).reduce((a, b) => a + b, 0);
    if (n > Math.max(...cur.fds)) cur.peakKinds = kinds;
    cur.fds.push(n);
    cur.rss.push(rssMiB(pid));
  }, 250);
  const close = () => {
    for (const w of windows) w.queries = (windows[windows.indexOf(w) + 1]?.queriesAtStart ?? blackhole.queries) - w.queriesAtStart;
  };
  return { mark, stop: () => (clearInterval(timer), (cur.to = Date.now()), close(), windows) };
}

/** GET path once (no keep-alive); resolves [status or error code, ms]. */
function get(port, path, timeoutMs) {
  const t0 = performance.now();
  return new Promise((resolve) => {
    const req = http.get({ host: '127.0.0.1', port, path, agent: false, timeout: timeoutMs }, (res) => {
      res.resume();
      res.on('end', () => resolve([String(res.statusCode), performance.now() - t0]));
    });
    req.on('timeout', () => req.destroy(new Error('timeout')));
    req.on('error', (e) => resolve([e.message === 'timeout' ? 'timeout' : e.code ?? 'error', performance.now() - t0]));
  });
}

/** `count` /probe requests for never-answered names, evenly spread over `seconds`; answers land in `answers`. */
function flood(port, count, seconds) {
  const answers = [];
  const t0 = Date.now();
  const done = (async () => {
    const pending = [];
    for (let i = 0; i < count; i++) {
      const due = t0 + (i * seconds * 1000) / count;
      if (due > Date.now()) await sleep(due - Date.now());
      const target = encodeURIComponent(`smtp://blackhole-${i}.drill.test:25`);
      pending.push(get(port, `/probe?target=${target}&module=plain`, 120_000).then((a) => answers.push(a)));
    }
    await Promise.all(pending);
  })();
  return { answers, done };
}

/** Scheduled runs of target "drill" in the daemon's log, finished in [from, to): ok, total, first ok time. */
function scheduledRuns(lines, from, to) {
  const out = { ok: 0, total: 0, firstOk: null, reasons: {} };
  for (const j of lines) {
    if (j.target !== 'drill' || j.durationMs === undefined || j.time < from || j.time >= to) continue;
    out.total++;
    if (j.ok) {
      out.ok++;
      out.firstOk ??= j.time;
    } else out.reasons[`${j.phase}/${j.reason}`] = (out.reasons[`${j.phase}/${j.reason}`] ?? 0) + 1;
  }
  return out;
}

// ------------------------------------------------------------------------------------------- the drill ---

async function inside(o) {
  const main = join(o.dist, 'dist/src/cli/main.js');
  if (!existsSync(main)) throw new Error(`${main} is missing: build that tree first (npx tsc -p tsconfig.build.json)`);
  const dir = mkdtempSync(join(tmpdir(), 'smtp-probe-drill-dns-'));
  const started = { blackhole: null, smtp: null, daemon: null };
  try {
    setUpNamespace(dir);
    started.blackhole = await startBlackhole();
    started.smtp = await startSmtp();
    const httpPort = await freePort();
    const logFile = join(dir, 'daemon.log');
    const logFd = openSync(logFile, 'w');
    started.daemon = startDaemon(process.execPath, [main, 'run', '--config', writeConfig(dir, httpPort, started.smtp.port)], logFd);
    closeSync(logFd);
    if (!(await waitFor(async () => (await get(httpPort, '/healthz', 1000))[0] === '200', 10_000))) throw new Error(`no /healthz (log: ${logFile})`);
    const s = sampler(started.daemon.pid, started.blackhole);
    await sleep(o.settle * 1000);
    s.mark('flood');
    const f = flood(httpPort, o.probes, o.seconds);
    await sleep(o.seconds * 1000);
    s.mark('after');
    await sleep(o.after * 1000);
    const windows = s.stop();
    await Promise.race([f.done, sleep(2000)]);
    report(o, windows, readFileSync(logFile, 'utf8'), f.answers, started);
  } finally {
    await stopChild(started.daemon, 5000);
    await started.smtp?.close();
    await started.blackhole?.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

function report(o, windows, log, answers, started) {
  const lines = [];
  const other = [];
  for (const l of log.split('\n').filter(Boolean)) {
    try {
      lines.push(JSON.parse(l));
    } catch {
      other.push(l);
    }
  }
  console.log(heading(`DNS drill: ${o.label} (${o.dist}): ${o.probes} x /probe of never-answered names over ${o.seconds} s`));
  const rows = [['window', 's', 'scheduled runs ok/total', 'failures', 'peak fds', 'fds at the peak', 'peak RSS MiB', 'DNS queries received']];
  for (const w of windows) {
    const r = scheduledRuns(lines, w.from, w.to);
    const reasons = Object.entries(r.reasons).map(([k, v]) => `${v} ${k}`).join(', ') || '-';
    const kinds = Object.entries(w.peakKinds).sort((a, b) => b[1] - a[1]).slice(0, 3).map(([k, v]) => `${v} ${k}`).join(', ');
    rows.push([w.name, fmt((w.to - w.from) / 1000, 1), `${r.ok}/${r.total}`, reasons, Math.max(...w.fds), kinds, fmt(Math.max(...w.rss), 0), w.queries]);
  }
  console.log(table(rows));
  const floodEnd = windows.find((w) => w.name === 'after')?.from ?? 0;
  const firstOk = scheduledRuns(lines, floodEnd, Infinity).firstOk;
  console.log(`first green scheduled run after the flood: ${firstOk === null ? 'none within the window' : `${fmt((firstOk - floodEnd) / 1000, 1)} s after it ended`}`);
  const tally = { unanswered: o.probes - answers.length };
  for (const [k] of answers) tally[k] = (tally[k] ?? 0) + 1;
  const ms = answers.map(([, t]) => t);
  console.log(`/probe answers: ${JSON.stringify(tally)}; latency p50 ${fmt(percentile(ms, 50), 0)} ms, max ${fmt(Math.max(0, ...ms), 0)} ms`);
  console.log(`SMTP sessions the daemon opened: ${started.smtp.sessions}; daemon output lines that are not JSON: ${other.length}`);
  for (const l of [...new Set(other.map((x) => x.replace(/\(node:\d+\)/, '(node)')))].slice(0, Number(process.env.DRILL_LINES ?? 5))) console.log(`  ${l.slice(0, 160)}`);
}

// ------------------------------------------------------------------------------------------- main ---

const argv = process.argv.slice(2);
const o = options(argv);
guardDrill('drill-dns', WATCHDOG_MS);
if (o.role === 'inner') {
  await inside(o);
  process.exit(0);
} else process.exit(await outside(o, argv));
