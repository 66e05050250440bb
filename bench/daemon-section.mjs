// Section "daemon" of npm run bench: the 10,000-target daemon benchmark (bench/daemon.mjs, ~7 minutes), run as
// its own process so its figures are its own; its output is shown as it comes and its TARGET lines are collected.
import { spawn } from 'node:child_process';
import { heading, track, untrack } from './lib.mjs';

export async function daemon(ctx) {
  console.log(heading('4. daemon: 10,000 targets at a 60 s interval against smtp-sink (bench/daemon.mjs)'));
  const child = spawn(process.execPath, ['bench/daemon.mjs', ...(process.env.DAEMON_BENCH_ARGS ?? '').split(' ').filter(Boolean)], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  track(child.pid);
  let tail = '';
  child.stdout.on('data', (d) => {
    process.stdout.write(d);
    tail = (tail + d.toString()).slice(-20_000);
  });
  const code = await new Promise((resolve) => child.on('exit', (c) => resolve(c ?? 1)));
  untrack(child.pid);
  for (const line of tail.split('\n')) if (/^\s*run [AB] (TARGET|report)/.test(line)) ctx.targets.push(`  daemon ${line.trim()}`);
  if (code !== 0) throw new Error(`bench/daemon.mjs exited with ${code}`);
}
