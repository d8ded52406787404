import { loadCorpus, loadQueries, loadSplit } from '../../shared/beir/reader.ts';
import { readJsonFile } from '../../shared/artifact/json-file.ts';
import { SHARD_FILES, shardDirOf } from '../../shared/artifact/index-artifact.ts';
import type { Manifest } from '../../shared/artifact/manifest.ts';
import { LatencyRecorder, RankingMetrics } from '../../shared/eval/metrics.ts';
import { Bm25Baseline } from '../bm25.ts';
import { ShardHitsTally } from './shard-hits.ts';
import type { LocalIndex } from '../local-index.ts';
import { join } from 'node:path';
import { z } from 'zod';

export interface SystemFigures {
  'hits@1': number;
  'hits@10': number;
  'mrr@10': number;
  p50_ms: number;
  p99_ms: number;
}

export interface EvalReport {
  queries: number;
  split: string;
  dsi: SystemFigures;
  bm25: SystemFigures | null;
  routing: { hits: number; mean_fanout: number };
  shards: { id: string; topics: number[]; docs: number; collision_rate: number; 'index_recall@1': number; 'hits@10': number }[];
}

const ShardReportSchema = z.object({ collision_rate: z.number(), 'index_recall@1': z.number() }).passthrough();

/**
 * Runs a split's queries through the engine in process, one at a time as a user would
 * send them, and through a BM25 index of the same corpus, timing both the same way.
 */
export async function evaluate(options: {
  index: LocalIndex;
  manifest: Manifest;
  indexDir: string;
  corpusDir: string;
  split: string;
  limit?: number;
  bm25: boolean;
}): Promise<EvalReport> {
  const { index, manifest } = options;
  const { docs, docIndex } = await loadCorpus(options.corpusDir);
  const queries = await loadQueries(options.corpusDir);
  const qrels = [...(await loadSplit(options.corpusDir, options.split, queries, docIndex))].slice(0, options.limit);

  const topicOfShardDoc = new Map<string, number>();
  for (const expert of index.experts.values()) expert.docIds.forEach((id, i) => topicOfShardDoc.set(id, expert.model.trie.pathOf(expert.model.trie.leafOfDoc(i))[0]!));

  const dsi = new RankingMetrics();
  const dsiLatency = new LatencyRecorder();
  const perShard = new ShardHitsTally(index);
  let routedRight = 0;
  let fanout = 0;
  // Warm-up: the first calls pay for lazy initialisation (JIT, unit-row caches), not for search.
  for (const [queryId] of qrels.slice(0, 20)) await index.search(queries.get(queryId)!, 10);
  for (const [queryId, relevant] of qrels) {
    const text = queries.get(queryId)!;
    const t = performance.now();
    const result = await index.search(text, 10);
    dsiLatency.record(performance.now() - t);
    const ranked = result.hits.map((h) => h.id);
    dsi.add(ranked, relevant);
    const routedTopics = new Set(result.routed.map((r) => r.topic));
    fanout += routedTopics.size;
    if ([...relevant].some((id) => routedTopics.has(topicOfShardDoc.get(id)!))) routedRight++;
    perShard.add(relevant, new Set(ranked));
  }

  let bm25: SystemFigures | null = null;
  if (options.bm25) {
    const baseline = Bm25Baseline.build(docs);
    const metrics = new RankingMetrics();
    const latency = new LatencyRecorder();
    for (const [queryId] of qrels.slice(0, 20)) baseline.search(queries.get(queryId)!, 10);
    for (const [queryId, relevant] of qrels) {
      const t = performance.now();
      const ranked = baseline.search(queries.get(queryId)!, 10);
      latency.record(performance.now() - t);
      metrics.add(ranked, relevant);
    }
    bm25 = figures(metrics, latency);
  }

  const shardHits = perShard.result().byShard;
  const shards = [];
  for (const entry of manifest.shards) {
    const report = await readJsonFile(join(options.indexDir, shardDirOf(entry.id), SHARD_FILES.report), ShardReportSchema);
    const s = shardHits.get(entry.id);
    shards.push({
      id: entry.id,
      topics: entry.topics,
      docs: entry.docs,
      collision_rate: round(report.collision_rate),
      'index_recall@1': round(report['index_recall@1']),
      'hits@10': round(s?.hits10 ?? 0),
    });
  }
  return {
    queries: qrels.length,
    split: options.split,
    dsi: figures(dsi, dsiLatency),
    bm25,
    routing: { hits: round(qrels.length ? routedRight / qrels.length : 0), mean_fanout: round(qrels.length ? fanout / qrels.length : 0) },
    shards,
  };
}

function figures(metrics: RankingMetrics, latency: LatencyRecorder): SystemFigures {
  const m = metrics.summary();
  const l = latency.summary();
  return { 'hits@1': round(m['hits@1']), 'hits@10': round(m['hits@10']), 'mrr@10': round(m['mrr@10']), p50_ms: round(l.p50_ms), p99_ms: round(l.p99_ms) };
}

function round(x: number): number {
  return Math.round(x * 10000) / 10000;
}
