// Helpers shared by the benchmark sections: statistics, formatting, child processes, ports, /proc readings.
// Plain ESM, Node 20, no dependencies.
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, readFileSync, statSync, readdirSync } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';

export const ROOT = new URL('..', import.meta.url).pathname.replace(/\/$/, '');

// Every child process we start is registered here (by PID, each in its own process group) so that an error, an
// interrupt or a normal exit can never leave one running.
const live = new Set();
process.on('exit', () => {
  for (const pid of live) killGroup(pid, 'SIGKILL');
});
export function track(pid) {
  if (pid) live.add(pid);
}
export function untrack(pid) {
  live.delete(pid);
}
export function killAllTracked(sig = 'SIGTERM') {
  for (const pid of live) killGroup(pid, sig);
}

/** A drill stops by itself: after `ms`, or on SIGINT/SIGTERM, every tracked process is killed and the drill exits. */
export function guardDrill(name, ms) {
  const watchdog = setTimeout(() => {
    console.error(`${name}: watchdog, stopping everything`);
    killAllTracked('SIGKILL');
    process.exit(2);
  }, ms);
  watchdog.unref();
  for (const sig of ['SIGINT', 'SIGTERM']) {
    process.on(sig, () => {
      killAllTracked('SIGKILL');
      process.exit(130);
    });
  }
}

// ------------------------------------------------------------------ statistics ---

export function mean(xs) {
  return xs.length === 0 ? NaN : xs.reduce((a, b) => a + b, 0) / xs.length;
}

/** Nearest-rank percentile, p in 0..100. */
export function percentile(xs, p) {
  if (xs.length === 0) return NaN;
  const s = [...xs].sort((a, b) => a - b);
  const i = Math.min(s.length - 1, Math.max(0, Math.ceil((p / 100) * s.length) - 1));
  return s[i];
}

export const median = (xs) => percentile(xs, 50);

// ------------------------------------------------------------------ formatting ---

export function fmt(x, digits = 2) {
  if (x === null || x === undefined || Number.isNaN(x)) return 'n/a';
  if (!Number.isFinite(x)) return String(x);
  const a = Math.abs(x);
  const d = a >= 1000 ? 0 : a >= 100 ? Math.min(digits, 1) : digits;
  return x.toFixed(d);
}

export const pct = (x) => (Number.isFinite(x) ? `${(x * 100).toFixed(0)}%` : 'n/a');
export const ratio = (x) => (Number.isFinite(x) ? `${x.toFixed(2)}x` : 'n/a');

/** A plain text table: rows of cells, first row is the header. Numbers right-aligned. */
export function table(rows) {
  const widths = rows[0].map((_, i) => Math.max(...rows.map((r) => String(r[i] ?? '').length)));
  const line = (r) =>
    r
      .map((c, i) => {
        const s = String(c ?? '');
        return i === 0 ? s.padEnd(widths[i]) : s.padStart(widths[i]);
      })
      .join('  ')
      .trimEnd();
  return [line(rows[0]), widths.map((w) => '-'.repeat(w)).join('  '), ...rows.slice(1).map(line)].join('\n');
}

export function heading(text) {
  const bar = '='.repeat(Math.max(60, text.length));
  return `\n${bar}\n${text}\n${bar}`;
}

export function target(label, met, detail) {
  return `  TARGET ${label}: ${met === null ? 'NOT MEASURED' : met ? 'MET' : 'NOT MET'}${detail ? ` (${detail})` : ''}`;
}

// ------------------------------------------------------------------ processes ---

/**
 * Run a command to completion with a hard time limit (SIGKILL to its process group after `timeoutMs`).
 * Resolves { code, signal, stdout, stderr, wallMs, timedOut }. Never rejects for a non-zero exit.
 */
export function run(cmd, args, { timeoutMs = 60_000, env, input, cwd = ROOT } = {}) {
  return new Promise((resolve, reject) => {
    const t0 = performance.now();
    let child;
    try {
      child = spawn(cmd, args, { cwd, env: env ?? process.env, stdio: [input === undefined ? 'ignore' : 'pipe', 'pipe', 'pipe'], detached: true });
    } catch (e) {
      reject(e);
      return;
    }
    track(child.pid);
    const out = [];
    const err = [];
    let timedOut = false;
    child.stdout.on('data', (b) => out.push(b));
    child.stderr.on('data', (b) => err.push(b));
    const timer = setTimeout(() => {
      timedOut = true;
      killGroup(child.pid, 'SIGKILL');
    }, timeoutMs);
    child.on('error', (e) => {
      clearTimeout(timer);
      untrack(child.pid);
      reject(e);
    });
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      untrack(child.pid);
      resolve({
        code,
        signal,
        timedOut,
        wallMs: performance.now() - t0,
        stdout: Buffer.concat(out).toString('utf8'),
        stderr: Buffer.concat(err).toString('utf8'),
      });
    });
    if (child.stdin) {
      child.stdin.on('error', () => undefined); // the child may exit without reading its input
      child.stdin.end(input);
    }
  });
}

/** Signal a process group we created (detached child); ignore "no such process". */
export function killGroup(pid, sig = 'SIGTERM') {
  if (!pid) return;
  try {
    process.kill(-pid, sig);
  } catch {
    try {
      process.kill(pid, sig);
    } catch {
      // already gone
    }
  }
}

export function alive(pid) {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/** Stop a long-running child we started: SIGTERM, then SIGKILL after `graceMs`. Resolves when it is gone. */
export async function stopChild(child, graceMs = 3000) {
  if (!child) return;
  if (child.exitCode !== null || child.signalCode !== null) {
    untrack(child.pid);
    return;
  }
  const gone = new Promise((r) => child.once('exit', r));
  killGroup(child.pid, 'SIGTERM');
  const t = setTimeout(() => killGroup(child.pid, 'SIGKILL'), graceMs);
  await Promise.race([gone, sleep(graceMs + 2000)]);
  clearTimeout(t);
  untrack(child.pid);
}

/**
 * Start a long-running daemon (own process group, tracked), stdout/stderr to `logFile`. The caller stops it
 * with stopChild() in a finally block.
 */
export function startDaemon(cmd, args, logFd) {
  const child = spawn(cmd, args, { cwd: ROOT, stdio: ['ignore', logFd, logFd], detached: true });
  track(child.pid);
  child.on('error', () => untrack(child.pid));
  return child;
}

export const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

// ------------------------------------------------------------------ network ---

/** A free TCP port on 127.0.0.1 (bind to 0, read, close). */
export function freePort() {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address();
      s.close(() => resolve(port));
    });
  });
}

/** Read the first line a server sends on 127.0.0.1:port (an SMTP banner), or null. Sends QUIT. */
export function readBanner(port, timeoutMs = 3000) {
  return new Promise((resolve) => {
    const sock = net.connect({ host: '127.0.0.1', port });
    let buf = '';
    const done = (v) => {
      clearTimeout(timer);
      sock.destroy();
      resolve(v);
    };
    const timer = setTimeout(() => done(null), timeoutMs);
    sock.on('data', (d) => {
      buf += d.toString('latin1');
      const i = buf.indexOf('\n');
      if (i >= 0) {
        sock.write('QUIT\r\n');
        done(buf.slice(0, i).trim());
      }
    });
    sock.on('error', () => done(null));
    sock.on('close', () => done(buf ? buf.trim() : null));
  });
}

export async function waitFor(fn, timeoutMs, stepMs = 100) {
  const end = Date.now() + timeoutMs;
  while (Date.now() < end) {
    if (await fn()) return true;
    await sleep(stepMs);
  }
  return false;
}

// ------------------------------------------------------------------ /proc ---

const CLK_TCK = 100; // Linux USER_HZ

/** user+sys CPU milliseconds of one process (/proc/PID/stat fields 14, 15), or null. */
export function procCpuMs(pid) {
  try {
    const s = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const f = s.slice(s.lastIndexOf(')') + 2).split(' ');
    return ((Number(f[11]) + Number(f[12])) * 1000) / CLK_TCK;
  } catch {
    return null;
  }
}

/** Peak RSS (VmHWM) of a process in KiB, or null. */
export function procPeakRssKiB(pid) {
  try {
    const m = /VmHWM:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m ? Number(m[1]) : null;
  } catch {
    return null;
  }
}

// ------------------------------------------------------------------ machine ---

export function machineInfo() {
  let cpu = 'unknown';
  try {
    const m = /^model name\s*:\s*(.+)$/m.exec(readFileSync('/proc/cpuinfo', 'utf8'));
    if (m) cpu = m[1].trim();
  } catch {
    // not Linux
  }
  const cores = os.availableParallelism ? os.availableParallelism() : os.cpus().length;
  let postfix = 'not installed';
  const pc = spawnSync('/usr/sbin/postconf', ['-d', '-h', 'mail_version'], { encoding: 'utf8' });
  if (pc.status === 0) postfix = pc.stdout.trim();
  let osName = `${os.type()} ${os.release()}`;
  try {
    const m = /^PRETTY_NAME="?([^"\n]+)"?/m.exec(readFileSync('/etc/os-release', 'utf8'));
    if (m) osName = `${m[1]}, kernel ${os.release()}`;
  } catch {
    // keep uname
  }
  const mem = `${(os.totalmem() / 2 ** 30).toFixed(1)} GiB`;
  return { cpu, cores, node: process.version, postfix, os: osName, mem };
}

/** Newest mtime (ms) of files with one of `exts` under `dir` (recursive). */
export function newestMtime(dir, exts) {
  let newest = 0;
  if (!existsSync(dir)) return 0;
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const p = join(dir, e.name);
    if (e.isDirectory()) newest = Math.max(newest, newestMtime(p, exts));
    else if (exts.some((x) => e.name.endsWith(x))) newest = Math.max(newest, statSync(p).mtimeMs);
  }
  return newest;
}

/** pid -> { ppid, stat fields from field 3 on } of every process in /proc (a snapshot; races with exits ignored). */
function procTable() {
  const out = new Map();
  for (const d of readdirSync('/proc')) {
    if (!/^\d+$/.test(d)) continue;
    try {
      const s = readFileSync(`/proc/${d}/stat`, 'utf8');
      const f = s.slice(s.lastIndexOf(')') + 2).split(' ');
      out.set(Number(d), { ppid: Number(f[1]), f });
    } catch {
      // raced with exit
    }
  }
  return out;
}

/** rootPid and every live descendant of it (any depth), from one procTable() snapshot. */
function treeOf(rootPid, procs) {
  const tree = new Set([rootPid]);
  for (let grew = true; grew; ) {
    grew = false;
    for (const [pid, p] of procs) {
      if (!tree.has(pid) && tree.has(p.ppid)) {
        tree.add(pid);
        grew = true;
      }
    }
  }
  return [...tree].filter((pid) => procs.has(pid));
}

/**
 * CPU ms (user+sys) used by a process and all its descendants (a daemon with worker processes, Postfix's master
 * with smtpd, tlsmgr, ...): each live process's own time (all its threads) plus the time of the children it has
 * reaped (cutime, cstime). A child that exits between two readings moves from "live" into its parent's reaped
 * time, so the difference of two readings is the CPU the whole tree spent in between.
 */
export function treeCpuMs(rootPid) {
  const procs = procTable();
  let total = 0;
  for (const pid of treeOf(rootPid, procs)) {
    const f = procs.get(pid).f;
    total += Number(f[11]) + Number(f[12]) + Number(f[13]) + Number(f[14]);
  }
  return (total * 1000) / CLK_TCK;
}

/** Resident memory of a process and its descendants, KiB: { rss: sum of VmRSS, hwm: sum of VmHWM, procs }. */
export function treeMemKiB(rootPid) {
  let rss = 0;
  let hwm = 0;
  let procs = 0;
  for (const pid of treeOf(rootPid, procTable())) {
    try {
      const s = readFileSync(`/proc/${pid}/status`, 'utf8');
      rss += Number(/VmRSS:\s+(\d+) kB/.exec(s)?.[1] ?? 0);
      hwm += Number(/VmHWM:\s+(\d+) kB/.exec(s)?.[1] ?? 0);
      procs += 1;
    } catch {
      // raced with exit
    }
  }
  return { rss, hwm, procs };
}

/** CPU ms (user+sys) of the children this process has reaped so far (/proc/self/stat cutime + cstime, 10 ms ticks). */
export function reapedChildrenCpuMs() {
  const s = readFileSync('/proc/self/stat', 'utf8');
  const f = s.slice(s.lastIndexOf(')') + 2).split(' ');
  return ((Number(f[13]) + Number(f[14])) * 1000) / CLK_TCK;
}

/**
 * The smtp-probe CLI every section runs as a process: the single-file bundle `dist/bundle/cli.js` when it has been
 * built, else the compiled `dist/src/cli/main.js`. { path, label } (label: the path relative to the checkout).
 */
export function cliEntry() {
  const bundle = join(ROOT, 'dist/bundle/cli.js');
  const path = existsSync(bundle) ? bundle : join(ROOT, 'dist/src/cli/main.js');
  return { path, label: path.slice(ROOT.length + 1) };
}

/** The PID of the test stack's Postfix master (from its pid file under the stack's directory), or null. */
export function postfixMasterPid(stackDir) {
  try {
    const pid = Number(readFileSync(join(stackDir, 'postfix-queue/pid/master.pid'), 'utf8').trim());
    return pid > 0 && alive(pid) ? pid : null;
  } catch {
    return null;
  }
}
