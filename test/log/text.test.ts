/**
 * The text format of the logs (src/log-text.ts): one line per record, `HH:MM:SS.mmm LEVEL msg key=value ...`, from
 * the JSON line pino writes. Pure: records in, lines out.
 */
import { describe, expect, test } from 'vitest';
import { formatLine, formatRecord, quoteValue } from '../../src/log-text.js';

const plain = { color: false, stack: false };
const at = new Date(2026, 10, 26, 2, 3, 4, 56).getTime(); // local time 02:03:04.056

describe('formatRecord: the line', () => {
  test('local time with milliseconds, the level padded to five, the message, then the fields in order', () => {
    const line = formatRecord({ level: 30, time: at, name: 'smtp-probe', target: 'mx1', ok: true, durationMs: 41.2, msg: 'run finished' }, plain);
    expect(line).toBe('02:03:04.056 INFO  run finished target=mx1 ok=true durationMs=41.2\n');
  });

  test('every pino level has its name', () => {
    const names = [10, 20, 30, 40, 50, 60].map((level) => formatRecord({ level, time: at, msg: 'm' }, plain).slice(13, 18));
    expect(names).toEqual(['TRACE', 'DEBUG', 'INFO ', 'WARN ', 'ERROR', 'FATAL']);
  });

  test('name, pid, hostname, level, time and msg are not repeated as fields; null and numbers print bare', () => {
    const line = formatRecord({ level: 40, time: at, pid: 7, hostname: 'h', name: 'smtp-probe', code: null, n: 0, msg: 'x' }, plain);
    expect(line).toBe('02:03:04.056 WARN  x code=null n=0\n');
  });

  test('a record without a time still has the shape', () => {
    expect(formatRecord({ level: 30, msg: 'x' }, plain)).toBe('--:--:--.--- INFO  x\n');
  });
});

describe('formatRecord: values', () => {
  test('a value with a space, a quote, an = or nothing at all is quoted; one plain word is not', () => {
    const line = formatRecord({ level: 40, time: at, msg: 'run failed', message: '554 5.7.1 Relay access denied', q: 'say "hi"', eq: 'a=b', empty: '', url: 'smtp://127.0.0.1:25' }, plain);
    expect(line).toContain(' message="554 5.7.1 Relay access denied"');
    expect(line).toContain(' q="say \\"hi\\""');
    expect(line).toContain(' eq="a=b"');
    expect(line).toContain(' empty=""');
    expect(line).toContain(' url=smtp://127.0.0.1:25');
  });

  test('nested objects are flattened to dotted keys; arrays and deep objects print as compact JSON', () => {
    const line = formatRecord({ level: 30, time: at, msg: 'm', tls: { version: 'TLSv1.3', peer: { cn: 'mx' } }, issues: ['a.yaml:1:2 bad', 'b'], deep: { a: { b: { c: 1 } } }, none: {} }, plain);
    expect(line).toContain(' tls.version=TLSv1.3 tls.peer.cn=mx');
    expect(line).toContain(' issues=["a.yaml:1:2 bad","b"]');
    expect(line).toContain(' deep.a.b={"c":1}');
    expect(line).toContain(' none={}');
  });

  test('an error shows its message (and code); its stack only with stack on, indented on the lines below', () => {
    const err = { type: 'Error', message: 'connect ECONNREFUSED 127.0.0.1:1', stack: 'Error: connect ECONNREFUSED 127.0.0.1:1\n    at f (x.js:1:1)', code: 'ECONNREFUSED' };
    const short = formatRecord({ level: 50, time: at, msg: 'run failed unexpectedly', err }, plain);
    expect(short).toBe('02:03:04.056 ERROR run failed unexpectedly err="connect ECONNREFUSED 127.0.0.1:1" err.code=ECONNREFUSED\n');
    const long = formatRecord({ level: 50, time: at, msg: 'run failed unexpectedly', err }, { color: false, stack: true });
    expect(long.split('\n')).toEqual([
      '02:03:04.056 ERROR run failed unexpectedly err="connect ECONNREFUSED 127.0.0.1:1" err.code=ECONNREFUSED',
      '    Error: connect ECONNREFUSED 127.0.0.1:1',
      '    at f (x.js:1:1)',
      '',
    ]);
  });

  test('terminal controls from server text are escaped, in values, keys and the message: nothing reaches the terminal raw', () => {
    const banner = '220 \x1b[2J\x1b]0;owned\x07 \u009b31m \u202eevil\r\nX';
    const line = formatRecord({ level: 40, time: at, msg: `got \x1b[31m`, banner, ['k\x1b']: 1, list: [banner] }, plain);
    expect(line.slice(0, -1)).not.toMatch(/[\u0000-\u001f\u007f-\u009f\u202e]/);
    expect(line).toContain(' WARN  got \\u001b[31m banner=');
    expect(line).toContain(' banner="220 \\u001b[2J\\u001b]0;owned\\u0007 \\u009b31m \\u202eevil\\r\\nX"');
    expect(line).toContain(' "k\\u001b"=1');
    expect(line.split('\n')).toHaveLength(2);
  });

  test('quoteValue: bare for printable ASCII words only', () => {
    expect(quoteValue('TLSv1.3')).toBe('TLSv1.3');
    expect(quoteValue('a b')).toBe('"a b"');
    expect(quoteValue('back\\slash')).toBe('"back\\\\slash"');
    expect(quoteValue('grüße')).toBe('"grüße"');
  });
});

describe('formatRecord: colour', () => {
  test('with colour: time dim, the level in its colour, keys dim, each reset; without: no escape at all', () => {
    const rec = { level: 50, time: at, msg: 'boom', target: 'mx1' };
    expect(formatRecord(rec, { color: true, stack: false })).toBe('\x1b[2m02:03:04.056\x1b[0m \x1b[31mERROR\x1b[0m boom \x1b[2mtarget=\x1b[0mmx1\n');
    expect(formatRecord(rec, plain)).not.toContain('\x1b');
  });
});

describe('formatLine: from pino JSON', () => {
  test('parses the JSON line pino wrote', () => {
    const json = `${JSON.stringify({ level: 30, time: at, name: 'smtp-probe', target: 'mx1', msg: 'run finished' })}\n`;
    expect(formatLine(json, plain)).toBe('02:03:04.056 INFO  run finished target=mx1\n');
  });

  test('a line that is not a JSON object is written as it is (controls escaped), never thrown on', () => {
    expect(formatLine('not json \x1b[31m\n', plain)).toBe('not json \\u001b[31m\n');
    expect(formatLine('[1,2]\n', plain)).toBe('[1,2]\n');
  });
});
