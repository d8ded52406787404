import { join } from 'node:path';
import { INDEX_LAYOUT, openIndex, readDocRecords } from '../../shared/artifact/index-artifact.ts';
import { readShardData } from '../../shared/artifact/shard-data.ts';
import type { ClusterModels } from './types.ts';

/** The models of a local index (built by `dsi index`) as addShard and retrainShard take them. */
export async function clusterModelsOfIndex(indexDir: string): Promise<ClusterModels> {
  const manifest = await openIndex(indexDir);
  const records = await readDocRecords(indexDir);
  const shards = [];
  for (const entry of manifest.shards) {
    shards.push({ id: entry.id, topics: entry.topics, dir: join(indexDir, entry.dir), data: await readShardData(indexDir, entry, records) });
  }
  return { config: manifest.config, topicCount: manifest.topics, gatingDir: join(indexDir, INDEX_LAYOUT.gating), shards };
}
