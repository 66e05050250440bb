import { describe, expect, it } from 'vitest';
import { inShard, parseShard, shardOf } from '../../src/scheduler/shard.js';

const KEYS = Array.from({ length: 2_000 }, (_, i) => `mx${i}.example.test`);

describe('shards', () => {
  it('puts every key in exactly one shard, in roughly even shares, for N = 1..7', () => {
    for (let n = 1; n <= 7; n++) {
      const sizes = new Array<number>(n).fill(0);
      for (const key of KEYS) {
        const owners = [];
        for (let k = 0; k < n; k++) if (inShard(key, k, n)) owners.push(k);
        expect(owners).toHaveLength(1);
        sizes[owners[0]!]!++;
      }
      const fair = KEYS.length / n;
      for (const size of sizes) {
        expect(size).toBeGreaterThan(fair * 0.8);
        expect(size).toBeLessThan(fair * 1.2);
      }
    }
  });

  it('is sha256(name) as a 256-bit integer mod N (vectors computed with Python hashlib)', () => {
    expect([2, 3, 5, 7].map((n) => shardOf('mx1-submission', n))).toEqual([0, 2, 3, 5]);
    expect([2, 3, 5, 7].map((n) => shardOf('target-0', n))).toEqual([0, 2, 4, 4]);
    expect([2, 3, 5, 7].map((n) => shardOf('', n))).toEqual([1, 1, 4, 1]);
    expect(inShard('mx1-submission', 5, 7)).toBe(true);
  });

  it('rejects shard numbers out of range', () => {
    expect(() => inShard('x', 3, 3)).toThrow(RangeError);
    expect(() => inShard('x', 0, 0)).toThrow(RangeError);
    expect(() => shardOf('x', 1.5)).toThrow(RangeError);
  });
});

describe('parseShard', () => {
  it.each([
    ['0/1', { k: 0, n: 1 }],
    ['2/3', { k: 2, n: 3 }],
    [' 1 / 4 ', { k: 1, n: 4 }],
  ])('%j', (text, want) => {
    expect(parseShard(text)).toEqual(want);
  });

  it.each([
    ['3/3', /K must be in 0\.\.2/],
    ['1/0', /N must be at least 1/],
    ['-1/2', /expected K\/N/],
    ['1', /expected K\/N/],
    ['a/b', /expected K\/N/],
    ['1/2/3', /expected K\/N/],
    ['', /expected K\/N/],
    ['0/99999999999999999999', /N must be at least 1/],
  ])('%j is an error', (text, message) => {
    const got = parseShard(text);
    expect(typeof got).toBe('string');
    expect(got).toMatch(message);
  });
});
