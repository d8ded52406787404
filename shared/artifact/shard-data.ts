import { z } from 'zod';
import { DocRecordSchema } from './index-artifact.ts';

/**
 * What a shard was trained from, kept beside its model so that the shard can be retrained,
 * grown and checked on its own, far from the collection it was built from: its documents
 * (with their DocIDs) and the queries that point at them, split into those it trained on
 * and those it is checked on (never trained on).
 */
export const QueryPairSchema = z.object({ query: z.string(), doc: z.string() });
export type QueryPair = z.infer<typeof QueryPairSchema>;

export const ShardDataSchema = z.object({
  docs: z.array(DocRecordSchema),
  queries: z.object({ train: z.array(QueryPairSchema), heldout: z.array(QueryPairSchema) }),
});
export type ShardData = z.infer<typeof ShardDataSchema>;

/** Where a shard's queries live in an index folder (optional: indexes built before it have none). */
export const SHARD_QUERIES_FILE = 'queries.json';

export function topicOfDocId(docid: string): number {
  return Number.parseInt(docid, 10);
}
