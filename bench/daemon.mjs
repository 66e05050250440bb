#!/usr/bin/env node
// bench/daemon.mjs: the daemon (`smtp-probe run`) at fleet scale. 10,000 targets on a 60 s interval against
// Postfix's smtp-sink on loopback, once with the default config (run A: no phase_histograms key, so the default
// per-module histograms) and once with `phase_histograms: target` (run B). With --server postfix, the targets are
// the test stack's real Postfix instead (`npm run bench scale`: 5,000 STARTTLS targets, default config). Reports the
// share of runs started within 1 s of their slot, p99 start lag, runs/s, failures, skipped runs, CPU of the daemon
// and of the server, peak RSS, and the /metrics render time and size. See bench/daemon-README.md. Plain ESM,
// Node 20, no dependencies, installs nothing.
//
//   node bench/daemon.mjs                        # both runs, 200 s each (about 7-8 minutes)
//   node bench/daemon.mjs --duration 20          # a quick smoke run (the "steady" window is then not steady)
//   node bench/daemon.mjs --only A --targets 2000 --variant send
//   node bench/daemon.mjs --server postfix --variant starttls --targets 5000 --only A --default-config --duration 240
//
// Every process it starts (one smtp-sink, one daemon at a time) is stopped by PID on every exit path: normal end,
// error, SIGINT/SIGTERM, and a watchdog that ends the whole benchmark if it overruns. The test stack's Postfix is
// never started, stopped or reconfigured here.
import { spawn, spawnSync } from 'node:child_process';
import { closeSync, existsSync, mkdtempSync, openSync, readFileSync, readdirSync, rmSync, statSync, writeFileSync, writeSync } from 'node:fs';
import http from 'node:http';
import net from 'node:net';
import os from 'node:os';
import { join, relative } from 'node:path';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import { cliEntry, postfixMasterPid, readBanner, treeCpuMs, treeMemKiB } from './lib.mjs';

const ROOT = fileURLToPath(new URL('..', import.meta.url)).replace(/\/$/, '');
const SMTP_SINK = '/usr/sbin/smtp-sink';
/** The CLI as a user runs it: the bundle when built, else dist/src/cli/main.js. */
const MAIN = cliEntry().path;
/** The runs: label, phase_histograms value (null: the key left out, the default). */
const RUNS = [
  ['A', null],
  ['B', 'target'],
];
const histogramsText = (h) => (h === null ? 'default config (no phase_histograms key)' : `phase_histograms: ${h}`);
const RECORD_TS = join(ROOT, 'src/metrics/record.ts');

// ------------------------------------------------------------------------------------------- options ---

const HELP = `usage: node bench/daemon.mjs [options]
  --duration S       seconds each run lasts after the daemon is ready (default 200; env DAEMON_BENCH_DURATION)
  --steady-from S    start of the steady window, seconds after ready (default 60 = one interval; env DAEMON_BENCH_STEADY_FROM)
  --targets N        number of targets (default 10000; env DAEMON_BENCH_TARGETS)
  --interval S       probe interval in seconds (default 60)
  --concurrency N    global.concurrency (default 256)
  --default-config   global gets interval and state_file only: concurrency, timeout, phase_timeout are the defaults
  --only A|B         run only A (default config: no phase_histograms key) or B (phase_histograms: target)
  --server S         sink: a smtp-sink started here (default); postfix: the test stack's Postfix (never started,
                     stopped or changed here; MAILSTACK_SMTP_PORT, _CA, _HOSTNAME, _DIR or their defaults)
  --variant V        light: steps [banner, ehlo, noop, quit] (default); send: [banner, ehlo, send, quit] with a 1 KiB
                     message; starttls: [banner, ehlo, starttls, noop, quit], tls starttls, the stack's CA and name
  --no-goal          print run A's checks as "report" lines, not as TARGET lines
  --scrapes N        timed GET /metrics in the steady window (default 5)
  --cpu-prof DIR     run the daemon under node --cpu-prof, profiles written to DIR (adds profiler overhead)
  --node-opt OPT     an extra node option for the daemon, repeatable (e.g. --node-opt=--trace-gc,
                     --node-opt=--max-old-space-size=256); the daemon's stdout then goes to a file that is kept
  --keep             keep the temp directory (generated configs)
  --allow-stale      run even if src/ changed after dist/ was built (says so in the header)`;

function defaultOptions() {
  const env = process.env;
  return {
    duration: Number(env.DAEMON_BENCH_DURATION ?? 200),
    steadyFrom: Number(env.DAEMON_BENCH_STEADY_FROM ?? 60),
    targets: Number(env.DAEMON_BENCH_TARGETS ?? 10_000),
    interval: 60,
    concurrency: 256,
    defaultConfig: false,
    only: null,
    server: 'sink',
    variant: 'light',
    goal: true,
    scrapes: 5,
    cpuProf: null,
    nodeOpts: [],
    keep: false,
    allowStale: false,
  };
}

function num(name, v) {
  const n = Number(v);
  if (!Number.isFinite(n) || n <= 0) usage(`${name}: not a positive number: ${v}`);
  return n;
}

function oneOf(flag, v, allowed) {
  if (!allowed.includes(v)) usage(`${flag}: ${allowed.join(' or ')}, not ${v}`);
  return v;
}

/** Apply one flag to `o`; `value()` reads the flag's value. */
function applyFlag(o, flag, value, arg) {
  switch (flag) {
    case '--duration': o.duration = num(flag, value()); break;
    case '--steady-from': o.steadyFrom = num(flag, value()); break;
    case '--targets': o.targets = Math.floor(num(flag, value())); break;
    case '--interval': o.interval = num(flag, value()); break;
    case '--concurrency': o.concurrency = Math.floor(num(flag, value())); break;
    case '--default-config': o.defaultConfig = true; break;
    case '--scrapes': o.scrapes = Math.floor(num(flag, value())); break;
    case '--only': o.only = oneOf(flag, value().toUpperCase(), ['A', 'B']); break;
    case '--server': o.server = oneOf(flag, value(), ['sink', 'postfix']); break;
    case '--variant': o.variant = oneOf(flag, value(), ['light', 'send', 'starttls']); break;
    case '--no-goal': o.goal = false; break;
    case '--cpu-prof': o.cpuProf = value(); break;
    case '--node-opt': o.nodeOpts.push(value()); o.keep = true; break;
    case '--keep': o.keep = true; break;
    case '--allow-stale': o.allowStale = true; break;
    case '-h': case '--help': console.log(HELP); process.exit(0); break;
    default: usage(`unknown argument ${arg}`);
  }
}

function parseOptions(argv) {
  const o = defaultOptions();
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    const [flag, inline] = a.includes('=') ? [a.slice(0, a.indexOf('=')), a.slice(a.indexOf('=') + 1)] : [a, undefined];
    applyFlag(o, flag, () => inline ?? argv[++i] ?? usage(`${flag}: missing value`), a);
  }
  for (const k of ['duration', 'steadyFrom', 'targets', 'interval', 'concurrency']) {
    if (!(o[k] > 0)) usage(`${k}: must be a positive number`);
  }
  if (o.targets > 100_000) usage('--targets: at most 100000');
  if (o.duration > 1800) usage('--duration: at most 1800 s');
  if (o.variant === 'starttls' && o.server !== 'postfix') usage('--variant starttls needs --server postfix (smtp-sink has no TLS)');
  return o;
}

function usage(msg) {
  console.error(`bench/daemon.mjs: ${msg}\n${HELP}`);
  process.exit(2);
}

// ------------------------------------------------------------------------------- child processes ---

/** pid -> { name, child }: every process we started and have not seen exit. */
const live = new Map();

function startChild(name, cmd, args, opts = {}) {
  const child = spawn(cmd, args, { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'], ...opts });
  if (!child.pid) throw new Error(`${name}: could not start ${cmd}`);
  live.set(child.pid, { name, child });
  child.exited = new Promise((resolve) => {
    child.once('exit', (code, signal) => {
      live.delete(child.pid);
      resolve({ code, signal });
    });
  });
  child.once('error', (e) => console.error(`${name}: ${e.message}`));
  return child;
}

function signalPid(pid, sig) {
  try {
    process.kill(pid, sig);
    return true;
  } catch {
    return false; // already gone
  }
}

/** SIGTERM `child` by PID, SIGKILL after `graceMs`; resolves { code, signal, ms, killed } once it has exited. */
async function stopChild(child, graceMs) {
  const t0 = performance.now();
  if (!live.has(child.pid)) {
    const r = await child.exited;
    return { ...r, ms: 0, killed: false };
  }
  signalPid(child.pid, 'SIGTERM');
  let killed = false;
  const timer = setTimeout(() => {
    killed = true;
    signalPid(child.pid, 'SIGKILL');
  }, graceMs);
  const r = await child.exited;
  clearTimeout(timer);
  return { ...r, ms: performance.now() - t0, killed };
}

function killAllNow() {
  for (const pid of live.keys()) signalPid(pid, 'SIGKILL');
}
process.on('exit', killAllNow);

let interrupted = false;
const interrupt = new AbortController();
for (const sig of ['SIGINT', 'SIGTERM', 'SIGHUP']) {
  process.on(sig, () => {
    if (interrupted) {
      killAllNow();
      process.exit(130);
    }
    interrupted = true;
    console.error(`\n${sig}: stopping (again to kill at once)`);
    interrupt.abort(new Error(`interrupted by ${sig}`));
  });
}

/** A sleep that ends early (rejects) on interrupt. */
function sleep(ms) {
  return new Promise((resolve, reject) => {
    if (interrupt.signal.aborted) return reject(interrupt.signal.reason);
    const t = setTimeout(() => {
      interrupt.signal.removeEventListener('abort', onAbort);
      resolve();
    }, Math.max(0, ms));
    const onAbort = () => {
      clearTimeout(t);
      reject(interrupt.signal.reason);
    };
    interrupt.signal.addEventListener('abort', onAbort, { once: true });
  });
}

// ------------------------------------------------------------------------------------- machine ---

function cpuModel() {
  const m = /^model name\s*:\s*(.+)$/m.exec(readFileSync('/proc/cpuinfo', 'utf8'));
  return m ? m[1].trim() : os.cpus()[0]?.model ?? 'unknown';
}

function sh(cmd, args) {
  const r = spawnSync(cmd, args, { cwd: ROOT, encoding: 'utf8', timeout: 10_000 });
  return r.status === 0 ? r.stdout.trim() : '';
}

function newestMtime(dir, exts) {
  let newest = 0;
  const walk = (d) => {
    for (const e of readdirSync(d, { withFileTypes: true })) {
      const p = join(d, e.name);
      if (e.isDirectory()) {
        if (e.name !== 'node_modules') walk(p);
      } else if (exts.some((x) => e.name.endsWith(x))) newest = Math.max(newest, statSync(p).mtimeMs);
    }
  };
  if (existsSync(dir)) walk(dir);
  return newest;
}

/**
 * Each src/ and checks/ .ts file against its dist/ .js: `stale` if the source is newer than its build output,
 * `unbuilt` if it has none yet (a new file nothing built imports yet: reported, not fatal).
 */
function distStaleness() {
  const stale = [];
  const unbuilt = [];
  for (const top of ['src', 'checks']) {
    const walk = (d) => {
      if (!existsSync(d)) return;
      for (const e of readdirSync(d, { withFileTypes: true })) {
        const p = join(d, e.name);
        if (e.isDirectory()) walk(p);
        else if (e.name.endsWith('.ts') && !e.name.endsWith('.d.ts')) {
          const rel = relative(ROOT, p);
          const js = join(ROOT, 'dist', rel.replace(/\.ts$/, '.js'));
          if (!existsSync(js)) unbuilt.push(rel);
          else if (statSync(p).mtimeMs > statSync(js).mtimeMs) stale.push(rel);
        }
      }
    };
    walk(join(ROOT, top));
  }
  return { stale, unbuilt };
}

const CLK_TCK = Number(sh('getconf', ['CLK_TCK'])) || 100;

/**
 * utime + stime of a process and its descendants (worker processes, if any), in seconds; null if it is gone. The
 * per-mode, per-thread and schedstat figures below are of the main process alone.
 */
function procCpuSeconds(pid) {
  return procCpuSplit(pid) === null ? null : treeCpuMs(pid) / 1000;
}

/** { user, system, total } CPU seconds of a process; null if it is gone. */
function procCpuSplit(pid) {
  try {
    const s = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const f = s.slice(s.lastIndexOf(')') + 2).split(' '); // f[0] is field 3 (state)
    const user = Number(f[11]) / CLK_TCK;
    const system = Number(f[12]) / CLK_TCK;
    return { user, system, total: user + system };
  } catch {
    return null;
  }
}

/**
 * On-CPU time of a process from the scheduler (sum over its threads of the first field of
 * /proc/PID/task/TID/schedstat, in ns): exact, where utime/stime are sampled at each timer tick. Null if unavailable.
 */
function schedCpuSeconds(pid) {
  try {
    let ns = 0;
    for (const tid of readdirSync(`/proc/${pid}/task`)) {
      try {
        ns += Number(readFileSync(`/proc/${pid}/task/${tid}/schedstat`, 'utf8').split(' ')[0]);
      } catch {
        // thread gone
      }
    }
    return ns > 0 ? ns / 1e9 : null;
  } catch {
    return null;
  }
}

/** utime + stime per thread of a process, in seconds: Map tid -> { comm, cpu }. */
function threadCpu(pid) {
  const out = new Map();
  try {
    for (const tid of readdirSync(`/proc/${pid}/task`)) {
      try {
        const s = readFileSync(`/proc/${pid}/task/${tid}/stat`, 'utf8');
        const comm = s.slice(s.indexOf('(') + 1, s.lastIndexOf(')'));
        const f = s.slice(s.lastIndexOf(')') + 2).split(' ');
        out.set(Number(tid), { comm, cpu: (Number(f[11]) + Number(f[12])) / CLK_TCK });
      } catch {
        // thread gone
      }
    }
  } catch {
    // process gone
  }
  return out;
}

/** CPU seconds per thread group between two threadCpu() readings: the main thread, then by thread name. */
function threadGroups(pid, later, earlier) {
  const groups = new Map();
  for (const [tid, { comm, cpu }] of later) {
    const name = tid === pid ? 'main thread' : comm.replace(/\d+$/, '');
    const d = cpu - (earlier.get(tid)?.cpu ?? 0);
    const g = groups.get(name) ?? { cpu: 0, threads: 0 };
    g.cpu += d;
    g.threads += 1;
    groups.set(name, g);
  }
  return groups;
}

/** VmRSS and VmHWM in bytes of a process and its descendants (summed: the HWM sum is an upper bound); null if gone. */
function procMem(pid) {
  const m = treeMemKiB(pid);
  return m.procs === 0 ? null : { rss: m.rss * 1024, hwm: m.hwm * 1024, procs: m.procs };
}

/** Machine-wide CPU time from /proc/stat, in seconds: busy (everything but idle and iowait) and total. */
function machineCpu() {
  const f = readFileSync('/proc/stat', 'utf8').split('\n')[0].trim().split(/\s+/).slice(1).map(Number);
  const total = f.slice(0, 8).reduce((a, b) => a + b, 0); // user nice system idle iowait irq softirq steal
  const idle = f[3] + f[4];
  return { busy: (total - idle) / CLK_TCK, total: total / CLK_TCK, system: f[2] / CLK_TCK, softirq: f[6] / CLK_TCK, steal: (f[7] ?? 0) / CLK_TCK };
}

// ------------------------------------------------------------------------------------- network ---

function freePort() {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address();
      s.close(() => resolve(port));
    });
  });
}


/**
 * GET http://127.0.0.1:port/path, no compression asked for. Counts bytes and lines as they arrive; keeps the body
 * only if `keep`. Times: ttfbMs (request sent -> response headers: the daemon renders the whole text before it
 * answers, so this is the render time plus a loopback round trip) and totalMs (-> last byte).
 */
function get(port, path, { keep = false, timeoutMs = 120_000 } = {}) {
  return new Promise((resolve, reject) => {
    const t0 = performance.now();
    let ttfbMs = NaN;
    const req = http.get({ host: '127.0.0.1', port, path, agent: false, timeout: timeoutMs }, (res) => {
      ttfbMs = performance.now() - t0;
      const chunks = [];
      let bytes = 0;
      let lines = 0;
      res.on('data', (c) => {
        bytes += c.length;
        for (let i = c.indexOf(10); i !== -1; i = c.indexOf(10, i + 1)) lines++;
        if (keep) chunks.push(c);
      });
      res.on('end', () => {
        const totalMs = performance.now() - t0;
        resolve({ status: res.statusCode, ttfbMs, totalMs, bytes, lines, t0, body: keep ? Buffer.concat(chunks).toString('utf8') : null });
      });
      res.on('error', reject);
    });
    req.on('timeout', () => req.destroy(new Error(`GET ${path}: no answer within ${timeoutMs} ms`)));
    req.on('error', reject);
  });
}

// ------------------------------------------------------------------------------------- metrics ---

const LABEL_RE = /(\w+)="((?:[^"\\]|\\.)*)"/g;

function labelsOf(line) {
  const open = line.indexOf('{');
  if (open < 0) return {};
  const out = {};
  for (const m of line.slice(open, line.lastIndexOf('}') + 1).matchAll(LABEL_RE)) out[m[1]] = m[2];
  return out;
}

/** The figures the benchmark needs from one /metrics text. Skips every line it does not need. */
function parseMetrics(text) {
  const r = {
    runs: { success: 0, failure: 0 },
    failures: new Map(),
    skipped: 0,
    lag: { buckets: new Map(), sum: 0, count: 0 },
    gauges: {},
    lines: 0,
  };
  const want = ['smtp_probe_runs_total', 'smtp_probe_failures_total', 'smtp_probe_runs_skipped_total', 'smtp_probe_schedule_lag_seconds', 'nodejs_', 'process_'];
  let start = 0;
  while (start < text.length) {
    let end = text.indexOf('\n', start);
    if (end < 0) end = text.length;
    r.lines++;
    const c = text.charCodeAt(start);
    // every family we read starts with 'n', 'p' or 's'; the bulk of the text (other smtp_probe_ lines) is skipped
    // by the startsWith tests below
    if (c === 110 || c === 112 || c === 115) {
      const line = text.slice(start, end);
      if (want.some((w) => line.startsWith(w))) {
        const value = Number(line.slice(line.lastIndexOf(' ') + 1));
        if (line.startsWith('smtp_probe_runs_total{')) {
          const res = labelsOf(line).result;
          if (res === 'success' || res === 'failure') r.runs[res] += value;
        } else if (line.startsWith('smtp_probe_failures_total{')) {
          const l = labelsOf(line);
          const key = `${l.phase}/${l.reason}`;
          r.failures.set(key, (r.failures.get(key) ?? 0) + value);
        } else if (line.startsWith('smtp_probe_runs_skipped_total')) {
          r.skipped += value;
        } else if (line.startsWith('smtp_probe_schedule_lag_seconds_bucket')) {
          const le = labelsOf(line).le;
          r.lag.buckets.set(le === '+Inf' ? Infinity : Number(le), value);
        } else if (line.startsWith('smtp_probe_schedule_lag_seconds_sum')) {
          r.lag.sum = value;
        } else if (line.startsWith('smtp_probe_schedule_lag_seconds_count')) {
          r.lag.count = value;
        } else if (!line.includes('{')) {
          const name = line.slice(0, line.indexOf(' '));
          r.gauges[name] = value;
        }
      }
    }
    start = end + 1;
  }
  return r;
}

/** A histogram's cumulative buckets minus an earlier reading of the same histogram (a window). */
function lagWindow(later, earlier) {
  if (!earlier) return later;
  const buckets = new Map();
  for (const [le, v] of later.buckets) buckets.set(le, v - (earlier.buckets.get(le) ?? 0));
  return { buckets, sum: later.sum - earlier.sum, count: later.count - earlier.count };
}

/** Share of observations <= `bound` (which must be a bucket boundary). */
function shareWithin(h, bound) {
  if (!h.buckets.has(bound)) return NaN;
  return h.count > 0 ? h.buckets.get(bound) / h.count : NaN;
}

/**
 * A quantile from cumulative buckets, interpolated linearly inside the bucket it falls in (as PromQL's
 * histogram_quantile does; the lowest bucket starts at 0). Returns { value, lo, hi } with the bucket's bounds;
 * value is Infinity if it falls in +Inf.
 */
function histogramQuantile(h, q) {
  if (!(h.count > 0)) return { value: NaN, lo: NaN, hi: NaN };
  const rank = q * h.count;
  const bounds = [...h.buckets.keys()].sort((a, b) => a - b);
  let prevBound = 0;
  let prevCount = 0;
  for (const b of bounds) {
    const c = h.buckets.get(b);
    if (c >= rank) {
      if (b === Infinity) return { value: Infinity, lo: prevBound, hi: Infinity };
      const inBucket = c - prevCount;
      const value = inBucket > 0 ? prevBound + ((b - prevBound) * (rank - prevCount)) / inBucket : b;
      return { value, lo: prevBound, hi: b };
    }
    prevBound = b;
    prevCount = c;
  }
  return { value: Infinity, lo: prevBound, hi: Infinity };
}

/** LAG_BUCKETS as written in src/metrics/record.ts (to check that 1 s is a bucket boundary). */
function lagBucketsFromSource() {
  try {
    const m = /LAG_BUCKETS[^=]*=\s*Object\.freeze\(\[([^\]]*)\]/.exec(readFileSync(RECORD_TS, 'utf8'));
    return m ? m[1].split(',').map((s) => s.trim()).filter((s) => s !== '').map(Number).filter((n) => Number.isFinite(n)) : null;
  } catch {
    return null;
  }
}

// ------------------------------------------------------------------------------------ formatting ---

const MB = 1024 * 1024;
const f1 = (x) => (Number.isFinite(x) ? x.toFixed(1) : 'n/a');
const f2 = (x) => (Number.isFinite(x) ? x.toFixed(2) : 'n/a');
const f3 = (x) => (Number.isFinite(x) ? x.toFixed(3) : 'n/a');
const pct = (x, d = 2) => (Number.isFinite(x) ? `${(x * 100).toFixed(d)}%` : 'n/a');
const mb = (b) => (Number.isFinite(b) ? `${(b / MB).toFixed(0)} MB` : 'n/a');
const int = (n) => (Number.isFinite(n) ? Math.round(n).toLocaleString('en-US') : 'n/a');
const median = (xs) => {
  if (xs.length === 0) return NaN;
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};

function table(rows) {
  const widths = rows[0].map((_, i) => Math.max(...rows.map((r) => String(r[i] ?? '').length)));
  const line = (r) => r.map((c, i) => (i === 0 ? String(c ?? '').padEnd(widths[i]) : String(c ?? '').padStart(widths[i]))).join('  ').trimEnd();
  return [line(rows[0]), widths.map((w) => '-'.repeat(w)).join('  '), ...rows.slice(1).map(line)].join('\n');
}

const log = (...a) => console.log(...a);
const note = (msg) => console.log(`  [${new Date().toISOString().slice(11, 19)}] ${msg}`);

// ------------------------------------------------------------------------------------- config ---

/** The module's lines for `o.variant` (starttls: the server's CA and certificate name). */
function moduleLines(o, server) {
  const base = ['    ehlo: bench.probe.test'];
  if (o.variant === 'send') {
    return [...base, '    tls: none', '    steps: [banner, ehlo, send, quit]',
      '    send: { from: probe@bench.probe.test, to: [sink@bench.probe.test], deliver: true, size: 1024 }'];
  }
  if (o.variant === 'starttls') {
    return [...base, '    tls: starttls', '    steps: [banner, ehlo, starttls, noop, quit]',
      `    tls_config: { ca_file: ${JSON.stringify(server.ca)}, server_name: ${JSON.stringify(server.servername)} }`];
  }
  return [...base, '    tls: none', '    steps: [banner, ehlo, noop, quit]'];
}

/** The config of one run: `histograms` null leaves phase_histograms out (the default); --default-config leaves out the rest. */
function configYaml(o, server, histograms, dir) {
  const tuning = o.defaultConfig ? [] : ['  timeout: 10s', '  phase_timeout: 5s', `  concurrency: ${o.concurrency}`];
  const lines = [
    '# generated by bench/daemon.mjs',
    'global:',
    `  interval: ${o.interval}s`,
    `  state_file: ${JSON.stringify(join(dir, 'state.json'))}`,
    ...tuning,
    ...(histograms === null ? [] : [`  phase_histograms: ${histograms}`]),
    'modules:',
    '  bench:',
    ...moduleLines(o, server),
    'targets:',
  ];
  const url = `smtp://127.0.0.1:${server.port}`;
  for (let i = 0; i < o.targets; i++) lines.push(`  - { name: t${String(i).padStart(5, '0')}, url: "${url}", module: bench }`);
  return `${lines.join('\n')}\n`;
}

// -------------------------------------------------------------------------------------- server ---

/** smtp-sink with -c: its stdout carries "sess=N quit=N mesg=N\r" counters; keep the latest. */
function startSink(port) {
  const args = ['-c', '-4', ...(process.getuid?.() === 0 ? ['-u', 'nobody'] : []), '-m', '1000', '-h', 'sink.bench.test', `127.0.0.1:${port}`, '2000'];
  const child = startChild('smtp-sink', SMTP_SINK, args);
  const sink = { name: 'smtp-sink', child, args, port, sessions: 0, quits: 0, messages: 0, stderr: '', cpu: () => procCpuSplit(child.pid)?.total ?? NaN };
  let tail = '';
  child.stdout.on('data', (b) => {
    tail = (tail + b.toString('latin1')).slice(-400);
    const all = [...tail.matchAll(/sess=(\d+) quit=(\d+) mesg=(\d+)/g)];
    const last = all[all.length - 1];
    if (last) [sink.sessions, sink.quits, sink.messages] = [Number(last[1]), Number(last[2]), Number(last[3])];
  });
  child.stderr.on('data', (b) => {
    sink.stderr = (sink.stderr + b.toString('utf8')).slice(-2000);
  });
  return sink;
}

/**
 * The test stack's Postfix as the server (never started, stopped or reconfigured here): its port, CA and name from
 * MAILSTACK_* or the stack's defaults; its CPU = the master and all its children (smtpd, tlsmgr, anvil, ...).
 */
function postfixServer() {
  const env = process.env;
  const dir = env.MAILSTACK_DIR ?? '/tmp/smtp-probe-mailstack';
  const master = postfixMasterPid(dir);
  if (!master) throw new Error(`--server postfix: no running Postfix master under ${dir} (start the stack: bash test/real/mailstack.sh start)`);
  return {
    name: 'Postfix', child: null, master, dir, port: Number(env.MAILSTACK_SMTP_PORT ?? 2525), sessions: NaN, messages: NaN,
    ca: env.MAILSTACK_CA ?? `${dir}/tls/ca.pem`, servername: env.MAILSTACK_HOSTNAME ?? 'mail.probe.test',
    cpu: () => treeCpuMs(master) / 1000, args: [], stderr: '',
  };
}

// ----------------------------------------------------------------------------------------- run ---

/** Write run `label`'s config, pick the daemon's listen port, and build its node command line. */
async function prepareRun(o, label, histograms, server, dir) {
  const configFile = join(dir, `config-${label}.yaml`);
  writeFileSync(configFile, configYaml(o, server, histograms, dir));
  const listenPort = await freePort();
  const nodeArgs = [...(o.cpuProf ? ['--cpu-prof', '--cpu-prof-dir', o.cpuProf] : []), ...o.nodeOpts];
  const args = [...nodeArgs, MAIN, 'run', '--config', configFile, '--listen', `127.0.0.1:${listenPort}`, '--log-level', 'warn'];
  return { configFile, listenPort, args };
}

/** Null when `configFile` validates, else the validator's first lines. */
function validateConfig(configFile) {
  const validate = spawnSync(process.execPath, [MAIN, 'validate', '--config', configFile], { encoding: 'utf8', timeout: 60_000 });
  return validate.status === 0 ? null : `${validate.stdout}${validate.stderr}`.trim().split('\n').slice(0, 3).join(' / ');
}

/**
 * Start the daemon (tracked in `live`, stopped by PID in stopDaemon). Its stderr lines are counted into `out`
 * (the first 5 kept); `stderr.rest` holds an unterminated last line. Its stdout is drained, or written to a file
 * when extra node options are given.
 */
function spawnDaemon(o, label, histograms, args, dir, out) {
  const daemon = startChild(`daemon ${label}`, process.execPath, args);
  out.pid = daemon.pid;
  const stderr = { rest: '' };
  daemon.stderr.on('data', (b) => {
    const text = stderr.rest + b.toString('utf8');
    const parts = text.split('\n');
    stderr.rest = parts.pop();
    out.stderrLines += parts.length;
    for (const p of parts) {
      if (out.stderrTail.length < 5) out.stderrTail.push(p.slice(0, 300));
    }
  });
  if (o.nodeOpts.length) {
    const outFile = join(dir, `daemon-${label}.stdout`);
    const fd = openSync(outFile, 'w');
    daemon.stdout.on('data', (b) => writeSync(fd, b));
    daemon.stdout.on('close', () => closeSync(fd));
    note(`run ${label}: daemon stdout (node ${o.nodeOpts.join(' ')}) to ${outFile}`);
  } else daemon.stdout.resume();
  note(`run ${label}: daemon pid ${daemon.pid} on 127.0.0.1:${out.listenPort}, ${histogramsText(histograms)}, ${o.targets} targets`);
  return { daemon, stderr };
}

/** Poll /healthz every 100 ms until it answers 200 (at most 60 s); throws if the daemon exits first. */
async function waitReady(daemon, label, listenPort, tSpawn, out) {
  for (;;) {
    if (!live.has(daemon.pid)) {
      const { code, signal } = await daemon.exited;
      throw new Error(`run ${label}: the daemon exited before it was ready (code ${code}, signal ${signal}); stderr: ${out.stderrTail.join(' | ')}`);
    }
    const ok = await get(listenPort, '/healthz', { timeoutMs: 2000 }).then((r) => r.status === 200, () => false);
    if (ok) break;
    if (performance.now() - tSpawn > 60_000) throw new Error(`run ${label}: /healthz not answering 60 s after start`);
    await sleep(100);
  }
  return performance.now();
}

/** RSS sampled now and every 5 s into out.rssSamples; the caller clears `timer` (also in its finally). */
function startRssSampler(pid, tReady, out) {
  const sampler = {
    timer: null,
    sample: () => {
      const m = procMem(pid);
      if (m) out.rssSamples.push({ t: (performance.now() - tReady) / 1000, rss: m.rss });
    },
  };
  sampler.sample();
  sampler.timer = setInterval(sampler.sample, 5000);
  return sampler;
}

/** CPU readings of the daemon, the sink, the machine and this process, at one moment of run `r`. */
function snapshot(r) {
  return {
    t: (performance.now() - r.tReady) / 1000,
    cpu: procCpuSeconds(r.daemon.pid),
    sinkCpu: r.sink.cpu(),
    machine: machineCpu(),
    self: process.cpuUsage(),
    threads: threadCpu(r.daemon.pid),
    split: procCpuSplit(r.daemon.pid),
    sched: schedCpuSeconds(r.daemon.pid),
  };
}

/** One GET /metrics of run `r`: timed, parsed, recorded in r.out.scrapes and noted. */
async function scrape(r, kind) {
  const { daemon, label, listenPort, tReady, out } = r;
  const snap = snapshot(r);
  const res = await get(listenPort, '/metrics', { keep: true });
  const cpuAfter = procCpuSeconds(daemon.pid);
  if (res.status !== 200) throw new Error(`run ${label}: GET /metrics answered ${res.status}`);
  // the counters were read while the daemon rendered, between the request and the response headers
  const tValues = (res.t0 + res.ttfbMs / 2 - tReady) / 1000;
  // the daemon's CPU over the request: the render and the write, plus the runs going on meanwhile
  const entry = { kind, t: snap.t, tValues, ttfbMs: res.ttfbMs, totalMs: res.totalMs, bytes: res.bytes, lines: res.lines, snap, cpu: cpuAfter - snap.cpu };
  entry.metrics = parseMetrics(res.body);
  out.scrapes.push(entry);
  const g = entry.metrics.gauges;
  const rss = procMem(daemon.pid)?.rss;
  note(`run ${label}: t=${snap.t.toFixed(0)} s GET /metrics (${kind}) ${(res.ttfbMs / 1000).toFixed(3)} s to headers, ${(res.totalMs / 1000).toFixed(3)} s in all, ${(res.bytes / MB).toFixed(1)} MB, ${res.lines} lines; RSS ${mb(rss)}, heap used/total ${mb(g.nodejs_heap_size_used_bytes)}/${mb(g.nodejs_heap_size_total_bytes)}, external ${mb(g.nodejs_external_memory_bytes)}, nodejs_eventloop_lag_max ${f3(g.nodejs_eventloop_lag_max_seconds)} s (*)`);
  return entry;
}

/**
 * The scrapes of one run: baseline at the start of the steady window, `o.scrapes` timed ones spread over it, the
 * end snapshot and the sink's counters at `o.duration`, then the final scrape.
 */
async function scrapeSchedule(o, r) {
  const { label, tReady, out } = r;
  const at = (s) => sleep(tReady + s * 1000 - performance.now());
  const steadyFrom = Math.min(o.steadyFrom, o.duration / 3);
  out.steadyFrom = steadyFrom;
  if (steadyFrom < o.steadyFrom) note(`run ${label}: duration ${o.duration} s is short: the "steady" window starts at ${steadyFrom.toFixed(0)} s, before one interval has passed`);
  await at(steadyFrom);
  const base = await scrape(r, 'baseline');
  const window = o.duration - steadyFrom;
  for (let k = 0; k < o.scrapes; k++) {
    await at(steadyFrom + ((k + 0.5) * window) / (o.scrapes + 0.5));
    await scrape(r, 'timed');
  }
  await at(o.duration);
  const end = snapshot(r);
  const sinkAtEnd = { sessions: r.sink.sessions, messages: r.sink.messages };
  const final = await scrape(r, 'final');
  return { base, end, sinkAtEnd, final };
}

/** The run's figures from its readings: whole run (from ready) and steady window (baseline scrape to end). */
function summariseRun(out, pid, { base, end, sinkAtEnd, final }, sinkAtStart, cpuReady, mem) {
  out.sink = { sessions: sinkAtEnd.sessions - sinkAtStart.sessions, messages: sinkAtEnd.messages - sinkAtStart.messages };
  out.hwm = mem?.hwm ?? NaN;
  out.elapsed = end.t;
  out.cpuAll = end.cpu - cpuReady;
  out.cpuSteady = end.cpu - base.snap.cpu;
  out.threadsSteady = threadGroups(pid, end.threads, base.snap.threads);
  out.userSteady = end.split.user - base.snap.split.user;
  out.schedSteady = end.sched !== null && base.snap.sched !== null ? end.sched - base.snap.sched : NaN;
  out.systemSteady = end.split.system - base.snap.split.system;
  out.steadySeconds = end.t - base.snap.t;
  out.sinkCpuSteady = end.sinkCpu - base.snap.sinkCpu;
  out.machineSteady = Object.fromEntries(Object.keys(end.machine).map((k) => [k, end.machine[k] - base.snap.machine[k]]));
  out.selfSteady = (end.self.user - base.snap.self.user + end.self.system - base.snap.self.system) / 1e6;
  out.cpuStartup = cpuReady;
  // CPU of the scrapes inside the steady window (baseline and timed; the final one is after `end`)
  out.scrapeCpuSteady = out.scrapes.filter((x) => x.kind !== 'final').reduce((sum, x) => sum + x.cpu, 0);
  out.base = base;
  out.final = final;
}

/** SIGTERM the daemon by PID (SIGKILL after 20 s) and note how it exited. */
async function stopDaemon(daemon, label) {
  const stopped = await stopChild(daemon, 20_000);
  note(`run ${label}: SIGTERM -> exit code ${stopped.code}${stopped.signal ? ` signal ${stopped.signal}` : ''} after ${(stopped.ms / 1000).toFixed(2)} s${stopped.killed ? ' (SIGKILLed after 20 s)' : ''}`);
  return stopped;
}

/**
 * One daemon run: start, wait for /healthz, scrape at the start of the steady window (baseline), `scrapes` timed
 * scrapes spread over the steady window, a final scrape at the end, then SIGTERM and wait for the exit.
 */
async function runOnce(o, label, histograms, sink, dir) {
  const { configFile, listenPort, args } = await prepareRun(o, label, histograms, sink, dir);
  const out = { label, histograms, listenPort, configFile, scrapes: [], rssSamples: [], stderrLines: 0, stderrTail: [] };
  const invalid = validateConfig(configFile);
  // run A is the default config and must run; run B's key may not exist in this build yet: a skip, said why
  if (invalid && label === 'A') throw new Error(`run ${label}: the generated config does not validate: ${invalid}`);
  if (invalid) {
    note(`run ${label} SKIPPED: this build does not accept ${histogramsText(histograms)} (${invalid})`);
    return { ...out, skipped: invalid };
  }

  const sinkAtStart = { sessions: sink.sessions, messages: sink.messages };
  const tSpawn = performance.now();
  const { daemon, stderr } = spawnDaemon(o, label, histograms, args, dir, out);
  let sampler = null;
  try {
    const tReady = await waitReady(daemon, label, listenPort, tSpawn, out);
    out.readyMs = tReady - tSpawn;
    const cpuReady = procCpuSeconds(daemon.pid);
    note(`run ${label}: ready after ${(out.readyMs / 1000).toFixed(2)} s; running ${o.duration} s`);
    sampler = startRssSampler(daemon.pid, tReady, out);
    const readings = await scrapeSchedule(o, { daemon, sink, label, listenPort, tReady, out });
    clearInterval(sampler.timer);
    sampler.timer = null;
    sampler.sample();
    const mem = procMem(daemon.pid); // after the final scrape: rendering the text is part of the peak
    summariseRun(out, daemon.pid, readings, sinkAtStart, cpuReady, mem);
  } finally {
    if (sampler?.timer) clearInterval(sampler.timer);
    out.exit = await stopDaemon(daemon, label);
  }
  if (stderr.rest) out.stderrLines++;
  return out;
}

// ------------------------------------------------------------------------------------- report ---

function analyse(o, r) {
  const base = r.base.metrics;
  const fin = r.final.metrics;
  const lagAll = fin.lag;
  const lagSteady = lagWindow(fin.lag, base.lag);
  const runsFin = fin.runs.success + fin.runs.failure;
  const runsBase = base.runs.success + base.runs.failure;
  const steadyS = r.final.tValues - r.base.tValues;
  const timed = r.scrapes.filter((s) => s.kind === 'timed');
  const all = r.scrapes;
  const rss = r.rssSamples.map((s) => s.rss);
  const ncpu = os.cpus().length;
  return {
    lagAll,
    lagSteady,
    within1All: shareWithin(lagAll, 1),
    within1Steady: shareWithin(lagSteady, 1),
    p99All: histogramQuantile(lagAll, 0.99),
    p99Steady: histogramQuantile(lagSteady, 0.99),
    meanLagAll: lagAll.count > 0 ? lagAll.sum / lagAll.count : NaN,
    started: lagAll.count,
    runsFin,
    runsAll: runsFin / r.final.tValues,
    runsSteady: (runsFin - runsBase) / steadyS,
    expectedRate: o.targets / o.interval,
    failures: fin.runs.failure,
    failureKinds: [...fin.failures.entries()].filter(([, n]) => n > 0),
    skipped: fin.skipped,
    cpuCoreAll: r.cpuAll / r.elapsed,
    cpuCoreSteady: r.cpuSteady / r.steadySeconds,
    cpuMachineSteady: r.cpuSteady / r.steadySeconds / ncpu,
    cpuPerRunMs: (r.cpuSteady / (runsFin - runsBase)) * 1000,
    cpuPerRunNoScrapeMs: ((r.cpuSteady - r.scrapeCpuSteady) / (runsFin - runsBase)) * 1000,
    cpuPerScrape: median(r.scrapes.map((x) => x.cpu)),
    scrapeShare: r.scrapeCpuSteady / r.cpuSteady,
    sinkCoreSteady: r.sinkCpuSteady / r.steadySeconds,
    sinkCpuPerRunMs: (r.sinkCpuSteady / (runsFin - runsBase)) * 1000,
    machineBusySteady: r.machineSteady.busy / r.machineSteady.total,
    otherCoreSteady: (r.machineSteady.busy - r.cpuSteady - r.sinkCpuSteady - r.selfSteady) / r.steadySeconds,
    softirqCoreSteady: r.machineSteady.softirq / r.steadySeconds,
    selfCoreSteady: r.selfSteady / r.steadySeconds,
    stealSteady: r.machineSteady.steal / r.machineSteady.total,
    rssMin: Math.min(...rss),
    rssMax: Math.max(...rss),
    hwm: r.hwm,
    timedTtfb: timed.map((s) => s.ttfbMs),
    timedTotal: timed.map((s) => s.totalMs),
    allTotal: all.map((s) => s.totalMs),
    bytes: r.final.bytes,
    lines: r.final.lines,
    timedBytes: timed.map((s) => s.bytes),
    eventLoop: fin.gauges,
    ncpu,
  };
}

/** The RESULTS table: one row per figure, one column per run. */
function resultRows(o, results, an) {
  const cols = results.map((r) => `run ${r.label} (${histogramsText(r.histograms)})`);
  const srv = o.serverName;
  const lagBounds = (q) => (q.value === Infinity ? `> ${q.lo} s` : `~${f3(q.value)} s (bucket ${q.lo}-${q.hi} s)`);
  const row = (name, fn) => [name, ...an.map((a, i) => fn(a, results[i]))];
  const steadyNote = (r) => `${f1(r.steadyFrom)}-${f1(r.elapsed)} s`;
  return [
    ['', ...cols],
    row('steady window (after ready)', (a, r) => steadyNote(r)),
    row('runs started (lag histogram count)', (a) => int(a.started)),
    row('started <= 1 s late, whole run', (a) => pct(a.within1All)),
    row('started <= 1 s late, steady window', (a) => pct(a.within1Steady)),
    row('p99 start lag, whole run (est.)', (a) => lagBounds(a.p99All)),
    row('p99 start lag, steady window (est.)', (a) => lagBounds(a.p99Steady)),
    row('mean start lag, whole run', (a) => `${f3(a.meanLagAll)} s`),
    row('runs completed', (a) => int(a.runsFin)),
    row('runs/s, whole run', (a) => f1(a.runsAll)),
    row('runs/s, steady window', (a) => `${f1(a.runsSteady)} (expected ${f1(a.expectedRate)})`),
    row('failed runs', (a) => int(a.failures)),
    row('skipped runs', (a) => int(a.skipped)),
    row(`${srv} sessions, ready to end`, (a, r) => int(r.sink.sessions)),
    row('daemon CPU, whole run (% of 1 core)', (a) => pct(a.cpuCoreAll, 1)),
    row('daemon CPU, steady (% of 1 core)', (a) => pct(a.cpuCoreSteady, 1)),
    row(`daemon CPU, steady (% of ${an[0].ncpu} cores)`, (a) => pct(a.cpuMachineSteady, 1)),
    row('daemon CPU per run, steady', (a) => `${f3(a.cpuPerRunMs)} ms`),
    row('  same, without the /metrics requests', (a) => `${f3(a.cpuPerRunNoScrapeMs)} ms`),
    row('daemon CPU per GET /metrics (median)', (a) => `${f3(a.cpuPerScrape)} s (${pct(a.scrapeShare, 0)} of steady CPU)`),
    row('  cross-check: scheduler on-CPU time (schedstat)', (a, r) => pct(r.schedSteady / r.steadySeconds, 1)),
    row('  user / system (kernel: loopback TCP)', (a, r) => `${pct(r.userSteady / r.steadySeconds, 1)} / ${pct(r.systemSteady / r.steadySeconds, 1)}`),
    row('  main thread / other threads', (a, r) => {
      const main = r.threadsSteady.get('main thread')?.cpu ?? NaN;
      const others = [...r.threadsSteady].filter(([n]) => n !== 'main thread').reduce((x, [, g]) => x + g.cpu, 0);
      return `${pct(main / r.steadySeconds, 1)} / ${pct(others / r.steadySeconds, 1)}`;
    }),
    row('daemon CPU before ready (startup)', (a, r) => `${f2(r.cpuStartup)} s (ready in ${f2(r.readyMs / 1000)} s)`),
    row(`${srv} CPU, steady (% of 1 core)`, (a) => pct(a.sinkCoreSteady, 1)),
    row(`${srv} CPU per run, steady`, (a) => `${f3(a.sinkCpuPerRunMs)} ms`),
    row('this benchmark CPU, steady (% of 1 core)', (a) => pct(a.selfCoreSteady, 1)),
    row('rest of machine, steady (% of 1 core)', (a) => `${pct(a.otherCoreSteady, 1)} (softirq ${pct(a.softirqCoreSteady, 1)})`),
    row('machine busy, steady (all cores)', (a) => `${pct(a.machineBusySteady, 1)}${a.stealSteady > 0.005 ? ` (steal ${pct(a.stealSteady, 1)})` : ''}`),
    row('peak RSS (VmHWM at end)', (a) => mb(a.hwm)),
    row('RSS sampled every 5 s, min-max', (a) => `${mb(a.rssMin)} - ${mb(a.rssMax)}`),
    row(`GET /metrics x${o.scrapes}, median to headers`, (a) => `${f3(median(a.timedTtfb) / 1000)} s`),
    row(`GET /metrics x${o.scrapes}, median total`, (a) => `${f3(median(a.timedTotal) / 1000)} s`),
    row(`GET /metrics x${o.scrapes}, max total`, (a) => `${f3(Math.max(...a.timedTotal) / 1000)} s`),
    row('GET /metrics, all scrapes (s, total)', (a) => a.allTotal.map((x) => (x / 1000).toFixed(2)).join(' ')),
    row('/metrics size at end', (a) => `${int(a.bytes)} B (${f1(a.bytes / MB)} MB)`),
    row('/metrics lines at end', (a) => int(a.lines)),
    row('nodejs_eventloop_lag p99 / max (*)', (a) => `${f3(a.eventLoop.nodejs_eventloop_lag_p99_seconds)} / ${f3(a.eventLoop.nodejs_eventloop_lag_max_seconds)} s`),
    row('heap used at end', (a) => mb(a.eventLoop.nodejs_heap_size_used_bytes)),
    row('SIGTERM -> exit', (a, r) => `code ${r.exit.code}${r.exit.signal ? ` ${r.exit.signal}` : ''} in ${f2(r.exit.ms / 1000)} s${r.exit.killed ? ' (KILLED)' : ''}`),
    row('daemon stderr lines (warn+)', (a, r) => int(r.stderrLines)),
  ];
}

/** The lag histogram, the RSS timelines, and per run its failures by kind and first stderr lines. */
function printDetails(results, an) {
  log('\nstart-lag histogram (smtp_probe_schedule_lag_seconds, whole run; cumulative share <= le):');
  const bounds = [...an[0].lagAll.buckets.keys()].sort((a, b) => a - b);
  log(table([['le (s)', ...results.map((r) => `run ${r.label}`)], ...bounds.map((b) => [String(b), ...an.map((a) => pct(a.lagAll.buckets.get(b) / a.lagAll.count, 3))])]));

  for (const r of results) {
    const pts = r.rssSamples.filter((s, i) => i % 4 === 0 || i === r.rssSamples.length - 1);
    log(`run ${r.label} RSS timeline (s:MB): ${pts.map((s) => `${s.t.toFixed(0)}:${(s.rss / MB).toFixed(0)}`).join(' ')}`);
  }
  for (const [i, a] of an.entries()) {
    if (a.failureKinds.length) log(`\nrun ${results[i].label} failures by phase/reason: ${a.failureKinds.map(([k, n]) => `${k}=${n}`).join(', ')}`);
    if (results[i].stderrLines > 0) log(`run ${results[i].label} first daemon stderr lines:\n    ${results[i].stderrTail.join('\n    ')}`);
  }
}

/** One line per run and check: TARGET (binding: run A, the default config, unless --no-goal) or report. Returns the binding verdicts. */
function printTargets(o, results, an) {
  log(`\nTargets (issue: the default config: >= 99% of runs within 1 s, RSS <= 512 MB, /metrics under 1 s${o.goal ? '' : '; --no-goal: reported only'}):`);
  const verdicts = [];
  for (const [i, r] of results.entries()) {
    const a = an[i];
    const checks = [
      ['>= 99% of runs started within 1 s of their slot (whole run)', a.within1All >= 0.99, pct(a.within1All)],
      ['peak RSS <= 512 MB', a.hwm <= 512 * MB, mb(a.hwm)],
      [`every timed GET /metrics under 1 s (max of ${o.scrapes})`, Math.max(...a.timedTotal) < 1000, `${f3(Math.max(...a.timedTotal) / 1000)} s`],
      ['no failed runs', a.failures === 0, int(a.failures)],
      ['no skipped runs', a.skipped === 0, int(a.skipped)],
      ['clean exit on SIGTERM (code 0, within the grace period)', r.exit.code === 0 && !r.exit.killed, `code ${r.exit.code}`],
    ];
    for (const [name, met, detail] of checks) {
      const binding = o.goal && r.label === 'A' && /99%|RSS|metrics/.test(name);
      const word = met ? 'MET' : 'NOT MET';
      log(`  run ${r.label} ${binding ? 'TARGET' : 'report'} ${name}: ${word} (${detail})`);
      if (binding) verdicts.push(met);
    }
  }
  return verdicts;
}

function report(o, results) {
  const A = results.find((r) => r.label === 'A');
  const B = results.find((r) => r.label === 'B');
  const an = results.map((r) => analyse(o, r));

  log(`\n${'='.repeat(100)}\nRESULTS: ${o.targets} targets against ${o.serverName}, interval ${o.interval} s, ${o.defaultConfig ? 'default config' : `concurrency ${o.concurrency}`}, variant ${o.variant}, ${o.duration} s per run\n${'='.repeat(100)}`);
  log(table(resultRows(o, results, an)));
  printDetails(results, an);
  const verdicts = printTargets(o, results, an);
  if (!A) log('  (run A not run: the targets are not checked)');
  if (A && B) {
    const a = an[0];
    const b = an[1];
    log(`\n${histogramsText(B.histograms)} vs the default config: /metrics ${f1(b.bytes / a.bytes)}x the bytes, ${f1(median(b.timedTotal) / median(a.timedTotal))}x the median scrape time; peak RSS ${mb(b.hwm - a.hwm)} more; CPU per run ${f2(b.cpuPerRunMs / a.cpuPerRunMs)}x.`);
  }
  log(`\nNotes: start lag comes from the daemon's own histogram, so p99 is an estimate interpolated linearly inside a bucket (bounds shown); the share within 1 s is exact because 1 s is a bucket boundary. "Steady window" = from the baseline scrape at ${f1(results[0].steadyFrom)} s after ready (${results[0].steadyFrom >= o.interval ? 'one interval: by then every target has had its first run' : 'SHORT RUN: less than one interval, not steady'}) to the end. "Rest of machine" = all CPU time in /proc/stat minus daemon, ${o.serverName} and this script: other processes plus kernel time charged to no process (softirq: loopback TCP). CPU is utime+stime from /proc/PID/stat, of the daemon with any worker processes (its RSS too: summed) and of ${o.serverName}${o.serverName === 'Postfix' ? ' (master and all its children)' : ''}. /metrics "to headers" is render time + one loopback round trip; "total" includes the transfer. (*) the daemon's own figure from its final scrape, covering the time since the previous scrape; it never includes the stall of a /metrics render: prom-client resets Node's event-loop-delay histogram at the start of each scrape and Node drops the first delay after a reset.`);
  return verdicts.length === 0 ? null : verdicts.every(Boolean);
}

// --------------------------------------------------------------------------------------- main ---

/** smtp-sink and dist/ present, dist/ not stale (unless --allow-stale), 1 s a LAG_BUCKETS boundary; else exit 1. */
function checkPrerequisites(o) {
  const missing = [];
  if (o.server === 'sink' && !existsSync(SMTP_SINK)) missing.push(`${SMTP_SINK} (Debian package: postfix; apt-get install -y --no-install-recommends postfix)`);
  if (!existsSync(MAIN)) missing.push(`${relative(ROOT, MAIN)} (run: npm run build)`);
  if (missing.length) {
    console.error(`bench/daemon.mjs: missing prerequisites:\n  ${missing.join('\n  ')}`);
    process.exit(1);
  }
  const distNewest = newestMtime(join(ROOT, 'dist'), ['.js']);
  const { stale, unbuilt } = distStaleness();
  const staleText = `${stale.slice(0, 5).join(', ')}${stale.length > 5 ? `, ... (${stale.length} files)` : ''}`;
  if (stale.length && !o.allowStale) {
    console.error(`bench/daemon.mjs: dist/ is stale, these sources changed after their .js was built: ${staleText}\n  run: npm run build (or pass --allow-stale to measure dist/ as it is)`);
    process.exit(1);
  }
  const lagBuckets = lagBucketsFromSource();
  if (!lagBuckets || !lagBuckets.includes(1)) {
    console.error(`bench/daemon.mjs: 1 s is not a boundary of LAG_BUCKETS in ${relative(ROOT, RECORD_TS)} (${lagBuckets}); "within 1 s" cannot be read off the histogram`);
    process.exit(1);
  }
  return { distNewest, stale, unbuilt, staleText, lagBuckets };
}

/** The whole benchmark's hard stop, with room for startup, scrapes and shutdown: kills everything and exits 1. */
function startWatchdog(o, runs) {
  const capMs = (runs.length * (o.duration + 180) + 60) * 1000;
  const watchdog = setTimeout(() => {
    console.error(`\nbench/daemon.mjs: watchdog: still running after ${capMs / 1000} s; killing everything`);
    killAllNow();
    process.exit(1);
  }, capMs);
  watchdog.unref();
  return watchdog;
}

function printHeader(o, runs, { distNewest, stale, unbuilt, staleText, lagBuckets }) {
  const head = sh('git', ['log', '-1', '--format=%h %s']) || 'unknown';
  const dirty = sh('git', ['status', '--porcelain', '--', 'src', 'checks', 'bench']);
  log(`smtp-probe daemon benchmark (bench/daemon.mjs), ${new Date().toISOString()}`);
  log(`machine:  ${cpuModel()}, ${os.cpus().length} cores, ${(os.totalmem() / 1024 ** 3).toFixed(0)} GB RAM, ${os.type()} ${os.release()}`);
  log(`node:     ${process.version}; load average at start ${os.loadavg().map((x) => x.toFixed(2)).join(' ')}`);
  log(`code:     commit ${head}${dirty ? ' (+ uncommitted changes in src/, checks/ or bench/)' : ''}; dist/ built ${new Date(distNewest).toISOString()}; runs ${relative(ROOT, MAIN)}`);
  if (stale.length) log(`          WARNING --allow-stale: dist/ is older than these sources, what runs is dist/: ${staleText}`);
  if (unbuilt.length) log(`          not in dist/ (new, not built, so not part of what runs): ${unbuilt.join(', ')}`);
  const steps = { send: '[banner, ehlo, send(1 KiB), quit], tls none', light: '[banner, ehlo, noop, quit], tls none', starttls: '[banner, ehlo, starttls, noop, quit], tls starttls (verified)' }[o.variant];
  const tuning = o.defaultConfig ? 'every other global key left to its default' : `timeout 10 s, phase_timeout 5 s, concurrency ${o.concurrency}`;
  log(`workload: ${o.targets} targets x smtp://127.0.0.1:<${o.server === 'sink' ? 'smtp-sink' : "the test stack's Postfix"}>, interval ${o.interval} s, steps ${steps}; ${tuning}`);
  log(`          expected rate ${(o.targets / o.interval).toFixed(1)} runs/s; ${runs.map(([l, h]) => `run ${l}: ${histogramsText(h)}`).join(', ')}; ${o.duration} s each; LAG_BUCKETS ${lagBuckets.join(' ')}`);
  if (o.cpuProf) log(`          daemon under node --cpu-prof (profiles to ${o.cpuProf}): figures include profiler overhead`);
  if (o.nodeOpts.length) log(`          daemon node options: ${o.nodeOpts.join(' ')}`);
}

/** Wait (30 tries, 1 s each at most) for the server's banner; throws if it (our sink) exits or never answers. */
async function waitBanner(server) {
  let banner = null;
  for (let i = 0; i < 30 && !banner; i++) {
    if (server.child && !live.has(server.child.pid)) throw new Error(`smtp-sink exited at once: ${server.stderr.trim()}`);
    banner = await readBanner(server.port, 1000);
    if (!banner) await sleep(100);
  }
  if (!banner) throw new Error(`${server.name} on 127.0.0.1:${server.port} does not answer: ${server.stderr.trim()}`);
  if (server.child) log(`server:   ${SMTP_SINK} ${server.args.join(' ')} (pid ${server.child.pid}); banner "${banner}"`);
  else log(`server:   the test stack's Postfix on 127.0.0.1:${server.port} (master pid ${server.master}, ${server.dir}; CA ${server.ca}, name ${server.servername}); banner "${banner}"`);
  log('');
}

/** --server sink: our smtp-sink on a free port; --server postfix: the running test stack (not ours). */
async function startServer(o) {
  const server = o.server === 'sink' ? startSink(await freePort()) : postfixServer();
  await waitBanner(server);
  return server;
}

/** Stop the sink (ours; never Postfix) by PID, remove (or keep) the temp directory, clear the watchdog. */
async function cleanUp(o, sink, dir, watchdog) {
  if (sink?.child) {
    const s = await stopChild(sink.child, 3000);
    note(`smtp-sink stopped (code ${s.code}${s.signal ? `, signal ${s.signal}` : ''})`);
  }
  if (o.keep) note(`kept ${dir}`);
  else rmSync(dir, { recursive: true, force: true });
  clearTimeout(watchdog);
}

async function main() {
  const o = parseOptions(process.argv.slice(2));
  const t0 = performance.now();
  const pre = checkPrerequisites(o);
  o.serverName = o.server === 'sink' ? 'smtp-sink' : 'Postfix';
  const runs = RUNS.filter(([l]) => !o.only || o.only === l);
  const watchdog = startWatchdog(o, runs);
  printHeader(o, runs, pre);

  const dir = mkdtempSync(join(os.tmpdir(), 'smtp-probe-bench-daemon-'));
  let sink = null;
  const results = [];
  let verdict = null;
  try {
    sink = await startServer(o);
    for (const [label, histograms] of runs) {
      const r = await runOnce(o, label, histograms, sink, dir);
      if (!r.skipped) results.push(r);
    }
    verdict = report(o, results);
  } catch (e) {
    console.error(`\nbench/daemon.mjs: ${e.message}`);
    process.exitCode = 1;
  } finally {
    await cleanUp(o, sink, dir, watchdog);
  }
  log(`\ntotal wall time ${((performance.now() - t0) / 1000).toFixed(0)} s${verdict === null ? '' : `; run A targets ${verdict ? 'all MET' : 'NOT all met'}`}`);
  if (interrupted) process.exitCode = 130;
}

await main();
