// Sections "scale" and "daemon" of npm run bench: the daemon at fleet size through bench/daemon.mjs, run as its own
// process so its figures are its own; its output is shown as it comes and its TARGET/report lines are collected.
//   scale:  5,000 targets, banner/EHLO/STARTTLS/NOOP/QUIT against the test stack's real Postfix, the default
//           config, 60 s for the spread-in + 180 s; after a pre-flight that Postfix takes that rate at all.
//   daemon: 10,000 light targets against smtp-sink, the default config (A) vs phase_histograms: target (B).
import { spawn } from 'node:child_process';
import { fmt, heading, postfixMasterPid, track, treeCpuMs, untrack } from './lib.mjs';
import { probeWorker } from './transactions.mjs';

const SCALE_TARGETS = 5000;
const INTERVAL_S = 60;
const PREFLIGHT_S = 10;

/** Run bench/daemon.mjs with `args` (and `env`), echoing its output; its TARGET lines (and unmet report lines) go to ctx.targets. */
async function daemonBench(ctx, name, args, env = process.env) {
  const child = spawn(process.execPath, ['bench/daemon.mjs', ...args], { stdio: ['ignore', 'pipe', 'inherit'], env });
  track(child.pid);
  let tail = '';
  child.stdout.on('data', (d) => {
    process.stdout.write(d);
    tail = (tail + d.toString()).slice(-20_000);
  });
  const code = await new Promise((resolve) => child.on('exit', (c) => resolve(c ?? 1)));
  untrack(child.pid);
  // the summary gets every TARGET line, and the report lines that are not met
  for (const line of tail.split('\n')) if (/^\s*run [AB] (TARGET|report .*NOT MET)/.test(line)) ctx.targets.push(`  ${name} ${line.trim()}`);
  if (code !== 0) throw new Error(`bench/daemon.mjs exited with ${code}`);
}

const extraArgs = (v) => (process.env[v] ?? '').split(' ').filter(Boolean);

export async function daemon(ctx) {
  console.log(heading('5. daemon: 10,000 targets at a 60 s interval against smtp-sink, default config vs phase_histograms: target'));
  await daemonBench(ctx, 'daemon', ['--no-goal', '--allow-stale', ...extraArgs('DAEMON_BENCH_ARGS')]);
}

/**
 * Does the stack's Postfix take the scale run's rate? SCALE_TARGETS / INTERVAL_S sessions per second for
 * PREFLIGHT_S s, started on a fixed schedule by one smtp-probe worker process (at most 100 in flight: Postfix's
 * process limit), each banner/EHLO/STARTTLS/NOOP/QUIT. Prints the failures, if any; the scale run goes on anyway.
 */
async function preflight(stack) {
  const rate = SCALE_TARGETS / INTERVAL_S;
  const master = postfixMasterPid(stack.dir);
  const pf0 = master ? treeCpuMs(master) : NaN;
  const r = await probeWorker({
    kind: 'starttls', port: stack.smtpPort, concurrency: 100, count: Math.round(rate * PREFLIGHT_S), warmup: 0, rate,
    timeCapMs: (PREFLIGHT_S + 10) * 1000, ca: stack.ca, servername: stack.hostname, steps: ['banner', 'ehlo', 'starttls', 'noop', 'quit'],
  });
  const pfMs = master ? treeCpuMs(master) - pf0 : NaN;
  console.log(`pre-flight: ${r.done} sessions at ${fmt(rate, 1)}/s in ${fmt(r.wallMs / 1000, 1)} s: ${r.done - r.failures} ok, ${r.failures} failed` +
    `${r.late ? `, ${r.late} started > 100 ms late` : ''}; latency p50 ${fmt(r.latP50, 1)} ms, p99 ${fmt(r.latP99, 1)} ms; ` +
    `CPU per session: client ${fmt((r.cpuUserMs + r.cpuSysMs) / r.done, 2)} ms, Postfix ${fmt(pfMs / r.done, 2)} ms`);
  if (r.failures > 0) console.log(`  ERROR Postfix did not take that rate: ${r.failures} of ${r.done} sessions failed; first: ${JSON.stringify(r.firstFailure)}`);
}

export async function scale(ctx) {
  const { stack } = ctx;
  console.log(heading(`4. scale: ${SCALE_TARGETS} STARTTLS targets at ${INTERVAL_S} s against the real Postfix, default config`));
  await preflight(stack);
  const env = {
    ...process.env, MAILSTACK_DIR: stack.dir, MAILSTACK_SMTP_PORT: String(stack.smtpPort), MAILSTACK_CA: stack.ca, MAILSTACK_HOSTNAME: stack.hostname,
  };
  const args = ['--server', 'postfix', '--variant', 'starttls', '--targets', String(SCALE_TARGETS), '--interval', String(INTERVAL_S),
    '--only', 'A', '--default-config', '--duration', '240', '--steady-from', '60', '--allow-stale', ...extraArgs('SCALE_BENCH_ARGS')];
  await daemonBench(ctx, 'scale', args, env);
}
