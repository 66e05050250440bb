// One smtp-probe load measurement, run in a fresh Node process so that its peak RSS and CPU time are its own.
//
//   node bench/probe-worker.mjs '<json>'
//
// json: { kind, port, concurrency, count, warmup, timeCapMs, ca?, servername? }
//   kind "send" | "starttls": smtp-probe's runCheck() with the benchmark plan.
//   kind "raw-send" | "raw-starttls": a diagnostic floor, not smtp-probe: the same SMTP dialogue spoken by a bare
//   net.Socket/TLSSocket client with no parsing, timing or checks beyond the reply codes (what any Node client
//   pays for sockets, the event loop and TLS).
//   kind "raw-starttls-ticket": the bare client again, but after a TLS 1.3 handshake it sends the second EHLO only
//   once the server's first NewSessionTicket has arrived (Node's 'session' event), so that the EHLO segment carries
//   the ACK for the tickets (see bench/README.md, "the 40 ms stall").
// C workers each run one check back to back until `count` runs have started or `timeCapMs` has passed.
// A warm-up of `warmup` runs (same concurrency) comes first and is not measured. Prints one JSON line.
import { readFileSync } from 'node:fs';
import net from 'node:net';
import { performance } from 'node:perf_hooks';
import tls from 'node:tls';

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
      steps: ['banner', 'ehlo', 'starttls', 'quit'],
      timeoutMs: 10_000,
      phaseTimeoutMs: 5_000,
    });
  }
  throw new Error(`unknown kind ${o.kind}`);
}

/**
 * The bare client: reads final reply lines (a space after the code) and answers each with the next write.
 * Dialogue: banner / EHLO / [MAIL, RCPT, DATA in one write] / message / QUIT, or with STARTTLS:
 * banner / EHLO / STARTTLS / handshake / EHLO / QUIT.
 */
function rawClient(o) {
  const body = 'x'.repeat(76);
  let message = 'From: <bench@probe.test>\r\nTo: <sink@probe.test>\r\nSubject: raw\r\n\r\n';
  while (message.length < 1024) message += `${body}\r\n`;
  message += '.\r\n';
  const secureContext = o.ca ? tls.createSecureContext({ ca: readFileSync(o.ca, 'utf8') }) : undefined;
  const send = o.kind === 'raw-send';
  const waitTicket = o.kind === 'raw-starttls-ticket';
  return () =>
    new Promise((resolve) => {
      const t0 = performance.now();
      let sock = net.connect({ host: HOST, port: o.port, noDelay: true });
      let buf = '';
      let n = 0;
      const finish = (ok, failure = null) => {
        sock.destroy();
        resolve({ ok, failure, durationMs: performance.now() - t0, phases: [], tls: null });
      };
      const steps = send
        ? [
            () => sock.write('EHLO bench.probe.test\r\n'),
            () => sock.write('MAIL FROM:<bench@probe.test>\r\nRCPT TO:<sink@probe.test>\r\nDATA\r\n'),
            null, // RCPT reply
            null, // DATA reply (354)
            () => sock.write(message),
            () => sock.write('QUIT\r\n'),
            () => finish(true),
          ]
        : [
            () => sock.write('EHLO bench.probe.test\r\n'),
            () => sock.write('STARTTLS\r\n'),
            () => {
              const raw = sock;
              raw.removeAllListeners('data');
              sock = tls.connect({ socket: raw, servername: o.servername, secureContext });
              sock.setNoDelay(true);
              sock.setEncoding('latin1');
              sock.on('data', onData);
              sock.on('error', (e) => finish(false, String(e)));
              let ehloSent = false;
              let secure = false;
              const ehlo = () => {
                if (ehloSent || sock.destroyed) return;
                ehloSent = true;
                sock.write('EHLO bench.probe.test\r\n');
              };
              if (waitTicket) {
                // Never write from inside the 'session' callback (OpenSSL is mid-read there): defer a tick.
                sock.once('session', () => secure && setImmediate(ehlo));
              }
              sock.once('secureConnect', () => {
                secure = true;
                if (!sock.authorized) return finish(false, `not verified: ${sock.authorizationError}`);
                if (!waitTicket || sock.getProtocol() !== 'TLSv1.3') return ehlo();
                setTimeout(ehlo, 20); // bound: a server that sends no ticket costs 20 ms, not a hang
              });
            },
            () => sock.write('QUIT\r\n'),
            () => finish(true),
          ];
      function onData(d) {
        buf += d;
        let i;
        while ((i = buf.indexOf('\n')) >= 0) {
          const line = buf.slice(0, i);
          buf = buf.slice(i + 1);
          if (line[3] !== ' ') continue;
          const code = Number(line.slice(0, 3));
          if (code >= 400) return finish(false, line);
          const step = steps[n++];
          if (step) step();
        }
      }
      sock.setEncoding('latin1');
      sock.on('data', onData);
      sock.on('error', (e) => finish(false, String(e)));
    });
}

const deps = systemDeps();
const runOne = opts.kind.startsWith('raw-')
  ? rawClient(opts)
  : ((plan) => () => runCheck(plan, deps))(planFor(opts));

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
await load(opts.count, opts.concurrency, opts.timeCapMs ?? 30_000, (r, ms) => {
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
});
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
    latMean: latencies.reduce((a, b) => a + b, 0) / (latencies.length || 1),
    latP50: q(50),
    latP90: q(90),
    latP99: q(99),
    internalMean: internal.reduce((a, b) => a + b, 0) / (internal.length || 1),
    phases,
    tlsVersion,
  })}\n`,
);
