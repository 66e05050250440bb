/**
 * The history across restarts and reloads (`<state_file>.history`), and files that cannot be used: moved aside with
 * a warning, the daemon serving without them. Real sockets; the restarted daemon runs on a clock that does not
 * move, so what it shows before its first run is what the file held.
 */
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, test } from 'vitest';
import { describeFailure, type CheckResult } from '../../src/core/result.js';
import type { Daemon, DaemonOptions } from '../../src/daemon/daemon.js';
import type { RunSummary, TargetDetail, TargetView } from '../../src/history/view.js';
import { createLogger } from '../../src/log.js';
import { closeAll } from '../helpers/cleanup.js';
import { startTestDaemon } from '../helpers/daemon.js';
import type { FakeMx } from '../helpers/fake-mx.js';
import { ManualClock } from '../helpers/manual-clock.js';
import { apiConfig, getJson, startApiServers, until } from './api-helpers.js';

let healthy: FakeMx;
let refusing: FakeMx;
let closed: number;
let dir: string;
const daemons: Daemon[] = [];

beforeAll(async () => {
  ({ healthy, refusing, closed } = await startApiServers());
});
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'smtp-probe-history-'));
});
afterEach(async () => {
  await Promise.all(daemons.splice(0).map((d) => d.stop(2000)));
});
afterAll(closeAll);

const NAMES = ['healthy', 'refused', 'down/1:b'];
const stateFile = (): string => join(dir, 'state', 'state.json');

function config(extra = '', drop: string | null = null): string {
  const file = join(dir, `config-${Math.random().toString(36).slice(2)}.yaml`);
  let text = apiConfig({ healthy: healthy.port, refusing: refusing.port, closed }, `, state_file: ${stateFile()}${extra}`);
  if (drop) text = text.split('\n').filter((l) => !l.includes(`name: ${drop}`) && !l.includes(`name: "${drop}"`)).join('\n');
  writeFileSync(file, text);
  return file;
}

/** JSON log lines, parsed. */
function captured(): { logger: DaemonOptions['logger']; lines: Record<string, unknown>[] } {
  const lines: Record<string, unknown>[] = [];
  return { logger: createLogger('info', { format: 'json', write: (l) => void lines.push(JSON.parse(l) as Record<string, unknown>) }), lines };
}

async function start(file: string, over: Partial<DaemonOptions> = {}) {
  const t = await startTestDaemon(file, over);
  daemons.push(t.d);
  return t;
}

/** A daemon whose clock never moves (no run ever starts), its wall clock now. */
const frozen = (): Partial<DaemonOptions> => ({ clock: new ManualClock({ wallStart: Date.now() }) });

const summaries = (results: CheckResult[], name: string): RunSummary[] =>
  results
    .filter((r) => r.target === name)
    .map((r) => ({ startedAt: r.startedAt, ok: r.ok, durationMs: r.durationMs, failure: r.failure ? describeFailure(r.failure) : null }));

describe('restart with state_file', () => {
  test('a new daemon on the same file shows the old history before its first run; removed targets are dropped', async () => {
    const first = await start(config());
    await until(() => NAMES.every((n) => first.results.filter((r) => r.target === n).length >= 3));
    daemons.splice(daemons.indexOf(first.d), 1);
    expect(await first.d.stop(2000)).toBe(true);
    const file = `${stateFile()}.history`;
    expect(existsSync(file)).toBe(true);
    expect(readFileSync(file, 'utf8').split('\n')[0]).toMatch(/^\{"format":"smtp-probe history","version":1,/);

    const { logger, lines } = captured();
    const second = await start(config('', 'down/1:b'), { ...frozen(), logger });
    expect(lines.find((l) => l.msg === 'history restored')).toMatchObject({ level: 30, file, targets: 2 });
    const list = await getJson<TargetView[]>(`${second.base}/api/v1/targets`);
    expect(list.body.map((t) => [t.name, t.status])).toEqual([['healthy', 'ok'], ['refused', 'failing']]);
    for (const name of ['healthy', 'refused']) {
      const t = await getJson<TargetDetail>(`${second.base}/api/v1/targets/${name}`);
      expect(t.body.history, name).toEqual(summaries(first.results, name));
      expect(t.body.lastRun).toBe(t.body.history.at(-1)!.startedAt);
      expect(t.body.uptime).toEqual({ '1h': name === 'healthy' ? 1 : 0, '24h': name === 'healthy' ? 1 : 0 });
    }
    const refused = (await getJson<TargetDetail>(`${second.base}/api/v1/targets/refused`)).body;
    expect(refused.lastFailure!.transcript!.some((l) => l.line === 'RCPT TO:<gone@example.test>')).toBe(true);
    expect(refused.lastResult).toEqual(refused.lastFailure);
    expect(second.results).toEqual([]); // all of it from the file

    // The target left out is gone from the file at the next save (here: at stop).
    daemons.splice(daemons.indexOf(second.d), 1);
    await second.d.stop(2000);
    const names = readFileSync(file, 'utf8').trim().split('\n').slice(1).map((l) => (JSON.parse(l) as { name: string }).name);
    expect(names.sort()).toEqual(['healthy', 'refused']); // in the order they first ran
  });

  test('a reload keeps the history of kept targets, drops removed ones, and applies a new global.history', async () => {
    const file = config();
    const t = await start(file);
    await until(() => NAMES.every((n) => t.results.filter((r) => r.target === n).length >= 12));
    const before = (await getJson<TargetDetail>(`${t.base}/api/v1/targets/healthy`)).body.history;
    expect(before.length).toBeGreaterThanOrEqual(12);
    writeFileSync(file, readFileSync(config(', history: 10', 'down/1:b'), 'utf8'));
    expect((await t.d.reload()).ok).toBe(true);
    const after = (await getJson<TargetDetail>(`${t.base}/api/v1/targets/healthy`)).body.history;
    expect(after).toHaveLength(10);
    expect(before.slice(-10).every((h) => after.some((a) => a.startedAt === h.startedAt))).toBe(true);
    const list = (await getJson<TargetView[]>(`${t.base}/api/v1/targets`)).body;
    expect(list.map((v) => v.name)).toEqual(['healthy', 'refused']);
    expect((await getJson<{ error: string }>(`${t.base}/api/v1/targets/${encodeURIComponent('down/1:b')}`)).status).toBe(404);
  });
});

describe('files that cannot be used', () => {
  const rules = `
alerts:
  rules: [{ name: smtp_probe_down, kind: down, receivers: [ops] }]
  receivers: [{ name: ops, type: webhook, url: "http://127.0.0.1:9/hook" }]
`;
  for (const [what, bytes] of [
    ['garbage bytes', Buffer.from([0x00, 0xff, 0xfe, 0x7b, 0x0a, 0x13])],
    ['truncated JSON', Buffer.from('{"format":"smtp-probe history","version":1,"savedAt":"2026-12-01T00:00:00.000Z","eve')],
    ['a wrong version', Buffer.from('{"format":"smtp-probe history","version":7,"savedAt":"2026-12-01T00:00:00.000Z","events":[]}\n')],
  ] as const) {
    test(`${what} in the history file and in the state file: both moved aside, a warning each, the daemon serves`, async () => {
      mkdirSync(join(dir, 'state'));
      writeFileSync(`${stateFile()}.history`, bytes);
      writeFileSync(stateFile(), bytes.toString('latin1').replace('smtp-probe history', 'x'));
      const file = config();
      writeFileSync(file, readFileSync(file, 'utf8') + rules);
      const { logger, lines } = captured();
      const t = await start(file, { ...frozen(), logger });
      const warned = lines.filter((l) => l.level === 40);
      expect(warned.map((l) => [l.msg, l.file])).toEqual([
        ['history file unusable; starting without history', `${stateFile()}.history`],
        ['state file unusable; starting without alert state', stateFile()],
      ]);
      const files = readdirSync(join(dir, 'state')).sort();
      expect(files).toHaveLength(2);
      expect(files[0]).toMatch(/^state\.json\.corrupt-\d{8}T\d{6}\.\d{3}Z$/);
      expect(files[1]).toMatch(/^state\.json\.history\.corrupt-\d{8}T\d{6}\.\d{3}Z$/);
      expect(warned.map((l) => l.keptAs)).toEqual([join(dir, 'state', files[1]!), join(dir, 'state', files[0]!)]);
      expect(readFileSync(join(dir, 'state', files[1]!))).toEqual(bytes);
      const list = await getJson<TargetView[]>(`${t.base}/api/v1/targets`);
      expect(list.status).toBe(200);
      expect(list.body.map((v) => v.status)).toEqual(['pending', 'pending', 'pending']);
      expect((await fetch(`${t.base}/healthz`)).status).toBe(200);
    });
  }

  test('an old state file (alert state, no history file) loads as before: no warning, nothing moved', async () => {
    mkdirSync(join(dir, 'state'));
    const old = { version: 1, savedAt: '2026-11-01T00:00:00.000Z', alerts: [], pending: [] };
    writeFileSync(stateFile(), JSON.stringify(old));
    const file = config();
    writeFileSync(file, readFileSync(file, 'utf8') + rules);
    const { logger, lines } = captured();
    const t = await start(file, { ...frozen(), logger });
    expect(lines.filter((l) => (l.level as number) >= 40)).toEqual([]);
    expect(readdirSync(join(dir, 'state'))).toEqual(['state.json']);
    expect((await getJson<TargetView[]>(`${t.base}/api/v1/targets`)).body).toHaveLength(3);
  });
});
