import { listSplits, loadQueries, loadSplit, type BeirDoc } from '../../shared/beir/reader.ts';
import type { LocalIndex } from '../local-index.ts';

export interface ShardHits {
  byShard: Map<string, { queries: number; hits10: number }>;
}

/**
 * Hits@10 attributed to the shard that holds each query's relevant document (a query
 * with relevant documents in several shards counts once for each of them).
 */
export class ShardHitsTally {
  readonly #shardOfDoc = new Map<string, string>();
  readonly #tally = new Map<string, { queries: number; found: number }>();

  constructor(index: LocalIndex) {
    for (const [shard, expert] of index.experts) for (const id of expert.docIds) this.#shardOfDoc.set(id, shard);
  }

  add(relevant: ReadonlySet<string>, top10: ReadonlySet<string>): void {
    const shards = new Set([...relevant].map((id) => this.#shardOfDoc.get(id)!));
    for (const shard of shards) {
      const t = this.#tally.get(shard) ?? { queries: 0, found: 0 };
      t.queries++;
      if ([...relevant].some((id) => this.#shardOfDoc.get(id) === shard && top10.has(id))) t.found++;
      this.#tally.set(shard, t);
    }
  }

  result(): ShardHits {
    const byShard = new Map<string, { queries: number; hits10: number }>();
    for (const [shard, t] of this.#tally) byShard.set(shard, { queries: t.queries, hits10: t.queries > 0 ? t.found / t.queries : 0 });
    return { byShard };
  }
}

/** Shard Hits@10 of the whole search over a split's queries; null when the collection has no such split. */
export async function evaluateShardHits(index: LocalIndex, dir: string, split: string, docs: readonly BeirDoc[]): Promise<ShardHits | null> {
  if (!(await listSplits(dir)).includes(split)) return null;
  const docIndex = new Map(docs.map((d, i) => [d.id, i]));
  const queries = await loadQueries(dir);
  const qrels = await loadSplit(dir, split, queries, docIndex);
  const tally = new ShardHitsTally(index);
  for (const [queryId, relevant] of qrels) tally.add(relevant, new Set((await index.search(queries.get(queryId)!, 10)).hits.map((h) => h.id)));
  return tally.result();
}
