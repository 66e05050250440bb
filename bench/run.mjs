#!/usr/bin/env node
// smtp-probe benchmarks (npm run bench). See bench/README.md.
//
//   node bench/run.mjs [transactions] [probe] [cli] [scale] [daemon]     (no argument: all five, about 25 minutes)
//
// Everything targets 127.0.0.1. Installs nothing: missing tools are named with their Debian package and the
// sections that need them are skipped. Every process started here is stopped by PID, also on error or Ctrl-C.
import { spawnSync } from 'node:child_process';
import { closeSync, existsSync, mkdtempSync, openSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import { join } from 'node:path';
import {
  ROOT, freePort, heading, killAllTracked, machineInfo, newestMtime, readBanner, startDaemon, stopChild, waitFor,
} from './lib.mjs';

const SECTIONS = ['transactions', 'probe', 'cli', 'scale', 'daemon'];
const WATCHDOG_MS = 60 * 60_000; // hard stop, whatever happens (normal total is ~25 minutes)
/** Sections that need the Postfix+Dovecot test stack; sections that need the bench's own smtp-sink. */
const NEEDS_STACK = ['probe', 'cli', 'scale'];
const NEEDS_SINK = ['transactions', 'probe', 'cli'];

const TOOLS = {
  smtpSink: { path: '/usr/sbin/smtp-sink', pkg: 'postfix' },
  smtpSource: { path: '/usr/sbin/smtp-source', pkg: 'postfix' },
  postconf: { path: '/usr/sbin/postconf', pkg: 'postfix' },
  gnuTime: { path: '/usr/bin/time', pkg: 'time' },
  blackbox: { path: '/usr/bin/prometheus-blackbox-exporter', pkg: 'prometheus-blackbox-exporter' },
  wrk: { path: '/usr/bin/wrk', pkg: 'wrk' },
  checkSmtp: { path: '/usr/lib/nagios/plugins/check_smtp', pkg: 'monitoring-plugins-basic' },
  swaks: { path: '/usr/bin/swaks', pkg: 'swaks' },
};
const NEEDS = {
  transactions: ['smtpSink', 'smtpSource', 'gnuTime'],
  probe: ['smtpSink', 'blackbox', 'wrk'],
  cli: ['smtpSink', 'checkSmtp', 'swaks'],
  scale: [],
  daemon: ['smtpSink'],
};

function usage(code) {
  console.log(`usage: node bench/run.mjs [${SECTIONS.join('] [')}]\n  no argument runs every section; see bench/README.md`);
  process.exit(code);
}

function stackSettings() {
  const vars = {};
  const script = join(ROOT, 'test/real/mailstack.sh');
  if (!process.env.MAILSTACK_SMTP_PORT && existsSync(script)) {
    const r = spawnSync('bash', [script, 'env'], { encoding: 'utf8', timeout: 10_000 });
    for (const line of (r.stdout ?? '').split('\n')) {
      const m = /^export (MAILSTACK_[A-Z_]+)=(.*)$/.exec(line.trim());
      if (m) vars[m[1]] = m[2].replace(/^'(.*)'$/, '$1').replace(/\\(.)/g, '$1');
    }
  }
  const get = (k, d) => process.env[k] ?? vars[k] ?? d;
  const dir = get('MAILSTACK_DIR', '/tmp/smtp-probe-mailstack');
  return {
    dir,
    smtpPort: Number(get('MAILSTACK_SMTP_PORT', '2525')),
    submissionPort: Number(get('MAILSTACK_SUBMISSION_PORT', '2587')),
    ca: get('MAILSTACK_CA', `${dir}/tls/ca.pem`),
    hostname: get('MAILSTACK_HOSTNAME', 'mail.probe.test'),
    user: get('MAILSTACK_USER', 'probe@probe.test'),
    pass: get('MAILSTACK_PASS', 'probe-secret'),
  };
}

function parseArgs() {
  const args = process.argv.slice(2);
  if (args.includes('-h') || args.includes('--help')) usage(0);
  for (const a of args) if (!SECTIONS.includes(a)) {
    console.error(`unknown section "${a}"`);
    usage(2);
  }
  return args.length ? SECTIONS.filter((s) => args.includes(s)) : SECTIONS;
}

function printHeader(selected) {
  const m = machineInfo();
  console.log(heading('smtp-probe benchmarks'));
  console.log(`machine:  ${m.cpu}, ${m.cores} cores, ${m.mem} RAM; ${m.os}`);
  console.log(`software: Node ${m.node}, Postfix ${m.postfix}; load average at start ${os.loadavg().map((x) => x.toFixed(2)).join(' ')}`);
  const head = spawnSync('git', ['-C', ROOT, 'log', '-1', '--format=%h %s'], { encoding: 'utf8' }).stdout?.trim() || 'unknown';
  const dirty = spawnSync('git', ['-C', ROOT, 'status', '--porcelain', '--', 'src', 'checks', 'bench'], { encoding: 'utf8' }).stdout?.trim();
  console.log(`code:     commit ${head}${dirty ? ' (+ uncommitted changes in src/, checks/ or bench/)' : ''}; dist/ built ${new Date(newestMtime(join(ROOT, 'dist'), ['.js'])).toISOString()}`);
  console.log(`sections: ${selected.join(', ')}`);
  console.log('method:   every benchmark runs on loopback (127.0.0.1) on this one machine, so client and server share');
  console.log('          its cores. Two processes compared are driven the same way and measured the same way: the two');
  console.log('          exporters through /probe by one wrk client; smtp-probe and smtp-source as one load-generating');
  console.log('          process each (bench/probe-worker.mjs: runCheck() back to back); one-shot CLIs spawned alike.');
  console.log('          CPU per probe comes from /proc (or process.cpuUsage() / GNU time) for every process compared.');
  console.log('          The tools compared run interleaved, rep after rep; medians with their [min-max] spread.');
  console.log('          Figures are printed with the targets; nothing here passes or fails.');
}

/** Which tools are installed, what the selected sections miss (as problems to print), whether dist/ is built. */
function checkTools(selected) {
  const have = {};
  const missing = [];
  for (const [k, t] of Object.entries(TOOLS)) {
    have[k] = existsSync(t.path);
    if (!have[k] && selected.some((s) => NEEDS[s].includes(k))) missing.push(t);
  }
  have.sslPerl = spawnSync('perl', ['-MNet::SSLeay', '-e1']).status === 0;
  const problems = [];
  for (const t of missing) problems.push(`missing ${t.path}: install the Debian package "${t.pkg}" (apt-get install -y --no-install-recommends ${t.pkg})`);
  if (selected.includes('cli') && have.swaks && !have.sslPerl) {
    problems.push('swaks cannot do STARTTLS without Net::SSLeay: install the Debian package "libnet-ssleay-perl" (cli (b) swaks skipped)');
  }
  const distOk = existsSync(join(ROOT, 'dist/src/runner/run.js')) && existsSync(join(ROOT, 'dist/src/cli/main.js'));
  if (!distOk) problems.push('dist/ is not built: run "npm run build" first (every section needs it)');
  else {
    const src = Math.max(newestMtime(join(ROOT, 'src'), ['.ts']), newestMtime(join(ROOT, 'checks'), ['.ts']));
    const dist = newestMtime(join(ROOT, 'dist'), ['.js']);
    if (src > dist) console.log('warning:  src/ or checks/ has changes newer than dist/: run "npm run build" to benchmark them');
  }
  return { have, problems, distOk };
}

/** Whether the Postfix+Dovecot test stack answers (it is never started or stopped here); adds a problem if not. */
async function checkStack(selected, problems) {
  const stack = stackSettings();
  const banner = await readBanner(stack.smtpPort);
  const subBanner = await readBanner(stack.submissionPort);
  const stackUp = Boolean(banner?.startsWith('220') && subBanner?.startsWith('220') && existsSync(stack.ca));
  if (!stackUp && selected.some((s) => NEEDS_STACK.includes(s))) {
    problems.push(
      `the Postfix+Dovecot test stack is not answering on 127.0.0.1:${stack.smtpPort}/${stack.submissionPort} (or ${stack.ca} is missing): ` +
        'start it with "bash test/real/mailstack.sh install && bash test/real/mailstack.sh start" (probe, scale and cli (b) skipped)',
    );
  }
  console.log(`stack:    Postfix ${stackUp ? 'up' : 'DOWN'} (${stack.dir}; SMTP ${stack.smtpPort} "${banner ?? '-'}", submission ${stack.submissionPort}), CA ${stack.ca}`);
  return { stack, stackUp };
}

/** smtp-sink, ours, on `port`: own PID (tracked; the caller stops it in its finally). Log in sinkDir. */
function spawnSink(sinkDir, port) {
  const fd = openSync(join(sinkDir, 'sink.log'), 'a');
  // -u nobody: drop root after bind; -m 500 connections at once; backlog 1000; PIPELINING stays on (no -p).
  const sink = startDaemon(TOOLS.smtpSink.path, ['-4', '-u', 'nobody', '-m', '500', '-h', 'sink.probe.test', `127.0.0.1:${port}`, '1000'], fd);
  closeSync(fd);
  return sink;
}

/** Wait (up to 5 s) for the sink's 220 banner; throws with the end of its log if it exits or does not answer. */
async function waitSinkReady(sink, port, sinkDir) {
  const ok = await waitFor(async () => (await readBanner(port, 500))?.startsWith('220') || sink.exitCode !== null, 5000);
  if (!ok || sink.exitCode !== null) {
    throw new Error(`smtp-sink did not start: ${readFileSync(join(sinkDir, 'sink.log'), 'utf8').slice(-500)}`);
  }
}

/** Each selected section in order, skipped if not runnable; an error fails that section only. Returns whether any failed. */
async function runSections(selected, runnable, ctx) {
  let failed = false;
  for (const s of selected) {
    if (!runnable(s)) {
      console.log(heading(`${s}: SKIPPED (prerequisites missing, see above)`));
      continue;
    }
    try {
      const mod = await import(s === 'daemon' || s === 'scale' ? './daemon-section.mjs' : `./${s}.mjs`);
      await mod[s](ctx);
    } catch (e) {
      failed = true;
      console.log(`\nERROR in section ${s}: ${e?.stack ?? e}`);
    }
  }
  return failed;
}

function printSummary(ctx, t0) {
  console.log(heading('summary of targets'));
  for (const t of ctx.targets) console.log(t);
  if (ctx.targets.length === 0) console.log('  (no target measured)');
  console.log(`\ntotal bench time ${((Date.now() - t0) / 1000).toFixed(0)} s; load average at the end ${os.loadavg().map((x) => x.toFixed(2)).join(' ')}`);
  console.log('(other work on this machine during the run shows in the load averages and in the per-rep ranges)');
}

async function main() {
  const selected = parseArgs();
  const t0 = Date.now();
  printHeader(selected);
  const { have, problems, distOk } = checkTools(selected);
  const { stack, stackUp } = await checkStack(selected, problems);
  for (const p of problems) console.log(`PREREQUISITE: ${p}`);

  const ctx = { stack, stackUp, have, targets: [], sinkPort: null, sinkPid: null };
  const runnable = (s) => distOk && NEEDS[s].every((k) => have[k]) && (s === 'cli' || !NEEDS_STACK.includes(s) || stackUp);

  // ---- smtp-sink, ours: own port, own PID, stopped below whatever happens
  let sink = null;
  const sinkDir = mkdtempSync(join(os.tmpdir(), 'smtp-probe-bench-sink-'));
  let failed = problems.length > 0 && selected.some((s) => !runnable(s));
  try {
    if (selected.some((s) => NEEDS_SINK.includes(s) && runnable(s))) {
      const port = await freePort();
      sink = spawnSink(sinkDir, port);
      await waitSinkReady(sink, port, sinkDir);
      ctx.sinkPort = port;
      ctx.sinkPid = sink.pid;
    }
    if (await runSections(selected, runnable, ctx)) failed = true;
  } finally {
    await stopChild(sink);
    rmSync(sinkDir, { recursive: true, force: true });
  }

  printSummary(ctx, t0);
  return failed ? 1 : 0;
}

const watchdog = setTimeout(() => {
  console.log(`\nERROR: the benchmark ran for more than ${WATCHDOG_MS / 60_000} minutes: stopping everything`);
  killAllTracked('SIGKILL');
  process.exit(1);
}, WATCHDOG_MS);
watchdog.unref();
for (const sig of ['SIGINT', 'SIGTERM']) {
  process.once(sig, () => {
    console.log(`\n${sig}: stopping every process started by the benchmark`);
    killAllTracked('SIGTERM');
    setTimeout(() => {
      killAllTracked('SIGKILL');
      process.exit(130);
    }, 1000).unref();
  });
}

process.on('uncaughtException', (e) => {
  console.log(`\nERROR (uncaught): ${e?.stack ?? e}\nstopping every process started by the benchmark`);
  killAllTracked('SIGKILL');
  process.exit(1);
});

process.exitCode = await main();
