import { z } from 'zod';
import { IndexConfigSchema } from '../config.ts';

/** Bumped whenever the artifact layout or a model's meaning changes; older artifacts are refused. */
export const ARTIFACT_FORMAT = 2;
export const MANIFEST_FILE = 'manifest.json';

export const ShardEntrySchema = z.object({
  id: z.string().regex(/^[a-z0-9-]+$/),
  topics: z.array(z.number().int().min(0)),
  docs: z.number().int().min(0),
  dir: z.string(),
});
export type ShardEntry = z.infer<typeof ShardEntrySchema>;

export const ManifestSchema = z.object({
  format: z.literal(ARTIFACT_FORMAT),
  /**
   * FEATURIZER_VERSION of the build that trained the models: text must be featurized the
   * way they learnt it. Manifests written before it was recorded were all version 1.
   */
  featurizer: z.number().int().min(1).default(1),
  createdAt: z.string(),
  config: IndexConfigSchema,
  corpus: z.object({ documents: z.number().int().min(0), sha256: z.string() }),
  topics: z.number().int().min(1),
  shards: z.array(ShardEntrySchema),
  /** sha256 of every file of the artifact, by path relative to the artifact root. */
  files: z.record(z.string(), z.string()),
});
export type Manifest = z.infer<typeof ManifestSchema>;
