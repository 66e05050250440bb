// Section 3: wall time of one CLI check, process start to exit: the built smtp-probe CLI (the bundle when built) next
// to check_smtp (monitoring-plugins) and swaks doing the same checks, plus Node's own start-up cost; every Node
// process also without NODE_EXTRA_CA_CERTS when the environment sets it.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { ROOT, cliEntry, fmt, heading, mean, median, percentile, ratio, reapedChildrenCpuMs, run, table, target } from './lib.mjs';

const RUNS = Number(process.env.BENCH_CLI_RUNS ?? 15);
const WARM = 2;
const CHECK_SMTP = '/usr/lib/nagios/plugins/check_smtp';
const SWAKS = '/usr/bin/swaks';

const FROM = 'bench@probe.test';
const TO = 'sink@probe.test';
/** The name suffix of a Node command run with the environment minus NODE_EXTRA_CA_CERTS. */
const NO_EXTRA = ' [no NODE_EXTRA_CA_CERTS]';

/** `node -e 0` and `smtp-probe --version`. */
function startupCommands(node, main) {
  return [
    { group: 'startup', name: 'node -e 0', cmd: node, args: ['-e', '0'] },
    { group: 'startup', name: 'smtp-probe --version', cmd: node, args: [main, '--version'] },
  ];
}

/**
 * This machine's environment may set NODE_EXTRA_CA_CERTS (a whole CA bundle every Node process reads at start). The
 * figures use the environment as it is; when it is set, every Node command runs a second time without it.
 */
function withoutExtraCa(cmds, node, env) {
  const noExtraEnv = { ...env };
  delete noExtraEnv.NODE_EXTRA_CA_CERTS;
  const out = [];
  for (const c of cmds) {
    out.push(c);
    if (c.cmd === node) out.push({ ...c, name: `${c.name}${NO_EXTRA}`, tool: c.tool && `${c.tool}${NO_EXTRA}`, env: noExtraEnv });
  }
  return out;
}

/** (a): the three tools against smtp-sink. */
function sinkCommands(node, main, sinkPort) {
  return [
    {
      group: 'a', name: 'smtp-probe', tool: 'smtp-probe', cmd: node,
      args: [main, 'check', `smtp://127.0.0.1:${sinkPort}`, '--tls', 'none', '--steps', 'banner,ehlo,send,quit', '--from', FROM, '--to', TO],
    },
    {
      group: 'a', name: 'check_smtp', tool: 'check_smtp', cmd: CHECK_SMTP,
      args: ['-H', '127.0.0.1', '-p', String(sinkPort), '-f', FROM, '-C', `RCPT TO:<${TO}>`, '-R', '250'],
    },
    {
      group: 'a', name: 'swaks', tool: 'swaks', cmd: SWAKS,
      args: ['--server', `127.0.0.1:${sinkPort}`, '--from', FROM, '--to', TO],
    },
  ];
}

/** (b): STARTTLS + AUTH against Postfix submission; swaks only if Perl has Net::SSLeay. */
function submissionCommands(node, main, stack, sslPerl) {
  const sub = String(stack.submissionPort);
  const cmds = [
    {
      group: 'b', name: 'smtp-probe', tool: 'smtp-probe', cmd: node,
      args: [main, 'check', `smtp://127.0.0.1:${sub}`, '--tls', 'starttls', '--ca', stack.ca, '--servername', stack.hostname,
        '--auth-user', stack.user, '--auth-pass-env', 'SMTP_PASS'],
    },
    {
      group: 'b', name: 'check_smtp', tool: 'check_smtp', cmd: CHECK_SMTP,
      args: ['-H', '127.0.0.1', '-p', sub, '-S', '-A', 'LOGIN', '-U', stack.user, '-P', stack.pass],
    },
  ];
  if (sslPerl) {
    cmds.push({
      group: 'b', name: 'swaks', tool: 'swaks', cmd: SWAKS,
      args: ['--server', `127.0.0.1:${sub}`, '--from', stack.user, '--to', stack.user, '--tls', '--tls-verify', '--tls-ca-path', stack.ca,
        '--auth', 'LOGIN', '--auth-user', stack.user, '--auth-password', stack.pass, '--quit-after', 'AUTH'],
    });
  }
  return cmds;
}

function printIntro(stack, sinkPort, cli) {
  console.log(heading(`3. cli: one check per process, ${RUNS} runs each (after ${WARM} unmeasured), commands interleaved`));
  console.log(`smtp-probe = node ${cli.label} (${cli.label.includes('bundle') ? 'the single-file bundle' : 'no bundle built: the compiled modules'}).`);
  console.log('Wall time = spawn to exit, measured in this process; CPU = user+sys of the process once reaped (/proc/self/stat');
  console.log('cutime+cstime of this process, 10 ms ticks: a mean over the runs). Each command must exit 0.');
  console.log(`(a) against smtp-sink 127.0.0.1:${sinkPort}: smtp-probe --steps banner,ehlo,send,quit --tls none --to (full DATA); swaks`);
  console.log('    (full DATA); check_smtp -f FROM -C "RCPT TO:<...>" -R 250 (banner, EHLO, MAIL, RCPT, QUIT: check_smtp');
  console.log('    cannot send DATA, so it does slightly less work).');
  console.log(`(b) against Postfix submission 127.0.0.1:${stack.submissionPort}: STARTTLS + AUTH. smtp-probe --tls starttls --ca`);
  console.log('    --servername --auth-user --auth-pass-env (default steps: banner, ehlo, starttls, auth, noop, quit; certificate');
  console.log('    verified); check_smtp -S -A LOGIN -U -P (does not verify the certificate); swaks --tls --tls-verify');
  console.log('    --tls-ca-path --auth LOGIN --quit-after AUTH (no message is delivered by any of the three).');
}

/**
 * WARM + RUNS rounds, every command once per round (round-robin); wall times of the measured rounds that exit 0,
 * and their CPU (in `cpu`, keyed the same).
 */
async function measure(cmds, env, cpu) {
  const times = new Map(cmds.map((c) => [c, []]));
  for (const c of cmds) cpu.set(c, []);
  const errors = new Map();
  for (let i = 0; i < WARM + RUNS; i += 1) {
    for (const c of cmds) {
      const cpu0 = reapedChildrenCpuMs();
      const r = await run(c.cmd, c.args, { env: c.env ?? env, timeoutMs: 30_000 });
      const cpuMs = reapedChildrenCpuMs() - cpu0;
      if (r.code !== 0) {
        if (!errors.has(c)) errors.set(c, `exit ${r.code}${r.timedOut ? ' (killed after 30 s)' : ''}: ${(r.stdout + r.stderr).trim().slice(0, 400)}`);
        continue;
      }
      if (i >= WARM) {
        times.get(c).push(r.wallMs);
        cpu.get(c).push(cpuMs);
      }
    }
  }
  for (const [c, e] of errors) console.log(`  ERROR ${c.group === 'startup' ? '' : `(${c.group}) `}${c.name}: ${e}`);
  return times;
}

function printTable(cmds, times, cpu) {
  const rows = [['check', 'command', 'runs ok', 'median ms', 'p90 ms', 'mean ms', 'min ms', 'CPU ms (mean)']];
  for (const c of cmds) {
    const t = times.get(c);
    rows.push([c.group, c.name, `${t.length}/${RUNS}`, fmt(median(t), 1), fmt(percentile(t, 90), 1), fmt(mean(t), 1), fmt(Math.min(...t), 1), fmt(mean(cpu.get(c)), 0)]);
  }
  console.log(`\n${table(rows)}`);
}

/** med(group, tool or name): the median wall time of that command, NaN unless all RUNS runs succeeded. */
function medians(cmds, times) {
  return (group, tool) => {
    const c = cmds.find((x) => x.group === group && (x.tool === tool || x.name === tool));
    return c && times.get(c).length === RUNS ? median(times.get(c)) : NaN;
  };
}

function printStartup(med, extraCa) {
  const nodeStart = med('startup', 'node -e 0');
  const version = med('startup', 'smtp-probe --version');
  console.log(`\nstart-up: node -e 0 ${fmt(nodeStart, 1)} ms; smtp-probe --version ${fmt(version, 1)} ms (loading the CLI's modules: ${fmt(version - nodeStart, 1)} ms)`);
  if (extraCa) {
    const n2 = med('startup', `node -e 0${NO_EXTRA}`);
    const v2 = med('startup', `smtp-probe --version${NO_EXTRA}`);
    console.log(`  NODE_EXTRA_CA_CERTS=${extraCa} is set here: it costs every Node process ${fmt(nodeStart - n2, 1)} ms at start`);
    console.log(`  (node -e 0 ${fmt(n2, 1)} ms and smtp-probe --version ${fmt(v2, 1)} ms without it).`);
  }
}

/** Per group: smtp-probe = start-up + check, ratios to swaks and check_smtp, and one more run with --format json. */
async function printChecks(cmds, med, env, extraCa) {
  const version = med('startup', 'smtp-probe --version');
  for (const g of ['a', 'b']) {
    const p = med(g, 'smtp-probe');
    if (Number.isNaN(p)) continue;
    const rest = p - version > 0 ? `check ${fmt(p - version, 1)} ms` : 'check (within the noise)';
    console.log(`(${g}) smtp-probe ${fmt(p, 1)} ms = start-up ${fmt(version, 1)} ms + ${rest}; ` +
      `vs swaks ${ratio(p / med(g, 'swaks'))}, vs check_smtp ${ratio(p / med(g, 'check_smtp'))}`);
    if (extraCa) console.log(`    without NODE_EXTRA_CA_CERTS: smtp-probe ${fmt(med(g, `smtp-probe${NO_EXTRA}`), 1)} ms, vs swaks ${ratio(med(g, `smtp-probe${NO_EXTRA}`) / med(g, 'swaks'))}`);
    // One more run with --format json: how long the SMTP dialogue itself took inside that cold process.
    const c = cmds.find((x) => x.group === g && x.tool === 'smtp-probe');
    const j = await run(c.cmd, [...c.args, '--format', 'json'], { env, timeoutMs: 30_000 });
    try {
      const res = JSON.parse(j.stdout).results[0];
      console.log(`    in that cold process the dialogue itself (result durationMs) takes ${fmt(res.durationMs, 1)} ms: ` +
        res.phases.map((x) => `${x.phase} ${fmt(x.durationMs, 1)}`).join(', '));
    } catch {
      console.log(`    (could not read the --format json result: exit ${j.code} ${j.stderr.slice(0, 200)})`);
    }
  }
}

/** One-shot CLI <= 1.0x swaks, (a) and (b), with the environment as it is and (when it is set) without NODE_EXTRA_CA_CERTS. */
function reportTargets(ctx, med, extraCa) {
  for (const g of ['a', 'b']) {
    for (const v of extraCa ? ['', NO_EXTRA] : ['']) {
      const p = med(g, `smtp-probe${v}`);
      const s = med(g, 'swaks');
      const t = target(`cli (${g})${v} one-shot smtp-probe median <= 1.0x swaks`, Number.isNaN(p) || Number.isNaN(s) ? null : p <= s,
        Number.isNaN(p) || Number.isNaN(s) ? 'not measured' : `${ratio(p / s)}: ${fmt(p, 1)} ms vs ${fmt(s, 1)} ms`);
      console.log(t);
      ctx.targets.push(t);
    }
  }
}

export async function cli(ctx) {
  const { stack, sinkPort } = ctx;
  const node = process.execPath;
  const entry = cliEntry();
  const main = entry.path;
  const env = { ...process.env, SMTP_PASS: stack.pass };
  const extraCa = process.env.NODE_EXTRA_CA_CERTS;
  let cmds = startupCommands(node, main);
  if (ctx.sinkPort) cmds.push(...sinkCommands(node, main, sinkPort));
  if (ctx.stackUp) cmds.push(...submissionCommands(node, main, stack, ctx.have.sslPerl));
  if (extraCa) cmds = withoutExtraCa(cmds, node, env);

  printIntro(stack, sinkPort, entry);
  const cpu = new Map();
  const times = await measure(cmds, env, cpu);
  printTable(cmds, times, cpu);
  const med = medians(cmds, times);
  printStartup(med, extraCa);
  await importCosts(node, main);
  await printChecks(cmds, med, env, extraCa);
  reportTargets(ctx, med, extraCa);
}

/** Which npm packages `smtp-probe --version` loads, and what each costs to import on its own (median of 5). */
async function importCosts(node, main) {
  const r = await run(node, ['--import', join(ROOT, 'bench/trace-imports.mjs'), main, '--version'], { timeoutMs: 30_000 });
  const files = new Set();
  for (const line of r.stderr.split('\n')) {
    if (line.startsWith('BENCH-ESM ')) files.add(line.slice(10).trim());
    if (line.startsWith('BENCH-CJS ')) for (const f of JSON.parse(line.slice(10))) files.add(f);
  }
  const perPkg = new Map();
  let own = 0;
  for (const f of files) {
    const all = [...f.matchAll(/\/node_modules\/((?:@[^/]+\/)?[^/]+)\//g)];
    if (all.length === 0) {
      if (f.includes('/dist/')) own += 1;
      continue;
    }
    const pkg = all.at(-1)[1];
    perPkg.set(pkg, (perPkg.get(pkg) ?? 0) + 1);
  }
  if (perPkg.size === 0 && own === 0) {
    console.log('  (could not trace the modules loaded at start-up)');
    return;
  }
  const pkgFiles = [...perPkg.values()].reduce((a, b) => a + b, 0);
  console.log(`  smtp-probe --version loads ${own} of its own files and ${pkgFiles} files from ${perPkg.size} npm packages${perPkg.size ? ':' : ''}`);
  if (perPkg.size) console.log(`    ${[...perPkg].map(([k, v]) => `${k} (${v})`).join(', ')}`);
  const deps = Object.keys(JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')).dependencies ?? {});
  const direct = deps.filter((d) => perPkg.has(d));
  const costs = [];
  for (const pkg of direct) {
    const code = `const t = performance.now(); await import(${JSON.stringify(pkg)}); process.stdout.write(String(performance.now() - t));`;
    const xs = [];
    for (let i = 0; i < 5; i += 1) {
      const x = await run(node, ['--input-type=module', '-e', code], { timeoutMs: 30_000 });
      if (x.code === 0) xs.push(Number(x.stdout));
    }
    costs.push(`${pkg} ${fmt(median(xs), 1)} ms`);
  }
  if (costs.length) console.log(`  import cost of each direct dependency on its own, in a fresh process (median of 5): ${costs.join(', ')}`);
}
