// What the run history costs (not a section of run.mjs; run it by hand after `npm run build`):
//   node --expose-gc bench/history.mjs [--targets 5000] [--runs 100] [--checks 300]
// 1. CPU per scheduled run with and without a transcript: runCheck in a loop against the demo SMTP server in a
//    child process (so only the probe's CPU is counted), STARTTLS + AUTH + send, and a run refused at RCPT.
// 2. Bytes a kept record takes with and without its transcript (heap, and as JSON).
// 3. The history's memory for N targets x R runs (heapUsed + arrayBuffers deltas after a GC): passing targets,
//    failing ones.
// 4. The history file for those targets: bytes, encode and decode time.
// Loopback only; the child is stopped by its PID.
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';

const ROOT = new URL('..', import.meta.url).pathname;
const dist = (p) => import(join(ROOT, 'dist/src', p));
const arg = (name, dflt) => {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? Number(process.argv[i + 1]) : dflt;
};
const TARGETS = arg('targets', 5000);
const RUNS = arg('runs', 100);
const CHECKS = arg('checks', 300);

if (typeof globalThis.gc !== 'function') {
  console.error('run with node --expose-gc');
  process.exit(2);
}

const { loadConfig } = await dist('config/load.js');
const { runCheck, systemDeps } = await dist('runner/run.js');
const { DEMO_PASSWORD, DEMO_USER } = await dist('demo/server.js');
const { HistoryStore } = await dist('history/store.js');
const { encodeHeader, encodeTarget, decodeHistory } = await dist('history/codec.js');

/** The demo server in a child process; resolves with its port and a stop function. */
async function startServer() {
  const imp = (f) => `import(${JSON.stringify(join(ROOT, 'dist/src/demo', f))})`;
  // The demo certificate is made once per process: the child says which one it serves.
  const code = `Promise.all([${imp('server.js')}, ${imp('cert.js')}]).then(async ([m, c]) => { const s = await m.startDemoServer(); console.log(JSON.stringify({ port: s.port, cert: c.demoCertificate().cert })); })`;
  const child = spawn(process.execPath, ['-e', code], { stdio: ['ignore', 'pipe', 'inherit'] });
  let out = '';
  const { port, cert } = await new Promise((resolve, reject) => {
    child.stdout.on('data', (d) => {
      out += d;
      if (out.endsWith('\n')) resolve(JSON.parse(out));
    });
    child.once('exit', (c) => reject(new Error(`demo server exited ${c}`)));
  });
  return { port, cert, stop: () => process.kill(child.pid, 'SIGTERM') };
}

function plans(port, cert, dir) {
  writeFileSync(join(dir, 'ca.pem'), cert);
  const mod = (to) => `
    tls: starttls
    tls_config: { ca_file: ${join(dir, 'ca.pem')}, server_name: localhost }
    auth: { username: ${DEMO_USER}, password: "\${DEMO_PASSWORD}" }
    send: { from: ${DEMO_USER}, to: [${to}] }`;
  writeFileSync(join(dir, 'c.yaml'), `global: { ehlo: probe.bench.test }
modules:
  submission: ${mod(DEMO_USER)}
  refused: ${mod('someone@outside.example')}
targets:
  - { name: ok, url: "smtp://127.0.0.1:${port}", module: submission }
  - { name: refused, url: "smtp://127.0.0.1:${port}", module: refused }
`);
  const r = loadConfig(join(dir, 'c.yaml'), { env: { DEMO_PASSWORD } });
  if (!r.ok) throw new Error(r.issues.map((i) => i.message).join('\n'));
  const by = (n) => r.config.targets.find((t) => t.name === n).plan;
  return { ok: by('ok'), refused: by('refused') };
}

/**
 * CPU (user + system, ms) per run of `plan` without and with a transcript, `n` runs each, interleaved one by one
 * so that other load on the machine falls on both alike. Also the last record of each.
 */
async function cpuPerRun(plan, n) {
  const cpu = [0, 0];
  const last = [null, null];
  for (let i = 0; i < 2 * n; i += 1) {
    const k = i % 2;
    const start = process.cpuUsage();
    last[k] = await runCheck({ ...plan, transcript: k === 1 }, systemDeps());
    const d = process.cpuUsage(start);
    cpu[k] += (d.user + d.system) / 1000;
  }
  return { without: cpu[0] / n, with: cpu[1] / n, records: last };
}

function heap() {
  globalThis.gc();
  globalThis.gc();
  const m = process.memoryUsage();
  return m.heapUsed + m.arrayBuffers;
}

/** Heap bytes of one more kept copy of `record`, over 2,000 copies. */
function recordBytes(record) {
  const before = heap();
  const kept = Array.from({ length: 2000 }, () => structuredClone(record));
  const after = heap();
  kept.length = 0;
  return (after - before) / 2000;
}

const fmt = (n, d = 1) => n.toFixed(d);

/** Sections 3 and 4 for targets whose runs all give `template` (in a function: nothing of it outlives the call). */
function historyCost(name, template) {
  const t0 = Date.parse('2026-12-01T00:00:00Z');
  const base = heap();
  const store = new HistoryStore({ capacity: RUNS, now: () => t0 + RUNS * 60_000 });
  for (let k = 0; k < TARGETS; k += 1) {
    const target = `target-${k}`;
    for (let i = 0; i < RUNS; i += 1) {
      const startedAt = new Date(t0 + i * 60_000 + k).toISOString();
      // Every run's record is a fresh object; the last one of each target is a deep copy (what stays kept).
      const r = i === RUNS - 1 ? structuredClone(template) : { ...template };
      store.record(target, [{ ...r, target, startedAt }]);
    }
  }
  const used = heap() - base;
  console.log(`   ${name.padEnd(8)} ${fmt(used / 1e6)} MB, ${fmt(used / TARGETS / 1000, 2)} KB a target`);
  const enc0 = performance.now();
  const lines = [encodeHeader(Date.now(), store.events.all())];
  for (const [n, h] of store.entries()) lines.push(encodeTarget(n, h));
  const enc = performance.now() - enc0;
  const text = lines.join('');
  const bytes = Buffer.byteLength(text);
  const dec0 = performance.now();
  const back = decodeHistory(text, RUNS);
  const dec = performance.now() - dec0;
  if (typeof back === 'string' || back.targets.size !== TARGETS) throw new Error(`decode: ${back}`);
  console.log(`            file ${fmt(bytes / 1e6, 2)} MB (${fmt(bytes / TARGETS / 1000, 2)} KB a target), encode ${fmt(enc, 0)} ms, decode ${fmt(dec, 0)} ms`);
}

const dir = mkdtempSync(join(tmpdir(), 'smtp-probe-history-bench-'));
const server = await startServer();
try {
  const { ok, refused } = plans(server.port, server.cert, dir);
  const records = {};
  console.log(`1. CPU per run (${CHECKS} runs each way, interleaved, after 30 to warm up; the server in another process)`);
  for (const [name, plan] of [['starttls+auth+send', ok], ['refused at rcpt', refused]]) {
    await cpuPerRun(plan, 30);
    const r = await cpuPerRun(plan, CHECKS);
    records[name] = r.records[1];
    const more = ((r.with - r.without) / r.without) * 100;
    console.log(`   ${name.padEnd(20)} without ${fmt(r.without, 3)} ms, with transcript ${fmt(r.with, 3)} ms (${more >= 0 ? '+' : ''}${fmt(more)} %)`);
  }
  const okRecord = records['starttls+auth+send'];
  const failRecord = records['refused at rcpt'];
  if (!okRecord.ok || failRecord.ok) throw new Error(`the bench runs did not pass / fail as meant: ${JSON.stringify([okRecord.failure, failRecord.failure, failRecord.durationMs, okRecord.phases])}`);
  console.log('2. One kept record (heap bytes, JSON bytes)');
  for (const [name, r] of [['passing', okRecord], ['refused at rcpt', failRecord]]) {
    const { transcript, ...bare } = r;
    console.log(`   ${name.padEnd(16)} without transcript ${fmt(recordBytes(bare), 0)} B (${JSON.stringify(bare).length} B JSON); with ${fmt(recordBytes(r), 0)} B (${JSON.stringify(r).length} B JSON, ${transcript.length} lines)`);
  }

  console.log(`3. The history of ${TARGETS} targets x ${RUNS} runs (heapUsed + arrayBuffers)`);
  for (const [name, template] of [['passing', okRecord], ['failing', failRecord]]) historyCost(name, template);
} finally {
  server.stop();
  rmSync(dir, { recursive: true, force: true });
}
