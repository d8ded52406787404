import { z } from 'zod';
import { IndexConfigSchema } from '../config.ts';
import { FEATURIZER_VERSION } from '../text/featurizer.ts';
import { StoredObjectSchema } from '../bus/protocol.ts';

/**
 * The cluster's source of truth, kept in a JetStream key-value bucket:
 *   index          what every process needs to featurize and decode the same way (config, topic count)
 *   gating         the gating model's current and previous version
 *   shard.<id>     a shard's topics and its current and previous model version
 * The models themselves (and each shard's documents and queries) are objects in a
 * JetStream object store, named by the records and checked against their sha256.
 */
export const REGISTRY_BUCKET = 'dsi_registry';
export const MODELS_BUCKET = 'dsi_models';
/** Bumped when a record's meaning changes; a process refuses a registry of another format. */
export const REGISTRY_FORMAT = 1;

export const RegistryKeys = {
  index: 'index',
  gating: 'gating',
  shard: (id: string) => `shard.${id}`,
  shards: 'shard.*',
  shardOf: (key: string): string | undefined => (key.startsWith('shard.') ? key.slice('shard.'.length) : undefined),
} as const;

/** A model object, named by the records and checked against its sha256. */
export const ObjectRefSchema = StoredObjectSchema;
export type ObjectRef = z.infer<typeof ObjectRefSchema>;

export const IndexRecordSchema = z.object({
  format: z.literal(REGISTRY_FORMAT),
  /**
   * FEATURIZER_VERSION of the build that trained the models (records written before it was
   * kept: 1). A process that featurizes otherwise refuses the record: its queries would not
   * read the way the models learnt.
   */
  featurizer: z
    .number()
    .int()
    .min(1)
    .default(1)
    .refine((v): boolean => v === FEATURIZER_VERSION, (v) => ({ message: `models trained with featurizer version ${v}, this build featurizes with version ${FEATURIZER_VERSION}: publish an index rebuilt with it` })),
  config: IndexConfigSchema,
  /** Topic ids in use are 0 … topics-1; a new shard's topics continue after them. */
  topics: z.number().int().min(1),
  corpus: z.object({ documents: z.number().int().min(0), sha256: z.string() }),
  created_at: z.string(),
});
export type IndexRecord = z.infer<typeof IndexRecordSchema>;

export const GatingVersionSchema = z.object({
  version: z.number().int().min(1),
  model: ObjectRefSchema,
  published_at: z.string(),
  note: z.string(),
});
export type GatingVersion = z.infer<typeof GatingVersionSchema>;

export const GatingRecordSchema = z.object({ current: GatingVersionSchema, previous: GatingVersionSchema.nullable() });
export type GatingRecord = z.infer<typeof GatingRecordSchema>;

/** The quality figures every shard reports (written at training time, shown by status and /v1/shards). */
export const ShardFiguresSchema = z.object({
  collision_rate: z.number(),
  'index_recall@1': z.number(),
  'hits@10': z.number().nullable(),
});
export type ShardFigures = z.infer<typeof ShardFiguresSchema>;

export const ShardVersionSchema = z.object({
  version: z.number().int().min(1),
  docs: z.number().int().min(0),
  /** The expert's files (model, weights, trie, report). */
  model: ObjectRefSchema,
  /** The shard's documents and queries (what it can be retrained and checked from). */
  data: ObjectRefSchema,
  figures: ShardFiguresSchema,
  published_at: z.string(),
  /** How this version came to be: "published from …", "retrained (continue, 1 epoch)", "rolled back". */
  note: z.string(),
});
export type ShardVersion = z.infer<typeof ShardVersionSchema>;

export const ShardRecordSchema = z.object({
  id: z.string().regex(/^[a-z0-9-]+$/),
  topics: z.array(z.number().int().min(0)).min(1),
  current: ShardVersionSchema,
  previous: ShardVersionSchema.nullable(),
  /** When a model other than the first was last published for the shard (retrain or rollback). */
  retrained_at: z.string().nullable(),
});
export type ShardRecord = z.infer<typeof ShardRecordSchema>;
