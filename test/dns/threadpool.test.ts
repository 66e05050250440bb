/**
 * Name lookups that never end must not starve libuv's thread pool (fs, zlib and getaddrinfo share its threads).
 *
 * A child process (the built dist/, as test/cli uses it) with UV_THREADPOOL_SIZE=1, one pool thread:
 *  - 16 lookups through the runner's default `systemLookup` of names whose resolution never ends. For
 *    getaddrinfo that is made deterministic without touching the machine's DNS: HOSTALIASES names a FIFO that no
 *    one writes, and glibc's resolver opens that file for a dotless name, blocking the pool thread that runs
 *    getaddrinfo (exactly what a DNS server that never answers does, for as long as it does). The c-ares lookup
 *    never reads HOSTALIASES and runs on no pool thread, whatever the machine's DNS server does.
 *  - 16 lookups through `systemAddressLookup` against the tiny DNS server with those names dropped (never
 *    answered; 30 s timeout): the new lookup against a real blackhole.
 * While all of them are pending, an fs.promises.writeFile and a lookup of `localhost` (hosts file) must complete
 * promptly. With the old `dns.lookup`, the write queues behind the blocked pool thread and never completes.
 */
import { spawn, execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, afterEach, expect, test } from 'vitest';
import { closeAll } from '../helpers/cleanup.js';
import { startDnsServer } from '../helpers/dns-server.js';

afterEach(closeAll);

const dist = resolve('dist');
const dir = mkdtempSync(join(tmpdir(), 'smtp-probe-pool-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const CHILD = `
const { writeFile } = await import('node:fs/promises');
const { systemLookup } = await import(process.env.DIST + '/src/runner/run.js');
const lookupModule = await import(process.env.DIST + '/src/dns/lookup.js').catch(() => null);
let settled = 0;
const count = () => { settled += 1; };
for (let i = 0; i < 16; i++) systemLookup('blackhole' + i, null).then(count, count);
const blackhole = lookupModule?.systemAddressLookup({ servers: [process.env.DNS], timeoutMs: 30000, tries: 1 });
for (let i = 0; i < 16; i++) blackhole?.('n' + i + '.black.test', null).then(count, count);
const t0 = performance.now();
await writeFile(process.env.OUT, 'written');
const writeMs = performance.now() - t0;
const localhost = await systemLookup('localhost', 4);
const localhostMs = performance.now() - t0;
process.stdout.write(JSON.stringify({ writeMs, localhost, localhostMs, blackholeSettled: settled, newLookup: blackhole !== undefined }) + '\\n');
`;

interface ChildReport {
  writeMs: number;
  localhost: string[];
  localhostMs: number;
  blackholeSettled: number;
  newLookup: boolean;
}

/** The child's one report line, or null when it has not written one within `ms`; the child is killed either way. */
function runChild(env: NodeJS.ProcessEnv, ms: number): Promise<ChildReport | null> {
  const child = spawn(process.execPath, ['--input-type=module', '-e', CHILD], { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  return new Promise((done) => {
    let out = '';
    let err = '';
    let finished = false;
    const finish = (r: ChildReport | null): void => {
      if (finished) return;
      finished = true;
      clearTimeout(timer);
      // A pool thread blocked in open() keeps the process from exiting by itself.
      if (child.exitCode === null && child.signalCode === null && child.pid !== undefined) process.kill(child.pid, 'SIGKILL');
      if (r === null && err) console.error(err);
      done(r);
    };
    const timer = setTimeout(() => finish(null), ms);
    child.stderr.on('data', (d: Buffer) => (err += d.toString()));
    child.stdout.on('data', (d: Buffer) => {
      out += d.toString();
      if (out.includes('\n')) finish(JSON.parse(out.split('\n')[0]!) as ChildReport);
    });
    child.on('exit', () => finish(out.includes('\n') ? (JSON.parse(out.split('\n')[0]!) as ChildReport) : null));
  });
}

test('with one pool thread and 32 lookups that never end, an fs write and a hosts-file lookup still complete promptly', async () => {
  expect(existsSync(join(dist, 'src/runner/run.js')), 'build first: npm run build').toBe(true);
  const dns = await startDnsServer({ 'black.test': { drop: true } });
  const zone: Record<string, { drop: true }> = {};
  for (let i = 0; i < 16; i++) zone[`n${i}.black.test`] = { drop: true };
  dns.setZone(zone);
  const fifo = join(dir, 'hostaliases');
  execFileSync('mkfifo', [fifo]);

  const report = await runChild({ UV_THREADPOOL_SIZE: '1', HOSTALIASES: fifo, DIST: dist, DNS: dns.address, OUT: join(dir, 'out') }, 8000);

  expect(report, 'the child never finished its fs write: a lookup holds the only pool thread').not.toBeNull();
  expect(report!.newLookup).toBe(true);
  expect(report!.writeMs).toBeLessThan(2000);
  expect(report!.localhost).toEqual(['127.0.0.1']);
  expect(report!.localhostMs).toBeLessThan(2000);
  // The blackhole lookups were all still pending (and asked) while the write completed.
  expect(report!.blackholeSettled).toBeLessThanOrEqual(16);
  const asked = new Set(dns.log.filter((q) => q.rcode === null).map((q) => q.name));
  expect(asked.size).toBe(16);
});
