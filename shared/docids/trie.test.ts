import { describe, expect, it } from 'vitest';
import { BadInputError } from '../errors.ts';
import { mulberry32, shuffleInPlace } from '../util/random.ts';
import { DocIdTrie } from './trie.ts';

// Hand-numbered example (breadth-first, children by label):
//   0 root
//   1 "0"        2 "1"
//   3 "0-1" d3   4 "0-2"      5 "1-0" d0   6 "1-1" d4
//   7 "0-2-0" d2 8 "0-2-1" d1
const paths = [[1, 0], [0, 2, 1], [0, 2, 0], [0, 1], [1, 1]];

function randomPaths(seed: number, n: number): number[][] {
  // Variable depth: every internal node gets 1–4 children, some of them leaves.
  const r = mulberry32(seed);
  const out: number[][] = [];
  const grow = (prefix: number[]): void => {
    if (out.length >= n) return;
    const kids = 1 + Math.floor(r() * 4);
    const labels = new Set<number>();
    while (labels.size < kids) labels.add(Math.floor(r() * 10));
    for (const l of labels) {
      const p = [...prefix, l];
      if (p.length >= 4 || r() < 0.35) out.push(p);
      else grow(p);
    }
  };
  while (out.length < n) grow([out.length + 100]);
  return out;
}

function arrays(t: DocIdTrie): number[][] {
  return [t.parent, t.firstChild, t.childCount, t.label, t.depth, t.doc].map((a) => Array.from(a));
}

describe('DocIdTrie', () => {
  it('numbers nodes breadth-first with children sorted by label', () => {
    const t = DocIdTrie.fromPaths(paths);
    expect(t.size).toBe(9);
    expect(Array.from(t.parent)).toEqual([-1, 0, 0, 1, 1, 2, 2, 4, 4]);
    expect(Array.from(t.label)).toEqual([-1, 0, 1, 1, 2, 0, 1, 0, 1]);
    expect(Array.from(t.depth)).toEqual([0, 1, 1, 2, 2, 2, 2, 3, 3]);
    expect(Array.from(t.firstChild)).toEqual([1, 3, 5, -1, 7, -1, -1, -1, -1]);
    expect(Array.from(t.childCount)).toEqual([2, 2, 2, 0, 2, 0, 0, 0, 0]);
    expect(Array.from(t.doc)).toEqual([-1, -1, -1, 3, -1, 0, 4, 2, 1]);
    expect(paths.map((_, d) => t.leafOfDoc(d))).toEqual([5, 8, 7, 3, 6]);
    expect(t.maxChildren()).toBe(2);
    expect(t.levels()).toBe(3);
    expect(t.docCount).toBe(5);
  });

  it('keeps children contiguous, sorted and consistent on a larger variable-depth trie', () => {
    const ps = randomPaths(1, 300);
    const t = DocIdTrie.fromPaths(ps);
    let expectedNext = 1;
    for (let u = 0; u < t.size; u++) {
      if (u > 0) expect(t.depth[u]).toBeGreaterThanOrEqual(t.depth[u - 1]);
      if (t.childCount[u] === 0) {
        expect(t.firstChild[u]).toBe(-1);
        expect(t.doc[u] >= 0 || u === 0).toBe(true);
        continue;
      }
      expect(t.doc[u]).toBe(-1);
      // Breadth-first: each parent's block starts right where the previous one ended.
      expect(t.firstChild[u]).toBe(expectedNext);
      expectedNext += t.childCount[u];
      for (let c = t.firstChild[u]; c < t.firstChild[u] + t.childCount[u]; c++) {
        expect(t.parent[c]).toBe(u);
        expect(t.depth[c]).toBe(t.depth[u] + 1);
        if (c > t.firstChild[u]) expect(t.label[c]).toBeGreaterThan(t.label[c - 1]);
      }
    }
    expect(expectedNext).toBe(t.size);
    ps.forEach((p, d) => {
      expect(t.pathOf(t.leafOfDoc(d))).toEqual(p);
      expect(t.nodeOfPath(p)).toBe(t.leafOfDoc(d));
      expect(t.doc[t.leafOfDoc(d)]).toBe(d);
    });
  });

  it('numbers nodes by the set of paths alone; order only moves `doc`', () => {
    const ps = randomPaths(2, 200);
    const perm = Array.from(ps, (_, i) => i);
    shuffleInPlace(perm, mulberry32(9));
    const a = DocIdTrie.fromPaths(ps);
    const b = DocIdTrie.fromPaths(perm.map((i) => ps[i]));
    expect(arrays(b).slice(0, 5)).toEqual(arrays(a).slice(0, 5));
    perm.forEach((orig, j) => expect(b.leafOfDoc(j)).toBe(a.leafOfDoc(orig)));
  });

  it('round-trips through toJSON / fromJSON', () => {
    const t = DocIdTrie.fromPaths(randomPaths(3, 150));
    const json = JSON.parse(JSON.stringify(t.toJSON())) as { paths: number[][] };
    const back = DocIdTrie.fromJSON(json);
    expect(arrays(back)).toEqual(arrays(t));
    expect(back.toJSON()).toEqual(t.toJSON());
    expect(DocIdTrie.fromPaths(paths).toJSON()).toEqual({ paths });
  });

  it('looks up nodes by path and label', () => {
    const t = DocIdTrie.fromPaths(paths);
    expect(t.nodeOfPath([0, 2, 1])).toBe(8);
    expect(t.nodeOfPath([0, 2])).toBe(4); // partial path: the internal node
    expect(t.nodeOfPath([])).toBe(0);
    expect(t.nodeOfPath([0, 3])).toBe(-1);
    expect(t.nodeOfPath([1, 0, 0])).toBe(-1); // below a leaf
    expect(t.pathOf(4)).toEqual([0, 2]);
    expect(t.pathOf(0)).toEqual([]);
    expect(t.childOfLabel(0, 1)).toBe(2);
    expect(t.childOfLabel(4, 0)).toBe(7);
    expect(t.childOfLabel(4, 2)).toBe(-1);
    expect(t.childOfLabel(4, -1)).toBe(-1);
    expect(t.childOfLabel(3, 0)).toBe(-1); // a leaf has no children
  });

  it('handles an empty set of paths', () => {
    const t = DocIdTrie.fromPaths([]);
    expect(t.size).toBe(1);
    expect(t.levels()).toBe(0);
    expect(t.maxChildren()).toBe(0);
    expect(t.nodeOfPath([0])).toBe(-1);
    expect(DocIdTrie.fromJSON(t.toJSON()).size).toBe(1);
  });

  it('rejects duplicates, prefixes and malformed paths', () => {
    expect(() => DocIdTrie.fromPaths([[1, 2], [0], [1, 2]])).toThrow(/duplicate DocID 1-2/);
    expect(() => DocIdTrie.fromPaths([[1], [1, 2]])).toThrow(/prefix/);
    expect(() => DocIdTrie.fromPaths([[1, 2, 3], [1, 2]])).toThrow(/prefix/);
    expect(() => DocIdTrie.fromPaths([[1], [1]])).toThrow(BadInputError);
    for (const bad of [[[]], [[1, -1]], [[1.5]], [[2 ** 31]], [null]] as unknown as number[][][]) {
      expect(() => DocIdTrie.fromPaths(bad)).toThrow(BadInputError);
    }
    expect(() => DocIdTrie.fromJSON({} as { paths: number[][] })).toThrow(BadInputError);
    const t = DocIdTrie.fromPaths(paths);
    expect(() => t.pathOf(9)).toThrow(BadInputError);
    expect(() => t.leafOfDoc(5)).toThrow(BadInputError);
  });
});
