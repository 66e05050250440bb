// Section 1: full SMTP transactions against Postfix's smtp-sink, smtp-probe (runCheck in a fresh Node process)
// next to Postfix's smtp-source doing the same work.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os, { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ROOT, fmt, heading, pct, procCpuMs, ratio, run, table, target } from './lib.mjs';

const FROM = 'bench@probe.test';
const TO = 'sink@probe.test';
const TASKSET = '/usr/bin/taskset';

/**
 * Runs: concurrency, CPU placement, transactions measured, warm-up, repetitions, and whether smtp-source and the
 * node floor run too. At c=1 every reply wakes the other process, and on this kind of machine (a VM) waking a
 * process on another core costs far more than the work itself, so the result depends on where the scheduler puts
 * the two processes. c=1 is therefore run twice with pinned CPUs (util-linux taskset): client and sink on
 * different cores (every reply crosses cores, as with a real network peer) and on the same core (no cross-core
 * wake-up: the client's own cost shows). c=20 and c=50 run unpinned, using the whole machine.
 */
const PLAN = [
  { key: '1-cross', c: 1, place: 'different cores', clientCpu: '0', sinkCpu: '1', n: 2000, warm: 200, reps: 3, source: true },
  { key: '1-same', c: 1, place: 'same core', clientCpu: '0', sinkCpu: '0', n: 2000, warm: 200, reps: 3, source: true },
  { key: '20', c: 20, place: 'unpinned', n: 5000, warm: 400, reps: 5, source: true },
  { key: '50', c: 50, place: 'unpinned', n: 5000, warm: 500, reps: 1, source: false },
];
const TIME_CAP_MS = 25_000;

/** Run bench/probe-worker.mjs in a fresh Node process (optionally pinned to `cpu`) and parse its JSON line. */
export async function probeWorker(opts, cpu = null) {
  const args = [join(ROOT, 'bench/probe-worker.mjs'), JSON.stringify(opts)];
  const r = cpu === null
    ? await run(process.execPath, args, { timeoutMs: (opts.timeCapMs ?? 30_000) + 30_000 })
    : await run(TASKSET, ['-c', cpu, process.execPath, ...args], { timeoutMs: (opts.timeCapMs ?? 30_000) + 30_000 });
  const last = r.stdout.trim().split('\n').at(-1) ?? '';
  if (r.code !== 0 || !last.startsWith('{')) {
    throw new Error(`smtp-probe worker failed (exit ${r.code}${r.timedOut ? ', killed after time limit' : ''}): ${r.stderr.trim().slice(0, 800)}`);
  }
  return JSON.parse(last);
}

async function smtpSource(port, c, n, sinkPid, cpu) {
  const dir = mkdtempSync(join(tmpdir(), 'smtp-probe-bench-'));
  const timeFile = join(dir, 'time.txt');
  try {
    const args = ['-s', String(c), '-m', String(n), '-l', '1024', '-f', FROM, '-t', TO, `127.0.0.1:${port}`];
    const cmd = cpu === null ? ['/usr/sbin/smtp-source', ...args] : [TASKSET, '-c', cpu, '/usr/sbin/smtp-source', ...args];
    const sink0 = procCpuMs(sinkPid);
    const r = await run('/usr/bin/time', ['-f', '%U %S %M', '-o', timeFile, ...cmd], { timeoutMs: TIME_CAP_MS + 30_000 });
    const sink1 = procCpuMs(sinkPid);
    if (r.code !== 0) throw new Error(`smtp-source exited ${r.code}${r.timedOut ? ' (killed after time limit)' : ''}: ${r.stderr.trim().slice(0, 500)}`);
    const [u, s, m] = readFileSync(timeFile, 'utf8').trim().split('\n').at(-1).split(/\s+/).map(Number);
    return { done: n, wallMs: r.wallMs, cpuMs: (u + s) * 1000, maxRssKiB: m, sinkCpuMs: sink1 - sink0 };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

async function probe(port, c, n, warm, sinkPid, cpu, kind = 'send') {
  const sink0 = procCpuMs(sinkPid);
  const r = await probeWorker({ kind, port, concurrency: c, count: n, warmup: warm, timeCapMs: TIME_CAP_MS }, cpu);
  const sink1 = procCpuMs(sinkPid); // includes the warm-up: scaled to the measured share
  return { ...r, cpuMs: r.cpuUserMs + r.cpuSysMs, sinkCpuMs: (sink1 - sink0) * (r.done / (r.done + r.warmup)) };
}

function pinSink(pid, cpus) {
  return spawnSync(TASKSET, ['-pc', cpus, String(pid)], { encoding: 'utf8' }).status === 0;
}

const tps = (x) => (x.done * 1000) / x.wallMs;
const msPer = (x) => x.wallMs / x.done;

/** The run with the median throughput (lower middle for an even count), or null. */
function medianRun(runs) {
  if (runs.length === 0) return null;
  const s = [...runs].sort((a, b) => tps(a) - tps(b));
  return s[Math.floor((s.length - 1) / 2)];
}

/** Median and range of a per-rep ratio f(a, b) over paired reps. */
function paired(as, bs, f) {
  const xs = as.map((a, i) => f(a, bs[i])).sort((x, y) => x - y);
  return { med: xs[Math.floor((xs.length - 1) / 2)], min: xs[0], max: xs.at(-1) };
}

const util = (x) => `${fmt((100 * x.cpuMs) / x.wallMs, 0)}%`;
const placeOf = (o) => (o.pinned ? o.place : 'unpinned');

// per-rep ratio functions f(a, b) and their display
const time = (a, b) => msPer(a) / msPer(b);
const thr = (a, b) => tps(a) / tps(b);
const cpuRatio = (a, b) => a.cpuMs / a.done / (b.cpuMs / b.done);
const rss = (a, b) => a.maxRssKiB / b.maxRssKiB;
const show = (r, f = ratio) => `${f(r.med)} [${f(r.min)}-${f(r.max)}]`;

function printIntro(ctx) {
  console.log(heading('1. transactions: banner, EHLO, MAIL, RCPT, DATA (1 KiB), QUIT against smtp-sink'));
  console.log(`smtp-sink on 127.0.0.1:${ctx.sinkPort} (pid ${ctx.sinkPid}); smtp-probe plan: steps banner,ehlo,send,quit, tls none,`);
  console.log(`makeSend({ size: 1024 }); smtp-source -s C -m N -l 1024 -f ${FROM} -t ${TO}.`);
  console.log('Each configuration runs "reps" times; in each rep smtp-source, smtp-probe and the node floor run back to');
  console.log("back, so they are compared under the same machine conditions. The table shows each tool's median-throughput");
  console.log('run; ratios and targets use the median of the per-rep ratios [range]. c=1 runs twice with pinned CPUs');
  console.log('(taskset): client and sink on different cores, where every reply must wake the other core (as with a real');
  console.log("network peer), and on the same core, where no cross-core wake-up happens and each client's own cost shows.");
  console.log("smtp-source has no per-transaction clock: its latency at c>1 comes from Little's law (c x wall / N), marked '~'.");
}

/** One rep of one configuration: smtp-source (with its unmeasured warm-up before the first rep), smtp-probe, node floor. */
async function measureRep(ctx, cfg, clientCpu, i, runs) {
  const { c, n, warm, source } = cfg;
  const port = ctx.sinkPort;
  if (source) {
    if (i === 0) await smtpSource(port, c, Math.min(200, warm), ctx.sinkPid, clientCpu); // warm-up, not measured
    runs.source.push(await smtpSource(port, c, n, ctx.sinkPid, clientCpu));
  }
  const p = await probe(port, c, n, warm, ctx.sinkPid, clientCpu);
  if (p.failures > 0 || p.warmFailures > 0) {
    console.log(`  ERROR smtp-probe c=${c}: ${p.failures} failed runs (+${p.warmFailures} in warm-up); first: ${JSON.stringify(p.firstFailure ?? p.firstWarmFailure)}`);
  }
  runs.probe.push(p);
  if (source) {
    const f = await probe(port, c, n, warm, ctx.sinkPid, clientCpu, 'raw-send');
    if (f.failures > 0) console.log(`  ERROR node floor c=${c}: ${f.failures} failed runs; first: ${f.firstFailure}`);
    runs.floor.push(f);
  }
}

/** Every configuration of PLAN, its reps back to back; the sink is pinned per configuration and unpinned at the end. */
async function measure(ctx, canPin) {
  const out = {};
  try {
    for (const cfg of PLAN) {
      const clientCpu = canPin && cfg.clientCpu ? cfg.clientCpu : null;
      if (canPin) pinSink(ctx.sinkPid, cfg.sinkCpu ?? `0-${os.availableParallelism() - 1}`);
      const runs = { probe: [], source: [], floor: [] };
      for (let i = 0; i < cfg.reps; i += 1) await measureRep(ctx, cfg, clientCpu, i, runs);
      out[cfg.key] = { ...cfg, pinned: clientCpu !== null, probe: medianRun(runs.probe), source: medianRun(runs.source), floor: medianRun(runs.floor), runs };
    }
  } finally {
    if (canPin) pinSink(ctx.sinkPid, `0-${os.availableParallelism() - 1}`);
  }
  return out;
}

function printTable(out) {
  const rows = [['tool', 'c', 'CPUs', 'reps', 'N', 'wall s', 'tx/s', 'wall ms/tx', 'latency ms', 'p50', 'p90', 'p99', 'CPU ms/tx', 'CPU %', 'sink CPU ms/tx', 'peak RSS MiB']];
  for (const cfg of PLAN) {
    const { probe: p, source: s, floor: f, reps, c, pinned } = out[cfg.key];
    const place = pinned ? cfg.place : 'unpinned';
    const node = (name, x) => [
      name, c, place, reps, x.done, fmt(x.wallMs / 1000, 3), fmt(tps(x), 0), fmt(msPer(x), 3), fmt(x.latMean, 3),
      fmt(x.latP50, 3), fmt(x.latP90, 3), fmt(x.latP99, 3), fmt(x.cpuMs / x.done, 3), util(x), fmt(x.sinkCpuMs / x.done, 3), fmt(x.maxRssKiB / 1024, 1),
    ];
    if (s) {
      rows.push([
        'smtp-source', c, place, reps, s.done, fmt(s.wallMs / 1000, 3), fmt(tps(s), 0), fmt(msPer(s), 3),
        `~${fmt((c * s.wallMs) / s.done, 3)}`, '', '', '', fmt(s.cpuMs / s.done, 3), util(s), fmt(s.sinkCpuMs / s.done, 3), fmt(s.maxRssKiB / 1024, 1),
      ]);
    }
    rows.push(node('smtp-probe', p));
    if (f) rows.push(node('node floor*', f));
  }
  console.log(`\n${table(rows)}`);
  console.log('  * node floor: not smtp-probe, a diagnostic. The same dialogue (EHLO, pipelined MAIL/RCPT/DATA, 1 KiB, QUIT)');
  console.log('    from a bare net.Socket client in the same kind of child process, no parsing or checks: what any Node');
  console.log('    client pays for sockets and the event loop. smtp-source says HELO and does not pipeline (7 round trips');
  console.log('    with connect, against 6 for smtp-probe).');
  console.log('  (CPU ms/tx = user+sys of the client process: for smtp-probe from process.cpuUsage() in the child, for');
  console.log('   smtp-source from GNU time %U %S, its RSS from %M; CPU % = client CPU time / wall time, 100% = one core busy;');
  console.log('   sink CPU = smtp-sink process time over the same run, from /proc)');
}

function printPhases(out) {
  for (const key of ['1-cross', '1-same']) {
    const p = out[key].probe;
    console.log(`\nsmtp-probe c=1 (${placeOf(out[key])}), mean ms per phase (from the result records):`);
    console.log(`  ${Object.entries(p.phases).map(([k, v]) => `${k} ${fmt(v, 3)}`).join(' | ')}`);
    console.log(`  sum ${fmt(p.internalMean, 3)} ms; around runCheck() ${fmt(p.latMean, 3)} ms; CPU user ${fmt(p.cpuUserMs / p.done, 3)} + sys ${fmt(p.cpuSysMs / p.done, 3)} ms per transaction`);
  }
}

/** Median and range over the reps of configuration `key` of f(runs[a][i], runs[b][i]). */
const pairedOf = (out) => (key, a, b, f) => paired(out[key].runs[a], out[key].runs[b], f);

function printRatios(out) {
  const R = pairedOf(out);
  console.log('\nratios, median of the per-rep ratios [range]:');
  for (const key of ['1-cross', '1-same']) {
    const label = `c=1 ${placeOf(out[key])}`;
    console.log(`  ${label}: smtp-probe / smtp-source time per transaction ${show(R(key, 'probe', 'source', time))}, CPU ${show(R(key, 'probe', 'source', cpuRatio))}, peak RSS ${show(R(key, 'probe', 'source', rss))}`);
    console.log(`    node floor / smtp-source time ${show(R(key, 'floor', 'source', time))}; smtp-probe / node floor time ${show(R(key, 'probe', 'floor', time))}, CPU ${show(R(key, 'probe', 'floor', cpuRatio))}`);
    const perRep = out[key].runs.source.map((s, i) => `${fmt(msPer(s), 3)}/${fmt(msPer(out[key].runs.probe[i]), 3)}/${fmt(msPer(out[key].runs.floor[i]), 3)}`).join('  ');
    console.log(`    per rep, ms per transaction smtp-source/smtp-probe/node floor: ${perRep}`);
  }
  console.log(`  c=20: smtp-probe / smtp-source throughput ${show(R('20', 'probe', 'source', thr), pct)}, CPU per transaction ${show(R('20', 'probe', 'source', cpuRatio))}, peak RSS ${show(R('20', 'probe', 'source', rss))}`);
  console.log(`    node floor / smtp-source throughput ${show(R('20', 'floor', 'source', thr), pct)}; smtp-probe / node floor ${show(R('20', 'probe', 'floor', thr), pct)}`);
  const p20 = out['20'].probe;
  const s20 = out['20'].source;
  console.log(`    smtp-probe's client process is ${util(p20)} busy at ${fmt(p20.cpuMs / p20.done, 3)} ms CPU per transaction: one Node process tops`);
  console.log(`    out near ${fmt(1000 / (p20.cpuMs / p20.done), 0)} tx/s. 60% of smtp-source (${fmt(tps(s20) * 0.6, 0)} tx/s) needs <= ${fmt(1000 / (0.6 * tps(s20)), 3)} ms CPU per transaction;`);
  console.log(`    the bare node floor uses ${fmt(out['20'].floor.cpuMs / out['20'].floor.done, 3)}.`);
  const p50 = out['50'].probe;
  console.log(`  c=50 (information): smtp-probe ${fmt(tps(p50), 0)} tx/s, mean latency ${fmt(p50.latMean, 2)} ms, p99 ${fmt(p50.latP99, 2)} ms, peak RSS ${fmt(p50.maxRssKiB / 1024, 1)} MiB, ${p50.failures} failures`);
}

function reportTargets(ctx, out) {
  const R = pairedOf(out);
  const ts = [];
  for (const key of ['1-cross', '1-same']) {
    const r = R(key, 'probe', 'source', time);
    ts.push(target(`c=1 (${placeOf(out[key])}) per-transaction time within 2x of smtp-source`, r.med <= 2,
      `${ratio(r.med)}, reps ${ratio(r.min)}-${ratio(r.max)}`));
  }
  const r20 = R('20', 'probe', 'source', thr);
  ts.push(target('c=20 throughput at least 60% of smtp-source', r20.med >= 0.6, `${pct(r20.med)} achieved, reps ${pct(r20.min)}-${pct(r20.max)}`));
  console.log(ts.join('\n'));
  ctx.targets.push(...ts);
}

export async function transactions(ctx) {
  printIntro(ctx);
  const canPin = existsSync(TASKSET) && os.availableParallelism() >= 2;
  if (!canPin) console.log('NOTE: taskset (util-linux) or a second core is missing: the c=1 runs are not pinned.');
  const out = await measure(ctx, canPin);
  printTable(out);
  printPhases(out);
  printRatios(out);
  reportTargets(ctx, out);
  return out;
}
