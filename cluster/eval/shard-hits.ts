import { listSplits, loadQueries, loadSplit, type BeirDoc } from '../../shared/beir/reader.ts';
import type { LocalPipeline } from '../pipeline.ts';

export interface ShardHits {
  byShard: Map<string, { queries: number; hits10: number }>;
}

/**
 * Hits@10 of the whole pipeline over a split's queries, attributed to the shard that holds
 * each query's relevant document (a query with several relevant documents counts once per shard).
 */
export async function evaluateShardHits(pipeline: LocalPipeline, dir: string, split: string, docs: readonly BeirDoc[]): Promise<ShardHits | null> {
  if (!(await listSplits(dir)).includes(split)) return null;
  const docIndex = new Map(docs.map((d, i) => [d.id, i]));
  const queries = await loadQueries(dir);
  const qrels = await loadSplit(dir, split, queries, docIndex);
  const shardOfDoc = new Map<string, string>();
  for (const [shard, expert] of pipeline.experts) for (const id of expert.docIds) shardOfDoc.set(id, shard);
  const tally = new Map<string, { queries: number; found: number }>();
  for (const [queryId, relevant] of qrels) {
    const top = new Set(pipeline.search(queries.get(queryId)!, 10).hits.map((h) => h.id));
    const shards = new Set([...relevant].map((id) => shardOfDoc.get(id)!));
    for (const shard of shards) {
      const t = tally.get(shard) ?? { queries: 0, found: 0 };
      t.queries++;
      if ([...relevant].some((id) => shardOfDoc.get(id) === shard && top.has(id))) t.found++;
      tally.set(shard, t);
    }
  }
  const byShard = new Map<string, { queries: number; hits10: number }>();
  for (const [shard, t] of tally) byShard.set(shard, { queries: t.queries, hits10: t.queries > 0 ? t.found / t.queries : 0 });
  return { byShard };
}
