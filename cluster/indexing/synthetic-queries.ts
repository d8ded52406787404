import type { BeirDoc } from '../../shared/beir/reader.ts';
import type { QueryPair } from '../../shared/artifact/shard-data.ts';
import type { IndexConfig } from '../../shared/config.ts';
import { SparsePass } from '../../shared/model/lexical/sparse-pass.ts';
import { Field, queryWords, termOf } from '../../shared/model/lexical/terms.ts';
import { documentWords, generateQueries, type DocumentWord } from '../../shared/model/synthetic/query-generator.ts';
import { trainGenerator } from '../../shared/model/synthetic/train-generator.ts';
import type { LexicalHalf } from './lexical-half.ts';

export interface SyntheticReport {
  generated: number;
  kept: number;
  seconds: number;
}

/**
 * A synthetic query for every document (the retrieval task then covers documents no user
 * ever queried): written by the bag-of-words generator learnt from the training pairs
 * (the default generator without any), and kept only when the index's own lexical half
 * finds its document among the top `synthetic.maxRank` of the whole collection, so a
 * query too vague to lead anywhere teaches nothing (as Doc2Query−− drops the generated
 * queries least like their document). Deterministic for the seed.
 */
export function syntheticQueries(
  docs: readonly BeirDoc[],
  trainPairs: readonly QueryPair[],
  docIndex: ReadonlyMap<string, number>,
  lexical: LexicalHalf,
  config: Readonly<Pick<IndexConfig, 'synthetic' | 'seed'>>,
  skip: ReadonlySet<string>,
): { pairs: QueryPair[]; report: SyntheticReport } {
  const started = performance.now();
  if (config.synthetic.perDocument === 0) return { pairs: [], report: { generated: 0, kept: 0, seconds: 0 } };
  const stats = lexical.head.stats;
  const idfOf = (word: string) => stats.idf(termOf(Field.text, word));
  const wordsOf = new Map<number, DocumentWord[]>();
  const words = (d: number) => {
    let w = wordsOf.get(d);
    if (!w) wordsOf.set(d, (w = documentWords(docs[d]!.title, docs[d]!.text, idfOf)));
    return w;
  };
  const generator = trainGenerator(trainPairs.flatMap((p) => {
    const d = docIndex.get(p.doc);
    return d === undefined ? [] : [{ query: p.query, doc: { title: docs[d]!.title, words: words(d) } }];
  }));
  wordsOf.clear();
  const pass = SparsePass.withHead(lexical.collection, lexical.head);
  const pairs: QueryPair[] = [];
  let generated = 0;
  for (let d = 0; d < docs.length; d++) {
    const doc = docs[d]!;
    if (skip.has(doc.id)) continue;
    for (const query of generateQueries(generator, { title: doc.title, words: documentWords(doc.title, doc.text, idfOf) }, config.seed, d, config.synthetic.perDocument)) {
      generated++;
      if (pass.run(lexical.head.queryTerms(queryWords(query)), config.synthetic.maxRank).some((h) => h.id === d)) pairs.push({ query, doc: doc.id });
    }
  }
  return { pairs, report: { generated, kept: pairs.length, seconds: (performance.now() - started) / 1000 } };
}
