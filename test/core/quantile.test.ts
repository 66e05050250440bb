import { describe, expect, it } from 'vitest';
import { nearestRank, quantile } from '../../src/core/quantile.js';

describe('quantile and nearestRank', () => {
  it('p50 and p95 of known values; null for none', () => {
    const values = Array.from({ length: 100 }, (_, i) => 100 - i); // 1..100, unordered
    expect(quantile(values, 0.5)).toBe(50);
    expect(quantile(values, 0.95)).toBe(95);
    expect(quantile([7], 0.95)).toBe(7);
    expect(quantile([3, 1, 2], 0.5)).toBe(2);
    expect(quantile([], 0.5)).toBeNull();
  });
  it('nearestRank reads a sorted list: the smallest value whose rank covers q', () => {
    expect(nearestRank([1, 2, 3, 4], 0.5)).toBe(2);
    expect(nearestRank([1, 2, 3, 4], 0.95)).toBe(4);
    expect(nearestRank([1, 2, 3, 4], 0)).toBe(1);
  });
});
