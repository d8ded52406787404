import { z } from 'zod';
import { DEFAULT_FEATURIZER } from './text/featurizer.ts';
import { DEFAULT_VOCABULARY } from './text/vocabulary.ts';
import { DEFAULT_VIEWS } from './model/views.ts';

/**
 * Everything that shapes an index, validated once and stored in its manifest so that an
 * index can be rebuilt, and every process that loads it decodes the way it was trained.
 */
export const IndexConfigSchema = z
  .object({
    seed: z.number().int(),
    shards: z.number().int().min(1).max(1024),
    dim: z.number().int().min(8).max(1024),
    docids: z.object({
      topics: z.number().int().min(1),
      branching: z.number().int().min(2).max(1024),
      leafSize: z.number().int().min(2).max(1024),
    }),
    featurizer: z.object({ bigrams: z.boolean(), maxTokens: z.number().int().min(1) }),
    vocabulary: z.object({ minUnigramDf: z.number().int().min(1), minBigramDf: z.number().int().min(1), minExtraCount: z.number().int().min(1) }),
    views: z.object({
      leadTokens: z.number().int().min(0),
      spans: z.number().int().min(0),
      spanTokens: z.number().int().min(1),
      queryRepeats: z.number().int().min(0),
    }),
    expert: z.object({ epochs: z.number().int().min(0), batchSize: z.number().int().min(1), learningRate: z.number().positive(), encoderLearningRate: z.number().positive(), denseLearningRate: z.number().positive() }),
    gating: z.object({ epochs: z.number().int().min(0), batchSize: z.number().int().min(1), learningRate: z.number().positive(), encoderLearningRate: z.number().positive(), denseLearningRate: z.number().positive() }),
    routing: z.object({ threshold: z.number().gt(0).max(1), maxFanout: z.number().int().min(1).max(64) }),
    decode: z.object({ beamWidth: z.number().int().min(1).max(1024) }),
    /** Split whose queries train the retrieval task (absent: indexing task only). */
    trainSplit: z.string().min(1),
    /** Split used for the quality report written at index time. */
    reportSplit: z.string().min(1),
  })
  .strict();
export type IndexConfig = z.infer<typeof IndexConfigSchema>;

/**
 * Defaults sized from the collection: about 4,000 documents per topic (fewer, larger
 * topics are easier to route to), at least two topics per shard, and leaves of up to 64
 * siblings (the widest softmax an expert computes).
 *
 * Learning rates come from sweeps on a 12K-document subset of the Debian collection
 * (dev split): trie-node rows learn slowly (0.001; at 0.01 they overfit the training
 * queries and dev Hits@10 given the right topic fell from 0.75 to 0.47), feature
 * embeddings fast (0.05), because what the text tower learns carries over to documents
 * that were never queried while what a node row learns does not.
 */
export function defaultIndexConfig(documents: number, shards = 4, seed = 1): IndexConfig {
  const topics = Math.max(2 * shards, topicsFor(documents));
  return {
    seed,
    shards,
    dim: 128,
    docids: { topics, branching: 64, leafSize: 64 },
    featurizer: { ...DEFAULT_FEATURIZER },
    vocabulary: { ...DEFAULT_VOCABULARY },
    views: { ...DEFAULT_VIEWS },
    expert: { epochs: 4, batchSize: 256, learningRate: 0.001, encoderLearningRate: 0.05, denseLearningRate: 0.001 },
    gating: { epochs: 3, batchSize: 512, learningRate: 0.01, encoderLearningRate: 0.05, denseLearningRate: 0.001 },
    routing: { threshold: 0.99, maxFanout: 4 },
    decode: { beamWidth: 32 },
    trainSplit: 'train',
    reportSplit: 'dev',
  };
}

/** Topics for a number of documents at about 4,000 documents per topic (see defaultIndexConfig); 0 for under 2,000. */
export function topicsFor(documents: number): number {
  return Math.min(4096, Math.round(documents / 4000));
}
