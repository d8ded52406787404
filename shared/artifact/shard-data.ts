import { stat } from 'node:fs/promises';
import { join } from 'node:path';
import { z } from 'zod';
import { parseDocId } from '../docids/build.ts';
import { DocRecordSchema, readDocRecords, SHARD_FILES, type DocRecord } from './index-artifact.ts';
import { readJsonFile } from './json-file.ts';
import type { ShardEntry } from './manifest.ts';

/**
 * What a shard was trained from, kept beside its model so that the shard can be retrained,
 * grown and checked on its own, far from the collection it was built from: its documents
 * (with their DocIDs) and the queries that point at them, split into those it trained on
 * and those it is checked on (never trained on).
 */
export const QueryPairSchema = z.object({ query: z.string(), doc: z.string() });
export type QueryPair = z.infer<typeof QueryPairSchema>;

export const ShardQueriesSchema = z.object({ train: z.array(QueryPairSchema), heldout: z.array(QueryPairSchema) });
export type ShardQueries = z.infer<typeof ShardQueriesSchema>;

export const ShardDataSchema = z.object({
  docs: z.array(DocRecordSchema),
  queries: ShardQueriesSchema,
});
export type ShardData = z.infer<typeof ShardDataSchema>;

/** A shard's queries; none when the folder predates queries.json (a damaged file is still refused). */
export async function readShardQueries(shardDir: string): Promise<ShardQueries> {
  const path = join(shardDir, SHARD_FILES.queries);
  const exists = await stat(path).then(
    () => true,
    (e: NodeJS.ErrnoException) => {
      if (e.code === 'ENOENT') return false;
      throw e;
    },
  );
  return exists ? readJsonFile(path, ShardQueriesSchema) : { train: [], heldout: [] };
}

/**
 * A shard's data from a local index: the documents of docs.jsonl whose DocID starts with one
 * of the shard's topics, and its queries.json. Pass `records` (the index's docs.jsonl, read
 * once) when reading several shards of one index.
 */
export async function readShardData(indexDir: string, shard: Pick<ShardEntry, 'topics' | 'dir'>, records?: readonly DocRecord[]): Promise<ShardData> {
  const topics = new Set(shard.topics);
  const all = records ?? (await readDocRecords(indexDir));
  const docs = all.filter((d) => topics.has(parseDocId(d.docid)[0]!));
  return { docs, queries: await readShardQueries(join(indexDir, shard.dir)) };
}
