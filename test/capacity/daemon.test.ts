/**
 * The daemon's capacity runs (a module's `capacity:`) against an in-process server on 127.0.0.1: the series on
 * /metrics, a check and a capacity run of one target never at the same time, the series gone when the option
 * goes on reload, and a capacity run cut short at stop with every socket closed.
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, test } from 'vitest';
import { createLogger } from '../../src/log.js';
import { closeAll } from '../helpers/cleanup.js';
import { TEST_SERVER_NAME, selfSignedCert, testCa } from '../helpers/certs.js';
import { startTestDaemon, type TestDaemon } from '../helpers/daemon.js';
import { startFakeMx } from '../helpers/fake-mx.js';
import { startScriptedServer, type ScriptedConnection, type ScriptedServer } from '../helpers/scripted-server.js';

let daemon: TestDaemon | null = null;
afterEach(async () => {
  await daemon?.d.stop(1000);
  daemon = null;
  await closeAll();
});

/** What the server saw of one connection: when it came, when QUIT came, and whether it was a check (it sends NOOP). */
interface Seen {
  acceptAt: number;
  quitAt: number | null;
  check: boolean;
  conn: ScriptedConnection;
}

/**
 * An SMTP server that answers a check (EHLO, NOOP, QUIT) and a capacity session (EHLO, QUIT) alike, each reply
 * after `delayMs`, and notes when each connection came and when its QUIT came.
 */
async function server(delayMs = 10): Promise<{ s: ScriptedServer; seen: Seen[] }> {
  const seen: Seen[] = [];
  const pause = (): Promise<void> => new Promise((r) => setTimeout(r, delayMs));
  const s = await startScriptedServer([{
    run: async (c) => {
      const me: Seen = { acceptAt: Date.now(), quitAt: null, check: false, conn: c };
      seen.push(me);
      c.write('220 cap.test ESMTP\r\n');
      for (let line = await c.nextLine(); line; line = await c.nextLine()) {
        await pause();
        if (/^EHLO /.test(line.text)) c.write('250 cap.test\r\n');
        else if (line.text === 'NOOP') {
          me.check = true;
          c.write('250 2.0.0 ok\r\n');
        } else if (line.text === 'QUIT') {
          me.quitAt = Date.now();
          c.write('221 2.0.0 bye\r\n');
          c.socket.end();
          return;
        } else c.write('502 5.5.2 not here\r\n');
      }
    },
  }]);
  return { s, seen };
}

function config(port: number, capacity: string | null, over = ''): string {
  const dir = mkdtempSync(join(tmpdir(), 'smtp-probe-capacity-'));
  const file = join(dir, 'config.yaml');
  writeFileSync(file, `global: { interval: 1s, timeout: 300ms, ehlo: probe.test, state_file: ${join(dir, 'state.json')} }
modules:
  cap: { tls: none${capacity === null ? '' : `, capacity: ${capacity}`} }
  plain: { tls: none }
targets:
  - { name: mx1, url: "smtp://127.0.0.1:${port}", module: cap }
  - { name: other, url: "smtp://127.0.0.1:${port}", module: plain }
${over}`);
  return file;
}

/** [first accept, last QUIT] of each capacity run: sessions less than 500 ms apart belong to one run. */
function clusters(sessions: readonly Seen[]): [number, number][] {
  const sorted = [...sessions].sort((a, b) => a.acceptAt - b.acceptAt);
  const out: [number, number][] = [];
  for (const c of sorted) {
    const last = out.at(-1);
    if (last && c.acceptAt - last[1] < 500) last[1] = Math.max(last[1], c.quitAt!);
    else out.push([c.acceptAt, c.quitAt!]);
  }
  return out;
}

async function metrics(): Promise<string> {
  return (await fetch(`${daemon!.base}/metrics`)).text();
}

async function until(what: () => boolean | Promise<boolean>, ms = 10_000): Promise<void> {
  for (const end = Date.now() + ms; !(await what()); await new Promise((r) => setTimeout(r, 20))) {
    if (Date.now() > end) throw new Error('condition not met in time');
  }
}

describe('capacity runs in the daemon', () => {
  test('a module with capacity: its targets get the capacity series; a target without it gets none', async () => {
    const { s } = await server(1);
    daemon = await startTestDaemon(config(s.port, '{ sessions: 2, every: 2s, duration: 300ms }'));
    let text = '';
    await until(async () => (text = await metrics()).includes('smtp_probe_capacity_last_run_timestamp_seconds{target="mx1"}'));
    const accepted = Number(/^smtp_probe_capacity_sessions\{target="mx1",result="accepted"\} (\d+)$/m.exec(text)?.[1]);
    expect(accepted).toBeGreaterThan(0);
    expect(text).toMatch(/^smtp_probe_capacity_sessions\{target="mx1",result="421"\} 0$/m);
    expect(text).toMatch(/^smtp_probe_capacity_max_concurrent_ok\{target="mx1"\} [12]$/m);
    for (const phase of ['connect', 'banner_first_byte', 'banner', 'ehlo']) {
      for (const q of ['0.5', '0.95', '1']) expect(text).toMatch(new RegExp(`^smtp_probe_capacity_phase_seconds\\{target="mx1",phase="${phase}",quantile="${q}"\\} `, 'm'));
      expect(text).toMatch(new RegExp(`^smtp_probe_capacity_phase_seconds_count\\{target="mx1",phase="${phase}"\\} ${accepted}$`, 'm'));
    }
    expect(text).not.toMatch(/phase="tls"/);
    expect(text).not.toMatch(/^smtp_probe_capacity_\w+\{target="other"/m);
  });

  test("a check and a capacity run of the same target never overlap; other targets' checks go on meanwhile", async () => {
    // Capacity sessions for 1.5 s, checks due every second: without the guard they would meet.
    const { s, seen } = await server(10);
    daemon = await startTestDaemon(config(s.port, '{ sessions: 1, every: 3s, duration: 1500ms }', ''));
    await until(() => seen.some((c) => !c.check && c.quitAt !== null) && daemon!.results.filter((r) => r.target === 'mx1').length >= 3, 15_000);
    // A capacity run is over once its series are there; then every connection seen so far has quit.
    await until(async () => (await metrics()).includes('smtp_probe_capacity_last_run_timestamp_seconds{target="mx1"}'), 15_000);
    const mine = seen.filter((c) => c.quitAt !== null);
    const checks = mine.filter((c) => c.check);
    const capacity = mine.filter((c) => !c.check);
    expect(capacity.length).toBeGreaterThan(1);
    expect(checks.length).toBeGreaterThan(2);
    const mx1Checks = daemon.results.filter((r) => r.target === 'mx1');
    expect(mx1Checks.every((r) => r.ok)).toBe(true);
    // The checks of mx1 and of other are alike on the wire: a capacity session may meet other's checks, never mx1's.
    // Each capacity run is a cluster of back-to-back sessions (runs are 1.5 s apart at least): mx1's checks ran
    // before or after each, never inside one.
    const runs = clusters(capacity);
    for (const [capStart, capEnd] of runs) {
      for (const r of mx1Checks) {
        const start = Date.parse(r.startedAt);
        const end = start + r.durationMs;
        expect(end <= capStart + 1 || start >= capEnd - 1, `check ${r.startedAt} (${r.durationMs} ms) inside the capacity run ${capStart}..${capEnd}`).toBe(true);
      }
    }
    // ...while the other target's checks went on during them.
    expect(daemon.results.some((r) => r.target === 'other' && runs.some(([a, b]) => Date.parse(r.startedAt) > a && Date.parse(r.startedAt) < b))).toBe(true);
  });

  test('a reload that takes capacity: away removes the series; the target keeps its check series', async () => {
    const { s } = await server(1);
    const file = config(s.port, '{ sessions: 1, every: 2s, duration: 100ms }');
    daemon = await startTestDaemon(file);
    await until(async () => (await metrics()).includes('smtp_probe_capacity_last_run_timestamp_seconds{target="mx1"}'));
    writeFileSync(file, (await import('node:fs')).readFileSync(file, 'utf8').replace(', capacity: { sessions: 1, every: 2s, duration: 100ms }', ''));
    const r = await daemon.d.reload();
    expect(r.ok).toBe(true);
    const text = await metrics();
    expect(text).not.toContain('smtp_probe_capacity_sessions{');
    expect(text).not.toContain('smtp_probe_capacity_phase_seconds{');
    expect(text).toMatch(/^smtp_probe_success\{target="mx1"\} 1$/m);
  });

  test('a reload that changes only the CA (no run cut short) reaches the next capacity run', async () => {
    const mx = await startFakeMx();
    const dir = mkdtempSync(join(tmpdir(), 'smtp-probe-capacity-ca-'));
    writeFileSync(join(dir, 'wrong.pem'), selfSignedCert().cert);
    writeFileSync(join(dir, 'ca.pem'), testCa().cert);
    const file = join(dir, 'config.yaml');
    const text = (ca: string): string => `global: { interval: 1h, timeout: 500ms, ehlo: probe.test, state_file: ${join(dir, 'state.json')} }
modules:
  cap: { tls: starttls, tls_config: { ca_file: ${join(dir, ca)}, server_name: ${TEST_SERVER_NAME} }, capacity: { sessions: 1, every: 2s, duration: 100ms, until: starttls } }
targets:
  - { name: mx1, url: "smtp://127.0.0.1:${mx.port}", module: cap }
`;
    writeFileSync(file, text('wrong.pem'));
    daemon = await startTestDaemon(file);
    const sessions = (m: string, result: string): number => Number(new RegExp(`^smtp_probe_capacity_sessions\\{target="mx1",result="${result}"\\} (\\d+)$`, 'm').exec(m)?.[1] ?? 0);
    await until(async () => sessions(await metrics(), 'error') > 0);
    expect(sessions(await metrics(), 'accepted')).toBe(0); // the certificate does not verify against the wrong CA
    writeFileSync(file, text('ca.pem'));
    expect((await daemon.d.reload()).ok).toBe(true);
    await until(async () => sessions(await metrics(), 'accepted') > 0);
  });

  test('stop cuts a capacity run short: every socket closed, its figures not recorded', async () => {
    const { s, seen } = await server(20);
    const lines: string[] = [];
    const logger = createLogger('info', { format: 'json', write: (l) => void lines.push(l) });
    daemon = await startTestDaemon(config(s.port, '{ sessions: 3, every: 2s, duration: 1500ms }', ''), { logger });
    await until(() => seen.filter((c) => !c.check && c.quitAt === null).length >= 2);
    const t0 = Date.now();
    expect(await daemon.d.stop(5000)).toBe(true);
    const stoppedIn = Date.now() - t0;
    daemon = null;
    expect(stoppedIn).toBeLessThan(1200);
    await Promise.all(seen.map((c) => c.conn.whenClosed()));
    expect(s.connections.every((c) => c.closed)).toBe(true);
    expect(lines.some((l) => l.includes('capacity run cut short'))).toBe(true);
    expect(lines.some((l) => l.includes('"msg":"capacity run finished'))).toBe(false);
  });
});
