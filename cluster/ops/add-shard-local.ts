import { join } from 'node:path';
import { openIndex, readDocRecords, shardDirOf, verifyIndex } from '../../shared/artifact/index-artifact.ts';
import { IndexWriter } from '../../shared/artifact/index-writer.ts';
import type { Logger } from '../../shared/log.ts';
import type { Progress } from '../../shared/progress.ts';
import type { JobRunner } from '../indexing/job-runner.ts';
import { addShard, type AddShardGating, type AddShardResult } from './add-shard.ts';
import { checkNewShardId } from './added-data.ts';
import { loadAddedCollection } from './added-collection.ts';
import { clusterModelsOfIndex } from './cluster-models.ts';

export interface AddShardToIndexInput {
  indexDir: string;
  corpusDir: string;
  shardId: string | undefined;
  gating?: AddShardGating;
  /** Scratch folder for the training output. */
  work: string;
  log: Logger;
  progress: Progress;
  runner: JobRunner;
}

/**
 * add-shard on a local index folder: the new shard and the gating model that routes to it are
 * trained as for a running cluster, then the grown index is written with the index writer
 * (old shards copied unchanged, the new shard and gating model from the addition,
 * docs.jsonl extended) and swapped in, so a failure leaves the old index as it was.
 */
export async function addShardToIndex(input: AddShardToIndexInput): Promise<AddShardResult> {
  const manifest = await openIndex(input.indexDir);
  await verifyIndex(input.indexDir, manifest);
  const current = await clusterModelsOfIndex(input.indexDir);
  const ids = manifest.shards.map((s) => s.id);
  const shardId = input.shardId ?? nextShardId(ids);
  checkNewShardId(shardId, ids);
  const added = await loadAddedCollection(input.corpusDir, { train: manifest.config.trainSplit, heldout: manifest.config.reportSplit });
  const result = await addShard({ current, added, shardId, gating: input.gating, outDir: join(input.work, 'new'), log: input.log, progress: input.progress, runner: input.runner });

  const writer = await IndexWriter.stage(input.indexDir);
  try {
    for (const entry of manifest.shards) await writer.copyShard(entry.id, join(input.indexDir, shardDirOf(entry.id)));
    await writer.copyShard(shardId, result.shardDir);
    await writer.copyGating(result.gatingDir);
    await writer.writeDocuments([...(await readDocRecords(input.indexDir)), ...result.data.docs]);
    await writer.seal({
      createdAt: new Date().toISOString(),
      config: { ...manifest.config, routing: { ...manifest.config.routing, maxFanout: result.fanout.to } },
      corpus: { documents: manifest.corpus.documents + result.shard.docs, sha256: manifest.corpus.sha256 },
      topics: result.topicCount,
      shards: [...manifest.shards, { ...result.shard, dir: shardDirOf(shardId) }],
    });
  } catch (error) {
    await writer.discard();
    throw error;
  }
  input.log.info({ index: input.indexDir, shard: shardId }, 'index grown by one shard');
  return result;
}

export function nextShardId(existing: readonly string[]): string {
  let n = existing.length;
  while (existing.includes(`s${n}`)) n++;
  return `s${n}`;
}
