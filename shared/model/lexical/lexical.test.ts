import { describe, expect, it } from 'vitest';
import { QueryHead } from './query-head.ts';
import { SparsePass } from './sparse-pass.ts';
import { BM25_SHAPE, CollectionStatistics, NAME_BOOST } from './statistics.ts';
import { TermIndex } from './term-index.ts';
import { documentTerms, Field, nameParts, queryWords, termOf } from './terms.ts';
import { trainQueryHead, DEFAULT_HEAD_TRAINING } from './train-head.ts';

const DOCS = [
  { title: 'foo', text: 'Foo is a tool to frobnicate widgets quickly.' },
  { title: 'foo-doc', text: 'Foo is a tool to frobnicate widgets quickly. This package contains the documentation.' },
  { title: 'libfoo-dev', text: 'Foo is a tool to frobnicate widgets quickly. This package contains the development headers.' },
  { title: 'bar', text: 'Bar draws charts of widgets.' },
];

function build(docs = DOCS) {
  const terms = docs.map((d) => documentTerms(d.title, d.text));
  const stats = CollectionStatistics.of(terms);
  return { terms, stats, index: TermIndex.build(terms, stats) };
}

describe('lexical terms', () => {
  it('splits names into parts: whole tokens, letter stems and lib-less forms', () => {
    expect(nameParts('libxml2-dev').sort()).toEqual(['dev', 'libxml', 'libxml2', 'xml', 'xml2'].sort());
  });

  it('gives query words their lib-less form, stems them and drops stop words', () => {
    expect(queryWords('Documentation of the libchemps2 libraries')).toEqual(['document', 'libchemps2', 'chemps2', 'libchemp', 'chemp', 'librari']);
  });
});

describe('sparse pass', () => {
  it('scores Σ weight · impact exactly, with BM25 impacts under the collection statistics', () => {
    const { terms, stats, index } = build();
    const head = new QueryHead(stats);
    const pass = SparsePass.withHead(index, head);
    const query = head.queryTerms(queryWords('charts'));
    const hits = pass.run(query, 10);
    // "charts" is in one document, once: idf · (k1 + 1) · 1 / (1 + k1 · (1 − b + b · len / avg)).
    const bar = terms[3]!;
    const avg = stats.averageTextLength;
    const { k1, textB } = BM25_SHAPE;
    const expected = stats.idf(termOf(Field.text, 'chart')) * ((k1 + 1) / (1 + k1 * (1 - textB + (textB * bar.textLength) / avg)));
    expect(hits).toHaveLength(1);
    expect(hits[0]!.id).toBe(3);
    expect(hits[0]!.score).toBeCloseTo(expected, 5);
  });

  it('weighs a name term at NAME_BOOST times its idf before training', () => {
    const { stats } = build();
    const head = new QueryHead(stats);
    const doc = termOf(Field.name, 'doc');
    expect(head.weightOf(doc, Field.name)).toBeCloseTo(stats.idf(doc) * NAME_BOOST, 6);
  });

  it('returns the same top k as an exhaustive pass, and exact scores for documents it did not rank', () => {
    const docs = Array.from({ length: 300 }, (_, i) => ({ title: `pkg${i}`, text: `common words here ${i % 7 === 0 ? 'rare' : 'often'} ${i % 3 === 0 ? 'library' : 'tool'} number${i % 11}` }));
    const { stats, index } = build(docs);
    const head = new QueryHead(stats);
    const pass = SparsePass.withHead(index, head);
    const tool = head.queryTerms(queryWords('tool'));
    for (const text of ['rare library number3', 'common tool', 'often words number7 rare']) {
      const plain = head.queryTerms(queryWords(text));
      // The same query with a term that can only lower a score ("tool", weighed negatively), as a trained head may weigh one.
      const lowered = { ids: Uint32Array.from([...plain.ids, ...tool.ids]), weights: Float32Array.from([...plain.weights, ...Array.from(tool.weights, (w) => -w)]) };
      for (const query of [plain, lowered]) {
        const all = pass.run(query, 1000);
        const exact = new Map(all.map((h) => [h.id, h.score]));
        const top = pass.run(query, 5);
        expect(top.map((h) => h.id)).toEqual(all.slice(0, 5).map((h) => h.id));
        top.forEach((h, i) => expect(h.score).toBeCloseTo(all[i]!.score, 5));
        // After a pass that stopped early, any document's score is still exact: those it let go are computed from their terms.
        for (let d = 0; d < docs.length; d++) expect(pass.scoreOf(d)).toBeCloseTo(exact.get(d) ?? pass.priors[d]!, 5);
      }
    }
  });

  it('lets go of documents that cannot reach the top k once the strong term is walked, and still scores them exactly', () => {
    // "yak" decides the top 5: in a short description it weighs more than in a long one, by more than "often" (every other document) can add.
    const filler = Array.from({ length: 40 }, (_, i) => `filler${i}`).join(' ');
    const docs = Array.from({ length: 200 }, (_, i) => ({ title: `pkg${i}`, text: `${i < 20 ? 'yak' : 'common'} ${i >= 5 && i < 20 ? filler : ''} ${i % 2 ? 'often' : 'seldom'}` }));
    const { stats, index } = build(docs);
    const head = new QueryHead(stats);
    const pass = SparsePass.withHead(index, head);
    const query = head.queryTerms(queryWords('yak often'));
    const exact = new Map(pass.run(query, 1000).map((h) => [h.id, h.score]));
    const top = pass.run(query, 5);
    expect(top.map((h) => h.id).sort((a, b) => a - b)).toEqual([0, 1, 2, 3, 4]);
    for (let d = 0; d < docs.length; d++) expect(pass.scoreOf(d)).toBeCloseTo(exact.get(d) ?? pass.priors[d]!, 5);
  });
});

describe('evidenceOf', () => {
  it('gives the exact score and how many of the name terms the query has, for documents the pass touched and for the others', () => {
    const docs = Array.from({ length: 120 }, (_, i) => ({ title: i % 3 === 0 ? `foo${i % 5 === 0 ? '-doc' : ''}` : `libbar${i}-dev`, text: `words ${i % 4 === 0 ? 'foo' : 'bar'} tool${i % 9}` }));
    const { stats, index } = build(docs);
    const head = new QueryHead(stats);
    const pass = SparsePass.withHead(index, head);
    const query = head.queryTerms(queryWords('foo documentation tool3'));
    const weightOf = new Map(Array.from(query.ids, (id, i) => [id, query.weights[i]!]));
    const exact = new Map(pass.run(query, 1000).map((h) => [h.id, h.score]));
    pass.run(query, 3);
    const names = { matched: 0, total: 0 };
    for (let d = 0; d < docs.length; d++) {
      expect(pass.evidenceOf(d, names)).toBeCloseTo(exact.get(d) ?? pass.priors[d]!, 5);
      let matched = 0;
      let total = 0;
      for (let p = index.docOffsets[d]!; p < index.docOffsets[d + 1]!; p++) {
        if (index.docFields[p] !== Field.name) continue;
        total++;
        if ((weightOf.get(index.terms[index.docTerms[p]!]!) ?? 0) > 0) matched++;
      }
      expect(names).toEqual({ matched, total });
    }
  });
});

describe('query head training', () => {
  it('learns that "documentation" asks for the -doc package and "headers" for -dev, which BM25 cannot tell apart', () => {
    // Training pairs over families like the test's: foo / foo-doc / libfoo-dev, for many foos.
    const docs: { title: string; text: string }[] = [];
    const pairs: { words: string[]; doc: number }[] = [];
    const families = ['alpha', 'beta', 'gamma', 'delta', 'kappa', 'sigma', 'omega', 'zeta', 'theta', 'lambda', 'epsilon', 'iota'];
    for (const f of families) {
      const text = `${f} is a program that manages ${f} files and ${f} settings.`;
      const at = docs.length;
      docs.push({ title: f, text }, { title: `${f}-doc`, text }, { title: `lib${f}-dev`, text });
      pairs.push({ words: queryWords(`${f} program`), doc: at }, { words: queryWords(`${f} documentation`), doc: at + 1 }, { words: queryWords(`${f} headers`), doc: at + 2 });
    }
    const { stats, index } = build(docs);
    const start = new QueryHead(stats);
    const { head } = trainQueryHead(start, index, pairs.slice(3), { ...DEFAULT_HEAD_TRAINING, epochs: 30, minPairCount: 2 });
    const rank1 = (h: QueryHead, text: string) => docs[SparsePass.withHead(index, h).run(h.queryTerms(queryWords(text)), 1)[0]!.id]!.title;
    // The first family was held out of training.
    expect(rank1(head, 'alpha documentation')).toBe('alpha-doc');
    expect(rank1(head, 'alpha headers')).toBe('libalpha-dev');
    expect(rank1(head, 'alpha program')).toBe('alpha');
    expect([rank1(start, 'alpha documentation'), rank1(start, 'alpha headers')]).not.toEqual(['alpha-doc', 'libalpha-dev']);
  });
});
