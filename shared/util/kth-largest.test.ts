import { describe, expect, it } from 'vitest';
import { kthLargest } from './kth-largest.ts';
import { mulberry32 } from './random.ts';

describe('kthLargest', () => {
  it('agrees with sorting, ties and repeated values included', () => {
    const random = mulberry32(7);
    for (let trial = 0; trial < 200; trial++) {
      const n = 1 + Math.floor(random() * 300);
      // Few distinct values on some trials: many ties around the k-th.
      const distinct = trial % 2 ? 5 : 1000;
      const values = Float32Array.from({ length: n }, () => Math.floor(random() * distinct) - distinct / 2);
      const sorted = Array.from(values).sort((a, b) => b - a);
      const k = 1 + Math.floor(random() * n);
      expect(kthLargest(Float32Array.from(values), n, k)).toBe(sorted[k - 1]);
    }
  });

  it('reads only the prefix it is given, and is −∞ when it holds fewer than k values', () => {
    const values = Float32Array.of(3, 1, 2, 100, 100);
    expect(kthLargest(values, 3, 1)).toBe(3);
    expect(kthLargest(Float32Array.of(3, 1, 2), 3, 3)).toBe(1);
    expect(kthLargest(values, 2, 3)).toBe(Number.NEGATIVE_INFINITY);
  });
});
