/** `global.workers: auto | N`: the key, its default, what it refuses, and how many threads `auto` means. */
import { describe, expect, test } from 'vitest';
import { formatIssue } from '../../src/config/issues.js';
import { loadConfigText, type LoadResult } from '../../src/config/load.js';
import { poolSize } from '../../src/pool/pool.js';

function load(global: string): LoadResult {
  return loadConfigText('c.yaml', `${global}targets: [ { name: a, url: smtp://a.example.test } ]\n`, { env: {}, readFile: (p) => `unread ${p}` });
}

function workers(global: string): unknown {
  const r = load(global);
  if (!r.ok) throw new Error(r.issues.map(formatIssue).join('\n'));
  return r.config.global.workers;
}

describe('global.workers', () => {
  test('default auto; auto and 1..64 load as written', () => {
    expect(workers('')).toBe('auto');
    expect(workers('global: { workers: auto }\n')).toBe('auto');
    expect(workers('global: { workers: 1 }\n')).toBe(1);
    expect(workers('global: { workers: 64 }\n')).toBe(64);
  });

  test.each([
    ['0', 'Too small: expected number to be >=1'],
    ['-1', 'Too small: expected number to be >=1'],
    ['65', 'Too big: expected number to be <=64'],
    ['2.5', 'must be auto or a whole number of threads, 1-64'],
    ['many', 'must be auto or a whole number of threads, 1-64'],
    ['"4"', 'must be auto or a whole number of threads, 1-64'],
  ])('workers: %s is refused at its key', (value, message) => {
    const r = load(`global: { workers: ${value} }\n`);
    expect(r.ok).toBe(false);
    if (r.ok) return;
    expect(r.issues.map(formatIssue)).toEqual([`c.yaml:1:20 global.workers: ${message}`]);
  });

  test('auto is the available cores, at most 8; a number is itself', () => {
    expect(poolSize('auto', 2)).toBe(1);
    expect(poolSize('auto', 4)).toBe(3);
    expect(poolSize('auto', 1)).toBe(1);
    expect(poolSize('auto', 32)).toBe(8);
    expect(poolSize('auto', 9)).toBe(8);
    expect(poolSize(3, 32)).toBe(3);
    expect(poolSize(12, 2)).toBe(12);
  });
});
