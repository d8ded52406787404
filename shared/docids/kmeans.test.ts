import { describe, expect, it } from 'vitest';
import { BadInputError } from '../errors.ts';
import { mulberry32 } from '../util/random.ts';
import { randomUnit } from '../../test/helpers/vectors.ts';
import { balancedKMeans } from './kmeans.ts';

function allRows(n: number): Int32Array {
  return Int32Array.from({ length: n }, (_, i) => i);
}

function sizes(assign: Int32Array, k: number): number[] {
  const out = new Array<number>(k).fill(0);
  for (const c of assign) out[c]++;
  return out;
}

describe('balancedKMeans', () => {
  it.each([
    [1000, 7],
    [100, 8],
    [64, 64 - 1],
    [9000, 2], // above the training-sample threshold: centroids fitted on a sample
  ])('gives every cluster floor or ceil of n/k members (n=%i, k=%i)', (n, k) => {
    const data = randomUnit(n, 8, n + k);
    const assign = balancedKMeans(data, 8, allRows(n), k, { seed: 1 });
    expect(assign.length).toBe(n);
    for (const s of sizes(assign, k)) {
      expect(s === Math.floor(n / k) || s === Math.ceil(n / k)).toBe(true);
    }
  });

  it('is deterministic for a seed and differs across seeds', () => {
    const data = randomUnit(600, 16, 5);
    const rows = allRows(600);
    const a = balancedKMeans(data, 16, rows, 6, { seed: 11 });
    const b = balancedKMeans(data, 16, rows, 6, { seed: 11 });
    const c = balancedKMeans(data, 16, rows, 6, { seed: 12 });
    expect(Array.from(b)).toEqual(Array.from(a));
    expect(Array.from(c)).not.toEqual(Array.from(a));
  });

  it('separates obviously separated clusters', () => {
    // Four blobs of 50 around orthogonal axes, interleaved so that order carries no hint.
    const dim = 16;
    const blobs = 4;
    const per = 50;
    const n = blobs * per;
    const r = mulberry32(9);
    const data = new Float32Array(n * dim);
    const truth = new Int32Array(n);
    for (let i = 0; i < n; i++) {
      const blob = i % blobs;
      truth[i] = blob;
      let s = 0;
      for (let d = 0; d < dim; d++) {
        const x = (d === blob * 4 ? 1 : 0) + 0.1 * (r() - 0.5);
        data[i * dim + d] = x;
        s += x * x;
      }
      for (let d = 0; d < dim; d++) data[i * dim + d] /= Math.sqrt(s);
    }
    const assign = balancedKMeans(data, dim, allRows(n), blobs, { seed: 3 });
    const clusterOfBlob = new Map<number, number>();
    for (let i = 0; i < n; i++) {
      const seen = clusterOfBlob.get(truth[i]);
      if (seen === undefined) clusterOfBlob.set(truth[i], assign[i]);
      else expect(assign[i]).toBe(seen);
    }
    expect(new Set(clusterOfBlob.values()).size).toBe(blobs);
  });

  it('clusters only the given rows, in their order', () => {
    const data = randomUnit(100, 4, 2);
    const rows = Int32Array.from([90, 3, 57, 12, 44, 8, 71, 30, 66, 21]);
    const assign = balancedKMeans(data, 4, rows, 3, { seed: 5 });
    expect(assign.length).toBe(rows.length);
    expect(sizes(assign, 3).sort()).toEqual([3, 3, 4]);
    // Rows outside `rows` play no part.
    const other = randomUnit(100, 4, 99);
    for (const r of rows) other.set(data.subarray(r * 4, r * 4 + 4), r * 4);
    expect(Array.from(balancedKMeans(other, 4, rows, 3, { seed: 5 }))).toEqual(Array.from(assign));
  });

  it('ignores vector length: rows scaled by powers of two cluster identically', () => {
    const dim = 8;
    const data = randomUnit(300, dim, 4);
    const scaled = data.slice();
    for (let i = 0; i < 300; i++) for (let d = 0; d < dim; d++) scaled[i * dim + d] *= 2 ** ((i % 5) - 2);
    const a = balancedKMeans(data, dim, allRows(300), 5, { seed: 8 });
    const b = balancedKMeans(scaled, dim, allRows(300), 5, { seed: 8 });
    expect(Array.from(b)).toEqual(Array.from(a));
  });

  it('handles k >= n, k <= 1 and no rows', () => {
    const data = randomUnit(5, 3, 1);
    expect(Array.from(balancedKMeans(data, 3, allRows(5), 5, { seed: 1 }))).toEqual([0, 1, 2, 3, 4]);
    expect(Array.from(balancedKMeans(data, 3, allRows(5), 9, { seed: 1 }))).toEqual([0, 1, 2, 3, 4]);
    expect(Array.from(balancedKMeans(data, 3, allRows(5), 1, { seed: 1 }))).toEqual([0, 0, 0, 0, 0]);
    expect(Array.from(balancedKMeans(data, 3, allRows(5), 0, { seed: 1 }))).toEqual([0, 0, 0, 0, 0]);
    expect(balancedKMeans(data, 3, new Int32Array(0), 3, { seed: 1 }).length).toBe(0);
  });

  it('handles zero vectors and all-identical rows', () => {
    const dim = 4;
    const zeros = new Float32Array(40 * dim);
    expect(sizes(balancedKMeans(zeros, dim, allRows(40), 3, { seed: 2 }), 3).sort()).toEqual([13, 13, 14]);
    const same = new Float32Array(40 * dim);
    for (let i = 0; i < 40; i++) same.set([0.5, 0.5, 0.5, 0.5], i * dim);
    expect(sizes(balancedKMeans(same, dim, allRows(40), 4, { seed: 2 }), 4)).toEqual([10, 10, 10, 10]);
    const mixed = randomUnit(40, dim, 6);
    mixed.fill(0, 0, 10 * dim);
    expect(sizes(balancedKMeans(mixed, dim, allRows(40), 5, { seed: 2 }), 5)).toEqual([8, 8, 8, 8, 8]);
  });

  it('with zero iterations still returns a balanced assignment', () => {
    const data = randomUnit(50, 4, 3);
    expect(sizes(balancedKMeans(data, 4, allRows(50), 4, { seed: 1, iterations: 0 }), 4).sort()).toEqual([12, 12, 13, 13]);
  });

  it('rejects invalid arguments', () => {
    const data = randomUnit(10, 4, 1);
    const rows = allRows(10);
    expect(() => balancedKMeans(data, 0, rows, 2, { seed: 1 })).toThrow(BadInputError);
    expect(() => balancedKMeans(data, 3, rows, 2, { seed: 1 })).toThrow(BadInputError);
    expect(() => balancedKMeans(data, 4, Int32Array.from([0, 10]), 2, { seed: 1 })).toThrow(BadInputError);
    expect(() => balancedKMeans(data, 4, rows, 2.5, { seed: 1 })).toThrow(BadInputError);
    expect(() => balancedKMeans(data, 4, rows, 2, { seed: 0.5 })).toThrow(BadInputError);
    expect(() => balancedKMeans(data, 4, rows, 2, { seed: 1, iterations: -1 })).toThrow(BadInputError);
    const bad = data.slice();
    bad[5] = Number.NaN;
    expect(() => balancedKMeans(bad, 4, rows, 2, { seed: 1 })).toThrow(BadInputError);
  });
});

describe('balancedKMeans at scale', () => {
  it('stays balanced when rows may propose only some clusters per round', () => {
    // 140,000 rows × 64 clusters exceeds the candidate-pair budget, so each row proposes
    // fewer than k clusters and leftovers go through further rounds.
    const n = 140_000;
    const k = 64;
    const data = randomUnit(n, 2, 21);
    const assign = balancedKMeans(data, 2, allRows(n), k, { seed: 4, iterations: 2 });
    for (const s of sizes(assign, k)) expect(s === Math.floor(n / k) || s === Math.ceil(n / k)).toBe(true);
  });
});
