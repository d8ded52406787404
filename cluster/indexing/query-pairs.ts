import { listSplits, loadQueries, loadSplit } from '../../shared/beir/reader.ts';
import type { QueryPair } from '../../shared/artifact/shard-data.ts';
import type { TrainingQuery } from '../../shared/model/examples.ts';
import { featurize, type FeatureBag } from '../../shared/text/featurizer.ts';

/** (query text, document id) pairs of a split, in file order; none when the collection has no such split. */
export async function loadQueryPairs(dir: string, split: string, docIndex: ReadonlyMap<string, number>): Promise<QueryPair[]> {
  if (!(await listSplits(dir)).includes(split)) return [];
  const queries = await loadQueries(dir);
  const qrels = await loadSplit(dir, split, queries, new Map(docIndex));
  const pairs: QueryPair[] = [];
  for (const [queryId, relevant] of qrels) {
    const query = queries.get(queryId)!;
    for (const doc of relevant) pairs.push({ query, doc });
  }
  return pairs;
}

/**
 * Training pairs for a model: each query featurized once (a query relevant to several
 * documents shares its bag), pointing at its document's index in `docIndex`.
 * Pairs whose document is not there are left out.
 */
export function featurizePairs(pairs: readonly QueryPair[], docIndex: ReadonlyMap<string, number>): TrainingQuery[] {
  const bags = new Map<string, FeatureBag>();
  const out: TrainingQuery[] = [];
  for (const p of pairs) {
    const doc = docIndex.get(p.doc);
    if (doc === undefined) continue;
    let bag = bags.get(p.query);
    if (!bag) bags.set(p.query, (bag = featurize(p.query)));
    out.push({ doc, bag });
  }
  return out;
}
