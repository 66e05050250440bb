// Section 2: STARTTLS probes against the real Postfix (plain SMTP port, STARTTLS offered): smtp-probe's runCheck in
// a fresh Node process next to prometheus blackbox_exporter's /probe with an equivalent tcp query_response module.
import { closeSync, mkdtempSync, openSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os, { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import tls from 'node:tls';
import {
  fmt, freePort, heading, mean, percentile, procCpuMs, procPeakRssKiB, ratio, startDaemon, stopChild, table, target,
  treeCpuMs, waitFor,
} from './lib.mjs';
import { probeWorker } from './transactions.mjs';

// Counts sized so that a run with the ~45 ms stall still fits its time cap (c=1: 200 x 48 ms = 10 s).
const PLAN = [
  { c: 1, probeN: 200, probeWarm: 20, bbN: 200, bbWarm: 20, floorN: 100, ticketN: 1000 },
  { c: 20, probeN: 3000, probeWarm: 200, bbN: 2000, bbWarm: 100, floorN: 2000, ticketN: 3000 },
];
const TIME_CAP_MS = 20_000;
const REPS = 3;
const rate = (x) => (x.done * 1000) / x.wallMs;

/** The run with the median rate (lower middle for an even count). */
function medianRun(runs) {
  const s = [...runs].sort((a, b) => rate(a) - rate(b));
  return s[Math.floor((s.length - 1) / 2)];
}
const BLACKBOX = '/usr/bin/prometheus-blackbox-exporter';

function blackboxConfig(ca, servername) {
  // Blackbox appends "\n" to each send; "\r" in a YAML double-quoted string makes the CRLF SMTP wants.
  return `modules:
  smtp_starttls:
    prober: tcp
    timeout: 5s
    tcp:
      preferred_ip_protocol: ip4
      ip_protocol_fallback: false
      query_response:
        - expect: "^220"
        - send: "EHLO bench.probe.test\\r"
        - expect: "^250 "
        - send: "STARTTLS\\r"
        - expect: "^220"
        - starttls: true
        - send: "EHLO bench.probe.test\\r"
        - expect: "^250 "
        - send: "QUIT\\r"
        - expect: "^221"
      tls_config:
        ca_file: ${JSON.stringify(ca)}
        server_name: ${JSON.stringify(servername)}
`;
}

/** C concurrent HTTP clients (Node's fetch, keep-alive) calling /probe until `count` are done or the cap passes. */
async function driveBlackbox(url, count, concurrency, capMs) {
  let started = 0;
  const lat = [];
  const probeDur = [];
  let failures = 0;
  let firstFailure = null;
  const deadline = performance.now() + capMs;
  const worker = async () => {
    while (started < count && performance.now() < deadline) {
      started += 1;
      const t = performance.now();
      let body = '';
      let status = 0;
      try {
        const res = await fetch(url, { signal: AbortSignal.timeout(10_000) });
        status = res.status;
        body = await res.text();
      } catch (e) {
        body = String(e);
      }
      lat.push(performance.now() - t);
      const ok = status === 200 && /^probe_success 1$/m.test(body);
      const d = /^probe_duration_seconds ([0-9.e+-]+)$/m.exec(body);
      if (d) probeDur.push(Number(d[1]) * 1000);
      if (!ok) {
        failures += 1;
        firstFailure ??= `HTTP ${status}: ${body.split('\n').filter((l) => /probe_success|probe_failed|error/i.test(l)).join(' ; ').slice(0, 300) || body.slice(0, 300)}`;
      }
    }
  };
  const t0 = performance.now();
  await Promise.all(Array.from({ length: concurrency }, worker));
  return { done: lat.length, wallMs: performance.now() - t0, lat, probeDur, failures, firstFailure, slow40: lat.filter((x) => x >= 40).length };
}

/** Where does smtp-probe's TLS time go? Costs measured in this process, outside any server. */
function tlsContextCost(ca) {
  const n = 300;
  for (let i = 0; i < 20; i += 1) tls.createSecureContext({ ca });
  const t0 = performance.now();
  for (let i = 0; i < n; i += 1) tls.createSecureContext({ ca });
  return (performance.now() - t0) / n;
}

function postfixMasterPid(dir) {
  try {
    const pid = Number(readFileSync(join(dir, 'postfix-queue/pid/master.pid'), 'utf8').trim());
    return pid > 0 ? pid : null;
  } catch {
    return null;
  }
}

function printIntro(stack) {
  console.log(heading(`2. starttls: banner, EHLO, STARTTLS, handshake, EHLO, QUIT against Postfix 127.0.0.1:${stack.smtpPort}`));
  console.log(`smtp-probe plan: steps banner,ehlo,starttls,quit, tls starttls, ca ${stack.ca}, servername ${stack.hostname}.`);
  console.log('blackbox_exporter: tcp prober, query_response expect ^220 / EHLO / expect "^250 " / STARTTLS / expect ^220 /');
  console.log('starttls (tls_config ca_file + server_name) / EHLO / expect "^250 " / QUIT / expect ^221, driven through');
  console.log('/probe by C concurrent fetch() clients in this process; latency = HTTP request to response body.');
  console.log(`${REPS} reps per configuration, smtp-probe and blackbox_exporter back to back in each; the table shows each`);
  console.log("tool's median run, ratios and targets use the median of the per-rep ratios [range]. Postfix CPU = master +");
  console.log('children (smtpd, tlsmgr, ...) over the run.');
}

/** Config file in a temp directory, a free port, the exporter started (tracked, stopped by PID in stopBlackbox). */
async function startBlackbox(stack) {
  const dir = mkdtempSync(join(tmpdir(), 'smtp-probe-bench-bb-'));
  const cfg = join(dir, 'blackbox.yml');
  writeFileSync(cfg, blackboxConfig(stack.ca, stack.hostname));
  const logPath = join(dir, 'blackbox.log');
  const logFd = openSync(logPath, 'a');
  const port = await freePort();
  const child = startDaemon(BLACKBOX, [`--config.file=${cfg}`, `--web.listen-address=127.0.0.1:${port}`, '--log.level=warn'], logFd);
  closeSync(logFd);
  return { child, dir, cfg, logPath, port, base: `http://127.0.0.1:${port}` };
}

/** Wait (up to 15 s) until its /metrics answers; throws with the end of its log if it does not start. */
async function waitBlackbox(bb) {
  const up = await waitFor(async () => {
    if (bb.child.exitCode !== null) return true;
    try {
      return (await fetch(`${bb.base}/metrics`, { signal: AbortSignal.timeout(1000) })).ok;
    } catch {
      return false;
    }
  }, 15_000);
  if (!up || bb.child.exitCode !== null) {
    throw new Error(`blackbox_exporter did not start (exit ${bb.child.exitCode}): ${readFileSync(bb.logPath, 'utf8').slice(-800)}`);
  }
  console.log(`blackbox_exporter pid ${bb.child.pid} on 127.0.0.1:${bb.port}, config ${bb.cfg}`);
}

async function stopBlackbox(bb) {
  await stopChild(bb.child);
  rmSync(bb.dir, { recursive: true, force: true });
}

/** One smtp-probe run in a fresh worker process, with Postfix's CPU over it (scaled to the measured share). */
async function measureProbe(stack, pfCpu, { c, probeN, probeWarm }) {
  const pf0 = pfCpu();
  const p = await probeWorker({
    kind: 'starttls', port: stack.smtpPort, concurrency: c, count: probeN, warmup: probeWarm, timeCapMs: TIME_CAP_MS,
    ca: stack.ca, servername: stack.hostname,
  });
  p.postfixCpuMs = (pfCpu() - pf0) * (p.done / (p.done + p.warmup));
  if (p.failures > 0 || p.warmFailures > 0) {
    console.log(`  ERROR smtp-probe c=${c}: ${p.failures} failed probes (+${p.warmFailures} in warm-up); first: ${JSON.stringify(p.firstFailure ?? p.firstWarmFailure)}`);
  }
  return p;
}

/** One blackbox_exporter run (after its unmeasured warm-up): its CPU, Postfix's and the fetch() driver's. */
async function measureBlackbox(bb, url, pfCpu, { c, bbN, bbWarm }) {
  const w = await driveBlackbox(url, bbWarm, c, 10_000);
  if (w.failures > 0) console.log(`  ERROR blackbox warm-up c=${c}: ${w.failures} probes without probe_success 1; first: ${w.firstFailure}`);
  const bb0 = procCpuMs(bb.child.pid);
  const pfb0 = pfCpu();
  const drv0 = process.cpuUsage();
  const b = await driveBlackbox(url, bbN, c, TIME_CAP_MS);
  const drv = process.cpuUsage(drv0);
  b.driverCpuMs = (drv.user + drv.system) / 1000;
  b.cpuMs = procCpuMs(bb.child.pid) - bb0;
  b.postfixCpuMs = pfCpu() - pfb0;
  if (b.failures > 0) {
    console.log(`  ERROR blackbox_exporter c=${c}: probe_success was not 1 in ${b.failures} of ${b.done} probes; first: ${b.firstFailure}`);
  }
  return b;
}

/** Diagnostic floors (one run each): a bare Node TLS client, as is and waiting for the session ticket. */
async function measureFloors(stack, { c, probeWarm, floorN, ticketN }) {
  const floors = {};
  for (const [kind, n] of [['raw-starttls', floorN], ['raw-starttls-ticket', ticketN]]) {
    const f = await probeWorker({
      kind, port: stack.smtpPort, concurrency: c, count: n, warmup: Math.min(probeWarm, 50), timeCapMs: TIME_CAP_MS,
      ca: stack.ca, servername: stack.hostname,
    });
    if (f.failures > 0) console.log(`  ERROR ${kind} c=${c}: ${f.failures} failed; first: ${f.firstFailure}`);
    floors[kind] = f;
  }
  return floors;
}

/** Every configuration of PLAN: REPS reps of smtp-probe and blackbox_exporter back to back, then the floors. */
async function measure(stack, bb, url, pfCpu) {
  const out = {};
  for (const cfg of PLAN) {
    const runsP = [];
    const runsB = [];
    for (let rep = 0; rep < REPS; rep += 1) {
      runsP.push(await measureProbe(stack, pfCpu, cfg));
      runsB.push(await measureBlackbox(bb, url, pfCpu, cfg));
    }
    const floors = await measureFloors(stack, cfg);
    out[cfg.c] = {
      probe: medianRun(runsP), bb: medianRun(runsB), floor: floors['raw-starttls'], ticket: floors['raw-starttls-ticket'],
      runsP, runsB,
    };
  }
  return out;
}

function printTable(out, bbRss) {
  const rows = [['tool', 'c', 'N', 'ok', 'probes/s', 'latency ms', 'p50', 'p90', 'p99', '>=40ms', 'CPU ms/probe', 'Postfix CPU ms/probe', 'peak RSS MiB']];
  const worker = (name, c, p, pf = true) => [
    name, c, p.done, p.done - p.failures, fmt((p.done * 1000) / p.wallMs, 0), fmt(p.latMean, 2), fmt(p.latP50, 2),
    fmt(p.latP90, 2), fmt(p.latP99, 2), p.slow40, fmt((p.cpuUserMs + p.cpuSysMs) / p.done, 3), pf ? fmt(p.postfixCpuMs / p.done, 3) : '',
    fmt(p.maxRssKiB / 1024, 1),
  ];
  for (const { c } of PLAN) {
    const { probe: p, bb: b, floor: f, ticket: t } = out[c];
    rows.push([
      'blackbox_exporter', c, b.done, b.done - b.failures, fmt((b.done * 1000) / b.wallMs, 0), fmt(mean(b.lat), 2),
      fmt(percentile(b.lat, 50), 2), fmt(percentile(b.lat, 90), 2), fmt(percentile(b.lat, 99), 2), b.slow40,
      fmt(b.cpuMs / b.done, 3), fmt(b.postfixCpuMs / b.done, 3), c === PLAN.at(-1).c ? fmt(bbRss / 1024, 1) : '',
    ]);
    rows.push(worker('smtp-probe', c, p));
    rows.push(worker('node floor*', c, f, false));
    rows.push(worker('node floor, EHLO after ticket*', c, t, false));
  }
  console.log(`\n${table(rows)}`);
  console.log('  (>=40ms: probes that took 40 ms or more; blackbox CPU from /proc/PID/stat over the measured run, 10 ms');
  console.log('   ticks; its RSS is its VmHWM at the end. * diagnostics, not smtp-probe: a bare Node TLS client speaking the');
  console.log('   same dialogue with a shared SecureContext; the second one sends the post-TLS EHLO only after the');
  console.log("   server's first TLS 1.3 NewSessionTicket has arrived, which is what avoids the stall explained below.)");
}

function printWhereTimeGoes(out) {
  for (const { c } of PLAN) {
    const { probe: p, bb: b } = out[c];
    console.log(`\nc=${c} where a probe goes:`);
    console.log(`  smtp-probe phases (mean ms): ${Object.entries(p.phases).map(([k, v]) => `${k} ${fmt(v, 3)}`).join(' | ')}`);
    console.log(`    sum ${fmt(p.internalMean, 3)} ms; around runCheck() ${fmt(p.latMean, 3)} ms; CPU user ${fmt(p.cpuUserMs / p.done, 3)} + sys ${fmt(p.cpuSysMs / p.done, 3)} ms/probe; ${p.tlsVersion}`);
    const over = mean(b.lat) - mean(b.probeDur);
    const slow = b.probeDur.filter((d) => d >= 40).length;
    const cores = os.availableParallelism();
    const pc = (p.cpuUserMs + p.cpuSysMs) / p.done + p.postfixCpuMs / p.done;
    const bc = (b.cpuMs + b.postfixCpuMs + b.driverCpuMs) / b.done;
    console.log(`  CPU per probe, client + Postfix: smtp-probe ${fmt(pc, 2)} ms -> at most ${fmt((cores * 1000) / pc, 0)} probes/s on ${cores} cores ` +
      `(${fmt(rate(p), 0)} reached); blackbox_exporter + Postfix + the fetch() driver ${fmt(bc, 2)} ms ` +
      `(driver ${fmt(b.driverCpuMs / b.done, 2)}) -> at most ${fmt((cores * 1000) / bc, 0)} (${fmt(rate(b), 0)} reached)`);
    console.log(`  node floor: ${fmt(out[c].floor.latMean, 2)} ms as is; ${fmt(out[c].ticket.latMean, 2)} ms when EHLO waits for the session ticket`);
    console.log(`  blackbox_exporter: probe_duration_seconds mean ${fmt(mean(b.probeDur), 2)} ms, p50 ${fmt(percentile(b.probeDur, 50), 2)}, p90 ${fmt(percentile(b.probeDur, 90), 2)};`);
    console.log(`    HTTP + exporter overhead ${fmt(over, 2)} ms/probe; ${slow} of ${b.probeDur.length} probes took >= 40 ms (delayed-ACK stall signature)`);
  }
}

function printStall(out) {
  const p1 = out[1].probe;
  const stall = p1.phases.ehlo_tls ?? NaN;
  console.log(`\nthe ~40 ms stall: at c=1, ${fmt(stall, 2)} of smtp-probe's ${fmt(p1.latMean, 2)} ms are the ehlo_tls phase (EHLO after the`);
  console.log('  handshake), the same for blackbox_exporter and the bare Node client. A packet capture on lo shows why: the');
  console.log("  client sends its TLS Finished and the EHLO together; Postfix then sends its TLS 1.3 NewSessionTickets and,");
  console.log("  right after, the EHLO reply. smtpd does not set TCP_NODELAY, so Nagle holds that small reply while the tickets");
  console.log('  are unacknowledged, and the client, with nothing to send, delays its ACK (Linux: 40 ms minimum). TCP_NODELAY');
  console.log("  on the client cannot help: the bytes held back are the server's. Sending the EHLO only once the first ticket");
  console.log("  has arrived (Node's 'session' event on the TLSSocket) makes the EHLO carry that ACK: see the");
  console.log(`  "EHLO after ticket" rows (${fmt(out[1].ticket.latMean, 2)} ms instead of ${fmt(out[1].floor.latMean, 2)} ms at c=1).`);
}

function printContextCost(caPem, out) {
  const ctxMs = tlsContextCost(caPem);
  console.log(`\nsmtp-probe passes the CA PEM to tls.connect() on every run, so Node builds a new SecureContext per probe:`);
  console.log(`  tls.createSecureContext({ ca }) costs ${fmt(ctxMs, 3)} ms here (${fmt((ctxMs / ((out[1].probe.cpuUserMs + out[1].probe.cpuSysMs) / out[1].probe.done)) * 100, 0)}% of smtp-probe's CPU per probe at c=1).`);
}

/** Median and range over the reps of configuration c of f(smtp-probe run, blackbox_exporter run). */
function paired(out, c, f) {
  const xs = out[c].runsP.map((p, i) => f(p, out[c].runsB[i])).sort((a, b) => a - b);
  return { med: xs[Math.floor((xs.length - 1) / 2)], min: xs[0], max: xs.at(-1) };
}

function reportRatios(ctx, out) {
  const show = (r) => `${ratio(r.med)} [${ratio(r.min)}-${ratio(r.max)}]`;
  const r1 = paired(out, 1, (p, b) => rate(p) / rate(b));
  const r20 = paired(out, 20, (p, b) => rate(p) / rate(b));
  const lat = (p, b) => p.latMean / mean(b.lat);
  const cpu = (p, b) => (p.cpuUserMs + p.cpuSysMs) / p.done / (b.cpuMs / b.done);
  console.log('\nratios (smtp-probe / blackbox_exporter), median of the per-rep ratios [range]:');
  console.log(`  c=1  probes/s ${show(r1)}   latency ${show(paired(out, 1, lat))}   client CPU per probe ${show(paired(out, 1, cpu))}`);
  console.log(`  c=20 probes/s ${show(r20)}   latency ${show(paired(out, 20, lat))}   client CPU per probe ${show(paired(out, 20, cpu))}`);
  const t1 = target('STARTTLS c=1 at least 5x blackbox_exporter probes/s', r1.med >= 5, `${ratio(r1.med)}, reps ${ratio(r1.min)}-${ratio(r1.max)}`);
  const t20 = target('STARTTLS c=20 ahead of blackbox_exporter', r20.med > 1, `${ratio(r20.med)}, reps ${ratio(r20.min)}-${ratio(r20.max)}`);
  console.log(`${t1}\n${t20}`);
  ctx.targets.push(t1, t20);
  const bad = Object.values(out).some((o) => o.runsB.some((b) => b.failures > 0));
  if (bad) console.log('  ERROR: blackbox_exporter probe_success was not always 1; its figures are not comparable.');
}

export async function starttls(ctx) {
  const { stack } = ctx;
  printIntro(stack);
  const caPem = readFileSync(stack.ca, 'utf8');
  const masterPid = postfixMasterPid(stack.dir);
  const pfCpu = () => (masterPid ? treeCpuMs(masterPid) : NaN);
  const bb = await startBlackbox(stack);
  try {
    await waitBlackbox(bb);
    const url = `${bb.base}/probe?module=smtp_starttls&target=${encodeURIComponent(`127.0.0.1:${stack.smtpPort}`)}`;
    const out = await measure(stack, bb, url, pfCpu);
    printTable(out, procPeakRssKiB(bb.child.pid));
    printWhereTimeGoes(out);
    printStall(out);
    printContextCost(caPem, out);
    reportRatios(ctx, out);
    return out;
  } finally {
    await stopBlackbox(bb);
  }
}
