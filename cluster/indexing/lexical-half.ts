import type { BeirDoc } from '../../shared/beir/reader.ts';
import type { QueryPair } from '../../shared/artifact/shard-data.ts';
import type { IndexConfig } from '../../shared/config.ts';
import { QueryHead } from '../../shared/model/lexical/query-head.ts';
import { SparsePass } from '../../shared/model/lexical/sparse-pass.ts';
import { CollectionStatistics } from '../../shared/model/lexical/statistics.ts';
import { TermIndex } from '../../shared/model/lexical/term-index.ts';
import { documentTerms, queryWords } from '../../shared/model/lexical/terms.ts';
import { trainQueryHead, type HeadTrainingReport } from '../../shared/model/lexical/train-head.ts';

/** The lexical half of a whole collection, as the build computes it before cutting it into shards. */
export interface LexicalHalf {
  /** Every document's term set, by collection document number. */
  readonly collection: TermIndex;
  readonly head: QueryHead;
  readonly training: HeadTrainingReport;
}

/**
 * The trained head as a teacher: for each query, its `count` best documents of the whole
 * collection other than the relevant ones (collection numbers): the near-duplicates and
 * look-alikes a ranking loss should push below the answer. One list per distinct query.
 */
export function teacherNegatives(lexical: LexicalHalf, pairs: readonly { query: string; doc: number }[], count: number): Map<string, Int32Array> {
  const out = new Map<string, Int32Array>();
  if (count <= 0) return out;
  const relevant = new Map<string, Set<number>>();
  for (const p of pairs) {
    const set = relevant.get(p.query);
    if (set) set.add(p.doc);
    else relevant.set(p.query, new Set([p.doc]));
  }
  const pass = SparsePass.withHead(lexical.collection, lexical.head);
  for (const [query, docs] of relevant) {
    const top = pass.run(lexical.head.queryTerms(queryWords(query)), count + docs.size);
    out.set(query, Int32Array.from(top.filter((h) => !docs.has(h.id)).slice(0, count), (h) => h.id));
  }
  return out;
}

/**
 * Term sets of every document under the collection's statistics, and the query head
 * trained listwise on the training pairs (with none, the head is BM25 under the index's
 * analysis: the start every trained head moves from).
 */
export function buildLexicalHalf(docs: readonly BeirDoc[], docIndex: ReadonlyMap<string, number>, trainPairs: readonly QueryPair[], config: Readonly<IndexConfig>): LexicalHalf {
  const terms = docs.map((d) => documentTerms(d.title, d.text));
  const stats = CollectionStatistics.of(terms);
  const collection = TermIndex.build(terms, stats);
  const pairs = trainPairs.flatMap((p) => {
    const doc = docIndex.get(p.doc);
    return doc === undefined ? [] : [{ words: queryWords(p.query), doc }];
  });
  const { head, report } = trainQueryHead(new QueryHead(stats), collection, pairs, { ...config.lexical, seed: config.seed });
  return { collection, head, training: report };
}
