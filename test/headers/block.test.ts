import { describe, expect, it } from 'vitest';
import { headerValues, parseHeaderBlock } from '../../src/headers/analyze.js';

describe('parseHeaderBlock', () => {
  it('unfolds CRLF and LF followed by WSP, keeps the WSP, stops at the blank line', () => {
    const fields = parseHeaderBlock('Subject: a\r\n b\n\tc\r\nX-Empty:\r\nTo: x@example.org\r\n\r\nNot-A-Header: body\r\n');
    expect(fields).toEqual([
      { name: 'subject', value: 'a b c' },
      { name: 'x-empty', value: '' },
      { name: 'to', value: 'x@example.org' },
    ]);
  });

  it('names are case-insensitive; "name : value" and a leading BOM are accepted', () => {
    const fields = parseHeaderBlock('\uFEFFRECEIVED : one\nreceived: two\nReceived:three\n');
    expect(headerValues(fields, 'Received')).toEqual(['one', 'two', 'three']);
  });

  it('skips lines that are not fields, with their continuation lines', () => {
    const fields = parseHeaderBlock('From someone@example.org Thu Nov 26 03:30:00 2026\n  continued\nBad Name: x\n: no name\nOk: yes\n');
    expect(fields).toEqual([{ name: 'ok', value: 'yes' }]);
  });

  it('strips control characters and bidi overrides from values', () => {
    expect(parseHeaderBlock('Subject: a\u0000b\u001b[0m\u202ec\u0085d\rX\n')[0]?.value).toBe('ab[0mcd X');
  });

  it('bounds the number of fields and the length of each', () => {
    const many = 'X: 1\n'.repeat(5000);
    expect(parseHeaderBlock(many)).toHaveLength(1000);
    expect(parseHeaderBlock(many, { maxHeaders: 3 })).toHaveLength(3);
    expect(parseHeaderBlock(many, { maxHeaders: 0 })).toHaveLength(0);
    const long = `X: ${'a'.repeat(100_000)}\n${' b\n'.repeat(100_000)}Y: 2\n`;
    const fields = parseHeaderBlock(long, { maxFieldLength: 1000 });
    expect(fields.map((f) => [f.name, f.value.length])).toEqual([['x', 999], ['y', 1]]);
    expect(parseHeaderBlock(long)[0]?.value).toHaveLength(16_383);
  });

  it('never ends a value in half a surrogate pair', () => {
    const v = parseHeaderBlock(`X: ${'a'.repeat(8)}😀😀\n`, { maxFieldLength: 10 })[0]?.value ?? '';
    expect(v).toBe(`${'a'.repeat(8)}`);
  });
});
