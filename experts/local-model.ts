import { join } from 'node:path';
import { INDEX_LAYOUT, shardDirOf, streamDocRecords, verifyIndex } from '../shared/artifact/index-artifact.ts';
import type { Manifest } from '../shared/artifact/manifest.ts';
import { loadExpert } from '../shared/model/expert/expert-store.ts';
import { ShardDocuments, type ServedExpert } from '../shared/model/expert/shard-documents.ts';

/**
 * A shard of a local index as its expert serves it: its files and the index's documents
 * checked, its model loaded, and its own documents picked from docs.jsonl as it streams by
 * (the other shards' are read past, never kept).
 */
export async function loadLocalShardModel(indexDir: string, manifest: Manifest, shard: string): Promise<ServedExpert> {
  const shardDir = shardDirOf(shard);
  await verifyIndex(indexDir, manifest, [shardDir, INDEX_LAYOUT.docs]);
  const expert = await loadExpert(join(indexDir, shardDir));
  const docsPath = join(indexDir, INDEX_LAYOUT.docs);
  try {
    return await ShardDocuments.attach(expert, streamDocRecords(docsPath), docsPath);
  } catch (error) {
    expert.model.dispose();
    throw error;
  }
}
