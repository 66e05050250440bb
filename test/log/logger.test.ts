/**
 * createLogger (src/log.ts): which format a logger writes (the terminal decision injected, never the test runner's
 * own stderr), colours, the stack at debug, and redaction holding in both formats.
 */
import { describe, expect, test } from 'vitest';
import { createLogger, supportsColor, textWanted, type LoggerOptions } from '../../src/log.js';
import type { LogFormat } from '../../src/log-levels.js';

function capture(level: 'info' | 'debug', options: LoggerOptions): { log: ReturnType<typeof createLogger>; out: string[] } {
  const out: string[] = [];
  return { log: createLogger(level, { ...options, write: (t) => out.push(t) }), out };
}

const TEXT_LINE = /^\d\d:\d\d:\d\d\.\d{3} INFO  run finished target=mx1 ok=true\n$/;

describe('the format', () => {
  test.each<[LogFormat, boolean, 'text' | 'json']>([
    ['auto', true, 'text'],
    ['auto', false, 'json'],
    ['text', false, 'text'],
    ['text', true, 'text'],
    ['json', true, 'json'],
    ['json', false, 'json'],
  ])('%s with a terminal %s: %s', (format, isTTY, want) => {
    const { log, out } = capture('info', { format, isTTY, color: false });
    log.info({ target: 'mx1', ok: true }, 'run finished');
    expect(out).toHaveLength(1);
    if (want === 'text') {
      expect(out[0]).toMatch(TEXT_LINE);
      expect(() => JSON.parse(out[0]!)).toThrow();
    } else {
      expect(JSON.parse(out[0]!)).toMatchObject({ level: 30, name: 'smtp-probe', target: 'mx1', ok: true, msg: 'run finished' });
      expect(out[0]).not.toMatch(TEXT_LINE);
    }
    expect(textWanted(format, isTTY)).toBe(want === 'text');
  });

  test('the default is auto', () => {
    const onTerminal = capture('info', { isTTY: true, color: false });
    const onPipe = capture('info', { isTTY: false });
    onTerminal.log.info({ target: 'mx1', ok: true }, 'run finished');
    onPipe.log.info({ target: 'mx1', ok: true }, 'run finished');
    expect(onTerminal.out[0]).toMatch(TEXT_LINE);
    expect(JSON.parse(onPipe.out[0]!).msg).toBe('run finished');
  });
});

describe('colours', () => {
  test('on a terminal that has them; never with NO_COLOR set (even empty), never on a pipe, never on TERM=dumb', () => {
    const coloured = capture('info', { format: 'text', isTTY: true, env: { TERM: 'xterm-256color' } });
    coloured.log.warn({ target: 'mx1' }, 'run failed');
    expect(coloured.out[0]).toContain('\x1b[33mWARN \x1b[0m');
    for (const [isTTY, env] of [
      [true, { TERM: 'xterm-256color', NO_COLOR: '1' }],
      [true, { TERM: 'xterm-256color', NO_COLOR: '' }],
      [false, { TERM: 'xterm-256color' }],
      [true, { TERM: 'dumb' }],
    ] as const) {
      const { log, out } = capture('info', { format: 'text', isTTY, env });
      log.warn({ target: 'mx1' }, 'run failed');
      expect(out[0], JSON.stringify({ isTTY, env })).not.toContain('\x1b');
      expect(out[0]).toMatch(/ WARN  run failed target=mx1\n$/);
    }
    expect(supportsColor({ TERM: 'xterm-256color' })).toBe(true);
    expect(supportsColor({ TERM: 'xterm-256color', NO_COLOR: 'yes' })).toBe(false);
  });
});

describe('errors', () => {
  test('the message at info; the stack below it only when the logger is at debug', () => {
    const info = capture('info', { format: 'text', color: false });
    const debug = capture('debug', { format: 'text', color: false });
    for (const { log } of [info, debug]) log.error({ target: 'mx1', err: new Error('worker exited') }, 'run failed unexpectedly');
    expect(info.out[0]).toMatch(/ ERROR run failed unexpectedly target=mx1 err="worker exited"\n$/);
    expect(info.out[0]!.split('\n')).toHaveLength(2);
    const lines = debug.out[0]!.split('\n');
    expect(lines[0]).toMatch(/ ERROR run failed unexpectedly target=mx1 err="worker exited"$/);
    expect(lines[1]).toBe('    Error: worker exited');
    expect(lines[2]).toMatch(/^ {4}at .*logger\.test\.ts/);
  });
});

describe('redaction holds in both formats', () => {
  const secrets = {
    target: 'mx1',
    password: 'hunter2-top',
    token: 'tok-abc-123',
    auth: { username: 'probe', password: 'pw-nested-1' },
    receiver: { secret: 'hmac-key-9', headers: { authorization: 'Bearer xyz-987' } },
  };
  const leaked = (s: string): string[] => ['hunter2-top', 'tok-abc-123', 'pw-nested-1', 'hmac-key-9', 'xyz-987'].filter((x) => s.includes(x));

  test('text: every secret is ***, the rest as it was', () => {
    const { log, out } = capture('info', { format: 'text', color: false });
    log.info(secrets, 'receiver configured');
    expect(leaked(out[0]!)).toEqual([]);
    expect(out[0]).toContain(' password=*** token=*** auth.username=probe auth.password=*** receiver.secret=*** receiver.headers.authorization=***');
  });

  test('json: every secret is ***, the rest as it was', () => {
    const { log, out } = capture('info', { format: 'json' });
    log.info(secrets, 'receiver configured');
    expect(leaked(out[0]!)).toEqual([]);
    expect(JSON.parse(out[0]!)).toMatchObject({
      password: '***', token: '***', auth: { username: 'probe', password: '***' }, receiver: { secret: '***', headers: { authorization: '***' } },
    });
  });
});
