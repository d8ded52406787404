import { describe, expect, it } from 'vitest';
import { BadInputError } from '../errors.ts';
import { mulberry32 } from '../util/random.ts';
import { randomUnit } from '../../test/helpers/vectors.ts';
import { assignTopicsToShards, buildSemanticDocIds, formatDocId, parseDocId, type DocIdOptions } from './build.ts';

/** Unique and prefix-free, checked directly on the strings. */
function expectUniquePrefixFree(paths: number[][]): void {
  const full = new Set(paths.map(formatDocId));
  expect(full.size).toBe(paths.length);
  for (const p of paths) {
    for (let len = 1; len < p.length; len++) expect(full.has(formatDocId(p.slice(0, len)))).toBe(false);
  }
}

function counts(values: number[]): Map<number, number> {
  const m = new Map<number, number>();
  for (const v of values) m.set(v, (m.get(v) ?? 0) + 1);
  return m;
}

const small: DocIdOptions = { topics: 4, branching: 4, leafSize: 10, seed: 1 };

describe('buildSemanticDocIds', () => {
  it('gives unique, prefix-free paths even to many identical vectors', () => {
    const n = 600;
    const dim = 8;
    const data = randomUnit(n, dim, 2);
    for (let i = 1; i < 400; i++) data.copyWithin(i * dim, 0, dim);
    const paths = buildSemanticDocIds(data, n, dim, small);
    expect(paths.length).toBe(n);
    expectUniquePrefixFree(paths);
  });

  it('handles all-zero vectors', () => {
    const paths = buildSemanticDocIds(new Float32Array(300 * 4), 300, 4, small);
    expectUniquePrefixFree(paths);
  });

  it('is deterministic for a seed and differs across seeds', () => {
    const data = randomUnit(500, 8, 3);
    const a = buildSemanticDocIds(data, 500, 8, small);
    expect(buildSemanticDocIds(data, 500, 8, small)).toEqual(a);
    expect(buildSemanticDocIds(data, 500, 8, { ...small, seed: 2 })).not.toEqual(a);
  });

  it('balances topic sizes', () => {
    const paths = buildSemanticDocIds(randomUnit(1001, 8, 4), 1001, 8, { ...small, topics: 8 });
    const sizes = [...counts(paths.map((p) => p[0])).values()];
    expect(sizes.length).toBe(8);
    for (const s of sizes) expect(s === 125 || s === 126).toBe(true);
  });

  it('gives topic · cluster · item when one split brings clusters under leafSize', () => {
    const n = 2000;
    const paths = buildSemanticDocIds(randomUnit(n, 8, 5), n, 8, { topics: 4, branching: 8, leafSize: 64, seed: 1 });
    expect(new Set(paths.map((p) => p.length))).toEqual(new Set([3]));
    // 500 per topic → 8 clusters of 62–63, each numbered 0..m-1.
    const leaves = new Map<string, number[]>();
    for (const p of paths) {
      const key = formatDocId(p.slice(0, 2));
      leaves.set(key, [...(leaves.get(key) ?? []), p[2]]);
    }
    expect(leaves.size).toBe(32);
    for (const items of leaves.values()) {
      expect(items.length === 62 || items.length === 63).toBe(true);
      expect(items.sort((a, b) => a - b)).toEqual(items.map((_, i) => i));
    }
  });

  it('recurses until clusters fit in leafSize', () => {
    // 2000 → 2 topics of 1000 → 4 × 250 → 4 × 62/63 → 4 × 15/16 ≤ 16: five components.
    const n = 2000;
    const paths = buildSemanticDocIds(randomUnit(n, 8, 6), n, 8, { topics: 2, branching: 4, leafSize: 16, seed: 1 });
    expectUniquePrefixFree(paths);
    expect(new Set(paths.map((p) => p.length))).toEqual(new Set([5]));
    for (const p of paths) {
      expect(p[0]).toBeLessThan(2);
      for (let i = 1; i < 4; i++) expect(p[i]).toBeLessThan(4);
      expect(p[4]).toBeLessThan(16);
    }
  });

  it('keeps clustered vectors together and near-duplicates in the same topic', () => {
    const dim = 16;
    const blobs = 8;
    const per = 50;
    const n = blobs * per;
    const r = mulberry32(7);
    const data = new Float32Array(n * dim);
    for (let i = 0; i < n; i++) {
      let s = 0;
      for (let d = 0; d < dim; d++) {
        const x = (d === (i % blobs) * 2 ? 1 : 0) + 0.2 * (r() - 0.5);
        data[i * dim + d] = x;
        s += x * x;
      }
      for (let d = 0; d < dim; d++) data[i * dim + d] /= Math.sqrt(s);
    }
    // Document 8 is document 0 nudged slightly (same blob: 8 % 8 === 0).
    for (let d = 0; d < dim; d++) data[8 * dim + d] = data[d] + (d === 5 ? 1e-3 : 0);
    const paths = buildSemanticDocIds(data, n, dim, { topics: blobs, branching: 4, leafSize: 16, seed: 3 });
    const topicOfBlob = new Map<number, number>();
    for (let i = 0; i < n; i++) {
      const t = topicOfBlob.get(i % blobs);
      if (t === undefined) topicOfBlob.set(i % blobs, paths[i][0]);
      else expect(paths[i][0]).toBe(t);
    }
    expect(new Set(topicOfBlob.values()).size).toBe(blobs);
    expect(paths[8][0]).toBe(paths[0][0]);
  });

  it('numbers items by similarity to the centroid, ties by document index', () => {
    // Mean direction ∝ (1, 1): doc 2 is on it, docs 0 and 1 tie at cos 45°.
    const s = Math.SQRT1_2;
    const data = Float32Array.from([1, 0, 0, 1, s, s]);
    expect(buildSemanticDocIds(data, 3, 2, { topics: 1, branching: 2, leafSize: 3, seed: 0 })).toEqual([
      [0, 1],
      [0, 2],
      [0, 0],
    ]);
  });

  it('clamps topics to n and handles tiny inputs', () => {
    expect(buildSemanticDocIds(new Float32Array(0), 0, 4, small)).toEqual([]);
    expect(buildSemanticDocIds(Float32Array.from([1, 0]), 1, 2, small)).toEqual([[0, 0]]);
    const paths = buildSemanticDocIds(randomUnit(3, 2, 1), 3, 2, { ...small, topics: 10 });
    expect(paths.map((p) => p[0]).sort()).toEqual([0, 1, 2]);
    expect(paths.map((p) => p.length)).toEqual([2, 2, 2]);
  });

  it('rejects invalid options', () => {
    const data = randomUnit(10, 2, 1);
    const bad: Partial<DocIdOptions>[] = [
      { topics: 0 },
      { topics: 1.5 },
      { branching: 1 },
      { leafSize: 0 },
      { seed: 0.5 },
      { iterations: -1 },
    ];
    for (const b of bad) expect(() => buildSemanticDocIds(data, 10, 2, { ...small, ...b })).toThrow(BadInputError);
    expect(() => buildSemanticDocIds(data, 9, 2, small)).toThrow(BadInputError);
    expect(() => buildSemanticDocIds(data, 10, 0, small)).toThrow(BadInputError);
  });
});

describe('formatDocId / parseDocId', () => {
  it('round-trips', () => {
    expect(formatDocId([2, 57, 3])).toBe('2-57-3');
    expect(parseDocId('2-57-3')).toEqual([2, 57, 3]);
    expect(parseDocId('0')).toEqual([0]);
    expect(parseDocId(formatDocId([0, 2147483647]))).toEqual([0, 2147483647]);
  });

  it.each(['', '-', '1-', '-1', '1--2', '01', '1-02', '1-a', ' 1', '1 ', '1.5', '+1', '2147483648'])(
    'rejects malformed %j',
    (s) => {
      expect(() => parseDocId(s)).toThrow(BadInputError);
    },
  );

  it('rejects unformattable paths', () => {
    for (const p of [[], [-1], [1.5], [2 ** 31]]) expect(() => formatDocId(p)).toThrow(BadInputError);
  });
});

describe('assignTopicsToShards', () => {
  it('places largest topics first onto the lightest shard', () => {
    // 5→s0, 4→s1, 3(t2)→s1 (4), 3(t3)→s0 (5), 2→s1 (7), 1→s0 (8): loads 9 and 9.
    expect(assignTopicsToShards([5, 4, 3, 3, 2, 1], 2)).toEqual([
      [0, 3, 5],
      [1, 2, 4],
    ]);
  });

  it('balances random sizes and assigns every topic once', () => {
    const r = mulberry32(5);
    const sizes = Array.from({ length: 64 }, () => Math.floor(r() * 1000));
    const shards = assignTopicsToShards(sizes, 5);
    expect(shards.flat().sort((a, b) => a - b)).toEqual(sizes.map((_, t) => t));
    for (const list of shards) expect(list).toEqual([...list].sort((a, b) => a - b));
    const loads = shards.map((list) => list.reduce((acc, t) => acc + sizes[t], 0));
    // Greedy LPT: the spread never exceeds the largest single topic.
    expect(Math.max(...loads) - Math.min(...loads)).toBeLessThanOrEqual(Math.max(...sizes));
  });

  it('leaves extra shards empty and rejects bad input', () => {
    expect(assignTopicsToShards([3, 1], 3)).toEqual([[0], [1], []]);
    expect(() => assignTopicsToShards([1, 2], 0)).toThrow(BadInputError);
    expect(() => assignTopicsToShards([1, -2], 2)).toThrow(BadInputError);
    expect(() => assignTopicsToShards([1, Number.NaN], 2)).toThrow(BadInputError);
  });
});
