import type { JobResult } from './jobs.ts';

/** report.json of a shard: what it holds and how well it does, measured when it was trained. */
export interface ShardReport {
  id: string;
  topics: number[];
  docs: number;
  collision_rate: number;
  'index_recall@1': number;
  /** Hits@10 over the report split's queries whose relevant document is in this shard; null without that split. */
  'hits@10': number | null;
  report_split: string | null;
  report_queries: number;
  training: { examples: number; seconds: number; examples_per_s: number; losses: number[] };
  built_at: string;
}

/** The report of a shard whose expert was trained by `result`, with its Hits@10 measured elsewhere. */
export function shardReportOf(
  shard: { id: string; topics: number[]; docs: number },
  result: JobResult,
  hits: { split: string | null; queries: number; hits10: number | null },
): ShardReport {
  return {
    id: shard.id,
    topics: shard.topics,
    docs: shard.docs,
    collision_rate: result.quality!.collisionRate,
    'index_recall@1': result.quality!.indexRecallAt1,
    'hits@10': hits.hits10,
    report_split: hits.split,
    report_queries: hits.queries,
    training: trainingSummary(result.training),
    built_at: new Date().toISOString(),
  };
}

export function trainingSummary(training: JobResult['training']): ShardReport['training'] {
  return {
    examples: training.examples,
    seconds: +training.seconds.toFixed(1),
    examples_per_s: Math.round(training.examplesPerSecond),
    losses: training.losses.map((l) => +l.toFixed(4)),
  };
}
