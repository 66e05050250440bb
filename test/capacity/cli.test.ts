/**
 * `smtp-probe capacity` as a command: reports, exit codes, usage errors, and the limits for an address that is not
 * loopback, pretended without any network (a lookup that answers a documentation address and connects nowhere, or
 * a loopback server classified as remote).
 */
import { afterEach, describe, expect, test } from 'vitest';
import { UsageError } from '../../src/cli/args.js';
import { capacityCommand, type CapacityCommandDeps } from '../../src/cli/capacity.js';
import { CAPACITY_PHASES, CAPACITY_RESULTS, type CapacityReport } from '../../src/core/capacity.js';
import { allLoopback, capacityLimits, isLoopbackAddress } from '../../src/capacity/limits.js';
import { closeAll } from '../helpers/cleanup.js';
import { cli } from '../helpers/cli.js';
import { startScriptedServer, type ScriptStep } from '../helpers/scripted-server.js';

afterEach(closeAll);

const HEALTHY: ScriptStep[] = [
  { send: '220 cap.test ESMTP\r\n' }, { expect: /^EHLO / }, { send: '250 cap.test\r\n' },
  { expect: /^QUIT$/ }, { send: '221 bye\r\n' }, { close: true },
];

async function capacity(argv: string[], deps: Partial<CapacityCommandDeps> = {}): Promise<{ code: number; stdout: string }> {
  let stdout = '';
  const code = await capacityCommand(argv, { stdout: (t) => (stdout += t), stderr: () => undefined, env: {} }, deps);
  return { code, stdout };
}

/** A lookup that must never be asked (the URL is an address), or one that answers `addresses` for any name. */
const answering = (addresses: string[]): CapacityCommandDeps['lookup'] => async () => addresses;

describe('reports and exit codes', () => {
  test('json: the documented shape; every session accepted: exit 0', async () => {
    const s = await startScriptedServer(HEALTHY);
    const { code, stdout } = await capacity([`127.0.0.1:${s.port}`, '--sessions', '2', '--duration', '100ms', '--format', 'json', '--ehlo', 'probe.test']);
    const r = JSON.parse(stdout) as CapacityReport;
    expect(code).toBe(0);
    expect(Object.keys(r)).toEqual([
      'url', 'sessions', 'until', 'durationMs', 'ratePerSecond', 'address', 'loopback', 'startedAt', 'elapsedMs', 'ok', 'started',
      'results', 'maxConcurrentOk', 'phases', 'stoppedBy421', 'problems', 'interrupted', 'failure',
    ]);
    expect(r).toMatchObject({ url: `smtp://127.0.0.1:${s.port}`, address: '127.0.0.1', loopback: true, sessions: 2, until: 'ehlo', durationMs: 100, ratePerSecond: null, ok: true });
    // (JSON writes the integer-like key "421" first, as every JavaScript object does.)
    expect(Object.keys(r.results).sort()).toEqual([...CAPACITY_RESULTS].sort());
    expect(r.results.accepted).toBe(r.started);
    expect(Object.keys(r.phases)).toEqual(CAPACITY_PHASES.filter((p) => p !== 'tls'));
    expect(Object.keys(r.phases.ehlo!)).toEqual(['count', 'meanMs', 'p50Ms', 'p95Ms', 'maxMs']);
    expect(s.commands().filter((c) => c.startsWith('EHLO'))).toEqual(Array(r.started).fill('EHLO probe.test'));
  });

  test('text: what was asked, the counts, the phase table, OK last', async () => {
    const s = await startScriptedServer(HEALTHY);
    const { code, stdout } = await capacity([`smtp://127.0.0.1:${s.port}`, '--duration', '50ms', '--rate', '100/s']);
    expect(code).toBe(0);
    const lines = stdout.trimEnd().split('\n');
    expect(lines[0]).toBe(`capacity smtp://127.0.0.1:${s.port} (127.0.0.1, loopback)`);
    expect(lines[1]).toBe('  3 sessions at once, each until ehlo, for 50ms, at most 100 sessions/s');
    expect(lines[2]).toMatch(/^ {2}\d+ sessions in \d+\.\d\d s: accepted \d+, refused 0, 421 0, 4xx 0, 5xx 0, timeout 0, error 0$/);
    expect(lines[3]).toMatch(/^ {2}max concurrent ok {2}[1-3]$/);
    expect(lines[4]).toMatch(/^ {2}phase +sessions +p50 ms +p95 ms +max ms$/);
    expect(lines.slice(5, -1).map((l) => l.trim().split(/\s+/)[0])).toEqual(['connect', 'banner_first_byte', 'banner', 'ehlo']);
    expect(lines.at(-1)).toBe('OK');
  });

  test('a 421: the stop in the text report, FAILED, exit 1', async () => {
    const s = await startScriptedServer([{ send: '421 4.7.0 cap.test Error: too many connections from 127.0.0.1\r\n' }, { close: true }]);
    const { code, stdout } = await capacity([`127.0.0.1:${s.port}`, '--duration', '5s']);
    expect(code).toBe(1);
    expect(stdout).toContain('  stopped at the first 421, in banner after ');
    expect(stdout).toContain('with 0 other sessions connected, 0 past the greeting: 421 4.7.0 cap.test Error: too many connections from 127.0.0.1');
    expect(stdout.trimEnd().split('\n').at(-1)).toBe('FAILED');
    expect(s.connections).toHaveLength(1);
  });

  test('Ctrl-C mid-run: every session closed, what was measured printed, INTERRUPTED, exit 1', async () => {
    const s = await startScriptedServer([{ send: '220 cap.test ESMTP\r\n' }, { expect: /^EHLO / }, { silence: true }]);
    const controller = new AbortController();
    let stdout = '';
    const io = { stdout: (t: string) => void (stdout += t), stderr: () => undefined, env: {}, signal: controller.signal };
    const pending = capacityCommand([`127.0.0.1:${s.port}`, '--sessions', '2', '--duration', '60s'], io);
    for (const end = Date.now() + 5000; !(s.connections.length === 2 && s.connections.every((c) => c.lines.length === 1)); await new Promise((r) => setTimeout(r, 5))) {
      if (Date.now() > end) throw new Error('the sessions did not get as far as EHLO');
    }
    controller.abort();
    expect(await pending).toBe(1);
    await Promise.all(s.connections.map((c) => c.whenClosed()));
    expect(stdout).toMatch(/^ {2}2 sessions in \d+\.\d\d s: accepted 0, refused 0, 421 0, 4xx 0, 5xx 0, timeout 0, error 0$/m);
    expect(stdout.trimEnd().split('\n').at(-1)).toBe('INTERRUPTED');
  });

  test('a name that does not resolve: a report with the failure, exit 1, no connection', async () => {
    const lookup: CapacityCommandDeps['lookup'] = async () => {
      throw Object.assign(new Error('queryA ENOTFOUND'), { code: 'ENOTFOUND' });
    };
    const { code, stdout } = await capacity(['smtp://nowhere.invalid', '--format', 'json'], { lookup });
    expect(code).toBe(1);
    expect(JSON.parse(stdout)).toMatchObject({ ok: false, address: null, started: 0, failure: 'cannot resolve nowhere.invalid: no such host' });
  });
});

describe('usage errors (exit 2, naming the flag)', () => {
  test.each([
    [['capacity'], /no target: give one URL/],
    [['capacity', 'a.test', 'b.test'], /one target at a time \(got 2\)/],
    [['capacity', 'mx://example.test'], /capacity measures one server/],
    [['capacity', '127.0.0.1', '--until', 'data'], /--until: "data" is not one of banner, ehlo, starttls/],
    [['capacity', '127.0.0.1', '--sessions', '0'], /--sessions: "0" is not a whole number from 1 to 100/],
    [['capacity', '127.0.0.1', '--sessions', '101'], /--sessions: "101" is not a whole number from 1 to 100/],
    [['capacity', '127.0.0.1', '--rate', '0/s'], /--rate: "0\/s" is not a rate over 0/],
    [['capacity', '127.0.0.1', '--rate', 'fast'], /--rate: "fast" is not a rate/],
    [['capacity', '127.0.0.1', '--duration', '10'], /--duration: "10" needs a unit/],
    [['capacity', '127.0.0.1', '--format', 'junit'], /--format: "junit" is not one of text, json/],
    [['capacity', '127.0.0.1', '--bogus'], /unknown flag --bogus/],
  ])('%j', async (argv, message) => {
    const r = await cli(argv);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(message);
    expect(r.stdout).toBe('');
  });

  test('--help', async () => {
    const r = await cli(['capacity', '--help']);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/^Usage: smtp-probe capacity URL/);
    expect(r.stdout).toContain('--allow-remote');
    expect((await cli(['--help'])).stdout).toContain('smtp-probe capacity URL');
  });
});

describe('an address that is not loopback (no network: the lookup answers 203.0.113.25, nothing connects)', () => {
  const remote = answering(['203.0.113.25']);
  const refused = async (argv: string[]): Promise<string> => {
    const e = await capacity(['smtp://mx.remote.test', ...argv], { lookup: remote }).then(() => null, (err: unknown) => err);
    expect(e).toBeInstanceOf(UsageError);
    return (e as Error).message;
  };

  test('without --allow-remote: at most 3 sessions, at most 1 started per second', async () => {
    expect(await refused(['--sessions', '4'])).toBe(
      '--sessions 4: 203.0.113.25 is not a loopback address: at most 3 sessions without --allow-remote (10 with it)',
    );
    expect(await refused(['--rate', '2/s'])).toBe('--rate 2/s: 203.0.113.25 is not a loopback address: at most 1 session per second without --allow-remote');
  });

  test('with --allow-remote: at most 10 sessions', async () => {
    expect(await refused(['--allow-remote', '--sessions', '11'])).toBe('--sessions 11: 203.0.113.25 is not a loopback address: at most 10 sessions');
  });

  test('a name with one address that is not loopback among loopback ones counts as remote', async () => {
    const e = await capacity(['smtp://mixed.test', '--sessions', '4'], { lookup: answering(['127.0.0.1', '203.0.113.25']) }).catch((err: unknown) => err);
    expect(e).toBeInstanceOf(UsageError);
    expect((e as Error).message).toMatch(/^--sessions 4: 203\.0\.113\.25 is not a loopback address/);
  });

  test('within the limits it runs at the remote pace: 1 session per second by default (a loopback server classified as remote)', async () => {
    const s = await startScriptedServer(HEALTHY);
    const deps = { isLoopback: () => false };
    const over = await capacity([`127.0.0.1:${s.port}`, '--sessions', '4'], deps).catch((err: unknown) => err);
    expect(over).toBeInstanceOf(UsageError);
    expect(s.connections).toHaveLength(0);
    const { code, stdout } = await capacity([`127.0.0.1:${s.port}`, '--sessions', '3', '--duration', '1500ms', '--format', 'json'], deps);
    const r = JSON.parse(stdout) as CapacityReport;
    expect(code).toBe(0);
    expect(r).toMatchObject({ loopback: false, sessions: 3, ratePerSecond: 1 });
    // Starts at 0 and 1000 ms; the next would be due at 2000 ms, after the duration.
    expect(r.started).toBe(2);
    expect(s.connections).toHaveLength(2);
  });

  test('the limits by address class', () => {
    expect(capacityLimits(true, false)).toEqual({ maxSessions: 100, maxRatePerSecond: null, defaultRatePerSecond: null });
    expect(capacityLimits(false, true)).toEqual({ maxSessions: 10, maxRatePerSecond: null, defaultRatePerSecond: null });
    expect(capacityLimits(false, false)).toEqual({ maxSessions: 3, maxRatePerSecond: 1, defaultRatePerSecond: 1 });
  });

  test('loopback addresses in every spelling, and what is not one', () => {
    for (const a of ['127.0.0.1', '127.255.3.4', '::1', '0:0:0:0:0:0:0:1', '::ffff:127.0.0.1', '::ffff:7f00:2']) expect(isLoopbackAddress(a), a).toBe(true);
    for (const a of ['10.0.0.1', '128.0.0.1', '203.0.113.25', '::2', '::ffff:10.0.0.1', '2001:db8::1', 'localhost', '']) expect(isLoopbackAddress(a), a).toBe(false);
    expect(allLoopback(['127.0.0.1', '::1'])).toBe(true);
    expect(allLoopback(['127.0.0.1', '203.0.113.25'])).toBe(false);
    expect(allLoopback([])).toBe(false);
    // A zone id (as a hosts file may give one) is not an error: fe80::1%eth0 is link-local, ::1%lo loopback.
    expect(isLoopbackAddress('fe80::1%eth0')).toBe(false);
    expect(isLoopbackAddress('::1%lo')).toBe(true);
  });
});
