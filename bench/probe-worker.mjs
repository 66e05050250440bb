// One smtp-probe load measurement, run in a fresh Node process so that its peak RSS and CPU time are its own.
//
//   node bench/probe-worker.mjs '<json>'
//
// json: { kind, port, concurrency, count, warmup, timeCapMs, ca?, servername?, steps?, rate? }
//   kind "send" | "starttls": smtp-probe's runCheck() with the benchmark plan (starttls: `steps`, default
//   banner,ehlo,starttls,quit).
//   kind "raw-send": a diagnostic floor, not smtp-probe: the same SMTP dialogue spoken by a bare net.Socket client
//   with no parsing, timing or checks beyond the reply codes (what any Node client pays for sockets and the event loop).
// C workers each run one check back to back until `count` runs have started or `timeCapMs` has passed. With `rate`
// (runs per second) the runs start on a fixed schedule instead (open loop, at most `concurrency` in flight: a run
// due while that many are still going waits and is counted as late). A warm-up of `warmup` runs comes first and is
// not measured. Prints one JSON line.
import { readFileSync } from 'node:fs';
import net from 'node:net';
import { performance } from 'node:perf_hooks';

const opts = JSON.parse(process.argv[2] ?? '{}');
const { runCheck, systemDeps } = await import(new URL('../dist/src/runner/run.js', import.meta.url));
const { makePlan, makeSend } = await import(new URL('../dist/src/plan/build.js', import.meta.url));

const HOST = '127.0.0.1'; // loopback only, whatever the caller says

function planFor(o) {
  if (o.kind === 'send') {
    return makePlan({
      host: HOST,
      port: o.port,
      tls: 'none',
      ehlo: 'bench.probe.test',
      steps: ['banner', 'ehlo', 'send', 'quit'],
      send: makeSend({ from: 'bench@probe.test', to: ['sink@probe.test'], size: 1024 }),
      timeoutMs: 10_000,
      phaseTimeoutMs: 5_000,
    });
  }
  if (o.kind === 'starttls') {
    return makePlan({
      host: HOST,
      port: o.port,
      tls: 'starttls',
      tlsParams: { servername: o.servername ?? 'mail.probe.test', ca: readFileSync(o.ca, 'utf8'), insecure: false },
      ehlo: 'bench.probe.test',
      steps: o.steps ?? ['banner', 'ehlo', 'starttls', 'quit'],
      timeoutMs: 10_000,
      phaseTimeoutMs: 5_000,
    });
  }
  throw new Error(`unknown kind ${o.kind}`);
}

/**
 * The bare client: reads final reply lines (a space after the code) and answers each with the next write.
 * Dialogue: banner / EHLO / [MAIL, RCPT, DATA in one write] / message / QUIT.
 */
function rawClient(o) {
  const body = 'x'.repeat(76);
  let message = 'From: <bench@probe.test>\r\nTo: <sink@probe.test>\r\nSubject: raw\r\n\r\n';
  while (message.length < 1024) message += `${body}\r\n`;
  message += '.\r\n';
  return () =>
    new Promise((resolve) => {
      const t0 = performance.now();
      const sock = net.connect({ host: HOST, port: o.port, noDelay: true });
      let buf = '';
      let n = 0;
      const finish = (ok, failure = null) => {
        sock.destroy();
        resolve({ ok, failure, durationMs: performance.now() - t0, phases: [], tls: null });
      };
      const steps = [
        () => sock.write('EHLO bench.probe.test\r\n'),
        () => sock.write('MAIL FROM:<bench@probe.test>\r\nRCPT TO:<sink@probe.test>\r\nDATA\r\n'),
        null, // RCPT reply
        null, // DATA reply (354)
        () => sock.write(message),
        () => sock.write('QUIT\r\n'),
        () => finish(true),
      ];
      sock.setEncoding('latin1');
      sock.on('data', (d) => {
        buf += d;
        let i;
        while ((i = buf.indexOf('\n')) >= 0) {
          const line = buf.slice(0, i);
          buf = buf.slice(i + 1);
          if (line[3] !== ' ') continue;
          if (Number(line.slice(0, 3)) >= 400) return finish(false, line);
          const step = steps[n++];
          if (step) step();
        }
      });
      sock.on('error', (e) => finish(false, String(e)));
    });
}

const deps = systemDeps();
const runOne = opts.kind.startsWith('raw-')
  ? rawClient(opts)
  : ((plan) => () => runCheck(plan, deps))(planFor(opts));

/**
 * Open loop: run i starts at t0 + i / rate s, at most `concurrency` in flight (a run due while that many are still
 * going starts as soon as one ends, and counts as late when it starts more than 100 ms after its slot).
 */
async function paced(count, rate, concurrency, capMs, record) {
  const t0 = performance.now();
  const inflight = new Set();
  let late = 0;
  for (let i = 0; i < count && performance.now() - t0 < capMs; i += 1) {
    const due = t0 + (i * 1000) / rate;
    if (due > performance.now()) await new Promise((r) => setTimeout(r, due - performance.now()));
    while (inflight.size >= concurrency) await Promise.race(inflight);
    if (performance.now() - due > 100) late += 1;
    const p = (async () => {
      const t = performance.now();
      const r = await runOne();
      record(r, performance.now() - t);
    })();
    inflight.add(p);
    p.finally(() => inflight.delete(p));
  }
  await Promise.all(inflight);
  return late;
}

async function load(count, concurrency, capMs, record) {
  let started = 0;
  const deadline = performance.now() + capMs;
  const worker = async () => {
    while (started < count && performance.now() < deadline) {
      started += 1;
      const t = performance.now();
      const r = await runOne();
      record(r, performance.now() - t);
    }
  };
  await Promise.all(Array.from({ length: concurrency }, worker));
}

// ---- warm-up (not measured): JIT, TLS context code paths, server-side process pools.
let warmFailures = 0;
let firstWarmFailure = null;
await load(opts.warmup ?? 0, opts.concurrency, 15_000, (r) => {
  if (!r.ok) {
    warmFailures += 1;
    firstWarmFailure ??= r.failure;
  }
});

// ---- measured run
const latencies = [];
let slow40 = 0;
const internal = [];
const phaseSum = {};
const phaseCount = {};
let failures = 0;
let firstFailure = null;
let tlsVersion = null;
const cpu0 = process.cpuUsage();
const t0 = performance.now();
const measured = (r, ms) => {
  latencies.push(ms);
  if (ms >= 40) slow40 += 1;
  internal.push(r.durationMs);
  if (!r.ok) {
    failures += 1;
    firstFailure ??= r.failure;
  }
  if (r.tls && !tlsVersion) tlsVersion = `${r.tls.version} ${r.tls.cipher}${r.tls.verified ? ', verified' : ', NOT verified'}`;
  for (const p of r.phases) {
    phaseSum[p.phase] = (phaseSum[p.phase] ?? 0) + p.durationMs;
    phaseCount[p.phase] = (phaseCount[p.phase] ?? 0) + 1;
  }
};
const late = opts.rate
  ? await paced(opts.count, opts.rate, opts.concurrency, opts.timeCapMs ?? 30_000, measured)
  : (await load(opts.count, opts.concurrency, opts.timeCapMs ?? 30_000, measured), 0);
const wallMs = performance.now() - t0;
const cpu = process.cpuUsage(cpu0);
const ru = process.resourceUsage();

const sorted = [...latencies].sort((a, b) => a - b);
const q = (p) => sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))];
const phases = {};
for (const k of Object.keys(phaseSum)) phases[k] = phaseSum[k] / phaseCount[k];

process.stdout.write(
  `${JSON.stringify({
    kind: opts.kind,
    concurrency: opts.concurrency,
    done: latencies.length,
    failures,
    firstFailure,
    warmup: opts.warmup ?? 0,
    warmFailures,
    firstWarmFailure,
    wallMs,
    cpuUserMs: cpu.user / 1000,
    cpuSysMs: cpu.system / 1000,
    maxRssKiB: ru.maxRSS,
    slow40,
    late,
    rate: opts.rate ?? null,
    latMean: latencies.reduce((a, b) => a + b, 0) / (latencies.length || 1),
    latP50: q(50),
    latP90: q(90),
    latP99: q(99),
    internalMean: internal.reduce((a, b) => a + b, 0) / (internal.length || 1),
    phases,
    tlsVersion,
  })}\n`,
);
