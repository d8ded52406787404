import { describe, expect, it } from 'vitest';
import { kthLargest } from './kth-largest.ts';
import { mulberry32 } from './random.ts';

describe('kthLargest', () => {
  it('agrees with sorting, ties and repeated values included', () => {
    const random = mulberry32(7);
    for (let trial = 0; trial < 200; trial++) {
      const size = 1 + Math.floor(random() * 400);
      // Few distinct values on some trials: many ties around the k-th.
      const distinct = trial % 2 ? 5 : 1000;
      const values = Float32Array.from({ length: size }, () => Math.floor(random() * distinct) - distinct / 2);
      // Some of the values, in a shuffled order, as the touched documents of a pass are.
      const n = 1 + Math.floor(random() * size);
      const indices = Int32Array.from({ length: n }, () => Math.floor(random() * size));
      const sorted = Array.from(indices, (i) => values[i]!).sort((a, b) => b - a);
      const k = 1 + Math.floor(random() * n);
      expect(kthLargest(values, indices, n, k, new Float32Array(k))).toBe(sorted[k - 1]);
    }
  });

  it('reads only the first n indices, and is −∞ when they are fewer than k', () => {
    const values = Float32Array.of(3, 1, 2, 100, 100);
    const indices = Int32Array.of(0, 1, 2, 3, 4);
    expect(kthLargest(values, indices, 3, 1, new Float32Array(5))).toBe(3);
    expect(kthLargest(values, indices, 3, 3, new Float32Array(5))).toBe(1);
    expect(kthLargest(values, indices, 2, 3, new Float32Array(5))).toBe(Number.NEGATIVE_INFINITY);
  });
});
