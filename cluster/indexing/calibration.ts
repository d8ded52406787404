import type { BeirDoc } from '../../shared/beir/reader.ts';
import type { QueryPair } from '../../shared/artifact/shard-data.ts';
import type { IndexConfig } from '../../shared/config.ts';
import type { CollectionStatistics } from '../../shared/model/lexical/statistics.ts';
import { Field, termOf } from '../../shared/model/lexical/terms.ts';
import { documentWords, generateQueries, type GeneratorModel } from '../../shared/model/synthetic/query-generator.ts';
import { mulberry32, shuffleInPlace } from '../../shared/util/random.ts';

/** A query the fusion is fit on, and the documents that answer it. */
export interface CalibrationQuery {
  readonly query: string;
  readonly relevant: ReadonlySet<string>;
}

/**
 * Sets aside the training queries of a random share of the documents that have any: the
 * models never see them, so those documents are, like a user's test documents, indexed
 * from their text alone, and their queries tell how to weigh lexical against semantic
 * evidence for such documents. At most `calibration.queries` queries and
 * `calibration.fraction` of the pairs. Deterministic for the seed.
 */
export function splitCalibration(pairs: readonly QueryPair[], config: Readonly<Pick<IndexConfig, 'calibration' | 'seed'>>): { train: QueryPair[]; calibration: CalibrationQuery[] } {
  const wanted = Math.min(config.calibration.queries, Math.floor(pairs.length * config.calibration.fraction));
  if (wanted === 0) return { train: [...pairs], calibration: [] };
  const byDoc = new Map<string, QueryPair[]>();
  for (const p of pairs) {
    const list = byDoc.get(p.doc);
    if (list) list.push(p);
    else byDoc.set(p.doc, [p]);
  }
  const docs = [...byDoc.keys()].sort();
  const order = Int32Array.from(docs.keys());
  shuffleInPlace(order, mulberry32(config.seed * 7919 + 17));
  const held = new Set<string>();
  let count = 0;
  for (const i of order) {
    if (count >= wanted) break;
    held.add(docs[i]!);
    count += byDoc.get(docs[i]!)!.length;
  }
  const relevant = new Map<string, Set<string>>();
  for (const p of pairs) {
    if (!held.has(p.doc)) continue;
    const set = relevant.get(p.query);
    if (set) set.add(p.doc);
    else relevant.set(p.query, new Set([p.doc]));
  }
  return {
    // A query also relevant to a kept document stays out of training too: it would teach the held document's answer.
    train: pairs.filter((p) => !relevant.has(p.query)),
    calibration: [...relevant].map(([query, docs]) => ({ query, relevant: docs })),
  };
}

/**
 * Calibration queries for an index with no training queries: one synthetic query for
 * each of `count` random documents, from the generator the index was built with.
 */
export function syntheticCalibration(docs: readonly BeirDoc[], stats: CollectionStatistics, generator: GeneratorModel, count: number, seed: number): CalibrationQuery[] {
  const idfOf = (word: string) => stats.idf(termOf(Field.text, word));
  const order = Int32Array.from(docs.keys());
  shuffleInPlace(order, mulberry32(seed * 104729 + 3));
  const out: CalibrationQuery[] = [];
  for (const d of order.subarray(0, Math.min(count, docs.length))) {
    const doc = docs[d]!;
    const [query] = generateQueries(generator, { title: doc.title, words: documentWords(doc.title, doc.text, idfOf) }, seed + 1, d, 1);
    if (query) out.push({ query, relevant: new Set([doc.id]) });
  }
  return out;
}
