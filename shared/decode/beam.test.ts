import { describe, expect, it } from 'vitest';
import { BadInputError } from '../errors.ts';
import { DocIdTrie } from '../docids/trie.ts';
import { mulberry32 } from '../util/random.ts';
import { constrainedBeamSearch, type BeamHit, type ChildScorer } from './beam.ts';

// Hand-made trie (node ids by breadth-first numbering):
//   0 root
//   1 "0"                 2 "1"
//   3 "0-0" doc0  4 "0-1" doc1   5 "1-0"   6 "1-1" doc4
//   7 "1-0-0" doc2  8 "1-0-1" doc3
const paths = [[0, 0], [0, 1], [1, 0, 0], [1, 0, 1], [1, 1]];
const trie = DocIdTrie.fromPaths(paths);

/** Scorer from child probabilities per node; records which nodes were scored. */
function probScorer(probs: Record<number, number[]>, calls: number[] = []): ChildScorer {
  return (node) => {
    calls.push(node);
    return Float32Array.from(probs[node], Math.log);
  };
}

// P(doc2) = .4·.9·.95 = .342 beats P(doc0) = P(doc1) = .6·.5 = .30, P(doc4) = .4·.1 = .04,
// P(doc3) = .4·.9·.05 = .018 — but greedy takes topic 0 (.6) and never sees doc2.
const probs = { 0: [0.6, 0.4], 1: [0.5, 0.5], 2: [0.9, 0.1], 5: [0.95, 0.05] };

function docs(hits: BeamHit[]): number[] {
  return hits.map((h) => h.doc);
}

describe('constrainedBeamSearch', () => {
  it('with beam width 1 (greedy) misses the best document', () => {
    const hits = constrainedBeamSearch(trie, [{ node: 0, logp: 0 }], probScorer(probs), { beamWidth: 1, topK: 5 });
    expect(docs(hits)).toEqual([0, 1]);
    expect(hits[0].logp).toBeCloseTo(Math.log(0.3), 6);
  });

  it('with beam width 2 finds it, across branches of different depth', () => {
    const hits = constrainedBeamSearch(trie, [{ node: 0, logp: 0 }], probScorer(probs), { beamWidth: 2, topK: 5 });
    expect(docs(hits)).toEqual([2, 0, 1, 4, 3]); // doc0/doc1 tie at .30: lower index first
    const expected = [0.342, 0.3, 0.3, 0.04, 0.018];
    hits.forEach((h, i) => expect(h.logp).toBeCloseTo(Math.log(expected[i]), 6));
    expect(hits.map((h) => h.leaf)).toEqual([7, 3, 4, 6, 8]);
  });

  it('truncates to topK', () => {
    const hits = constrainedBeamSearch(trie, [{ node: 0, logp: 0 }], probScorer(probs), { beamWidth: 2, topK: 2 });
    expect(docs(hits)).toEqual([2, 0]);
  });

  it('starts from topic nodes with their log-probs', () => {
    const starts = [
      { node: 1, logp: Math.log(0.6) },
      { node: 2, logp: Math.log(0.4) },
    ];
    const hits = constrainedBeamSearch(trie, starts, probScorer(probs), { beamWidth: 2, topK: 3 });
    expect(docs(hits)).toEqual([2, 0, 1]);
    expect(hits[0].logp).toBeCloseTo(Math.log(0.342), 6);
  });

  it('stops expanding prefixes that can no longer beat the k-th hit', () => {
    // doc0 = .6·.9 = .54 is found first; topic 1 (.4) can only fall below it.
    const calls: number[] = [];
    const sharp = { ...probs, 1: [0.9, 0.1] };
    const hits = constrainedBeamSearch(trie, [{ node: 0, logp: 0 }], probScorer(sharp, calls), { beamWidth: 2, topK: 1 });
    expect(docs(hits)).toEqual([0]);
    expect(calls).toEqual([0, 1]);
  });

  it('treats -Infinity children as impossible and a leaf start as a hit', () => {
    const masked = { ...probs, 1: [0, 1] };
    const hits = constrainedBeamSearch(trie, [{ node: 0, logp: 0 }], probScorer(masked), { beamWidth: 4, topK: 5 });
    expect(docs(hits)).toEqual([1, 2, 4, 3]);
    const leaf = constrainedBeamSearch(trie, [{ node: 6, logp: -1 }], probScorer(probs), { beamWidth: 1, topK: 1 });
    expect(leaf).toEqual([{ doc: 4, leaf: 6, logp: -1 }]);
  });

  it('matches exhaustive search with a wide beam and never leaves the trie', () => {
    const r = mulberry32(4);
    const ps: number[][] = [];
    // Variable depth: 3-level paths plus some 2-level ones under their own topics.
    for (let t = 0; t < 6; t++) {
      for (let c = 0; c < 5; c++) {
        if (t % 3 === 0) ps.push([t, c]);
        else for (let i = 0; i < 1 + Math.floor(r() * 6); i++) ps.push([t, c, i * 2]);
      }
    }
    const t = DocIdTrie.fromPaths(ps);
    for (let q = 0; q < 20; q++) {
      const table = new Map<number, Float32Array>();
      const scorer: ChildScorer = (node) => {
        let lp = table.get(node);
        if (!lp) {
          const raw = Array.from({ length: t.childCount[node] }, () => 3 * r());
          const z = Math.log(raw.reduce((a, x) => a + Math.exp(x), 0));
          lp = Float32Array.from(raw, (x) => x - z);
          table.set(node, lp);
        }
        return lp;
      };
      // Exhaustive scores of every document, with the scorer's own float32 log-probs.
      const exact = ps.map((p, doc) => {
        let u = 0;
        let lp = 0;
        for (const c of p) {
          const child = t.childOfLabel(u, c);
          lp += scorer(u)[child - t.firstChild[u]];
          u = child;
        }
        return { doc, lp };
      });
      exact.sort((a, b) => b.lp - a.lp || a.doc - b.doc);

      const wide = constrainedBeamSearch(t, [{ node: 0, logp: 0 }], scorer, { beamWidth: t.size, topK: 7 });
      expect(docs(wide)).toEqual(exact.slice(0, 7).map((e) => e.doc));

      const narrow = constrainedBeamSearch(t, [{ node: 0, logp: 0 }], scorer, { beamWidth: 2, topK: 10 });
      expect(new Set(docs(narrow)).size).toBe(narrow.length);
      for (let i = 0; i < narrow.length; i++) {
        const h = narrow[i];
        expect(t.doc[h.leaf]).toBe(h.doc);
        expect(t.pathOf(h.leaf)).toEqual(ps[h.doc]);
        if (i > 0) expect(narrow[i - 1].logp).toBeGreaterThanOrEqual(h.logp);
      }
    }
  });

  it('rejects invalid arguments', () => {
    const scorer = probScorer(probs);
    const root = [{ node: 0, logp: 0 }];
    expect(() => constrainedBeamSearch(trie, root, scorer, { beamWidth: 0, topK: 1 })).toThrow(BadInputError);
    expect(() => constrainedBeamSearch(trie, root, scorer, { beamWidth: 1, topK: 1.5 })).toThrow(BadInputError);
    expect(() => constrainedBeamSearch(trie, [{ node: 9, logp: 0 }], scorer, { beamWidth: 1, topK: 1 })).toThrow(BadInputError);
    expect(() =>
      constrainedBeamSearch(trie, [root[0], { node: 5, logp: -1 }], scorer, { beamWidth: 1, topK: 1 }),
    ).toThrow(/below/);
    expect(() => constrainedBeamSearch(trie, [root[0], root[0]], scorer, { beamWidth: 1, topK: 1 })).toThrow(BadInputError);
    expect(() => constrainedBeamSearch(trie, root, () => new Float32Array(3), { beamWidth: 1, topK: 1 })).toThrow(
      BadInputError,
    );
  });
});
