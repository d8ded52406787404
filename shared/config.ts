import { z } from 'zod';
import { DEFAULT_FEATURIZER } from './text/featurizer.ts';
import { DEFAULT_VOCABULARY } from './text/vocabulary.ts';
import { DEFAULT_VIEWS } from './model/views.ts';

/** The text tower's pre-training in a new index (defaultIndexConfig). */
const DEFAULT_ENCODER = Object.freeze({ epochs: 1, batchSize: 256, learningRate: 0.05, scale: 20 });

/**
 * What a config without `encoder` means: one written before towers were pre-trained, whose
 * models started from a random projection, i.e. 0 epochs (a retrain from scratch must not
 * look for a pre-trained tower in it). Not a default for new indexes: those get
 * DEFAULT_ENCODER from defaultIndexConfig, like every other setting.
 */
const ENCODER_OF_OLDER_INDEXES = Object.freeze({ ...DEFAULT_ENCODER, epochs: 0 });

/** Semantic candidates a shard ranks per query (on Debian dev, 1 to every leaf of the clusters gave the same Hits@1 within 0.001: the semantic half mostly re-ranks; see cluster/bench/experiments.md). */
const SEMANTIC_CANDIDATES = 16;

/**
 * Features the gating model has rows for at most (those in the most documents): the router
 * holds its table, dim × 4 bytes per feature (268 MB at 2^19 and dim 128), so the router's
 * memory stays bounded however large the collection grows. Routing asks for topics, which
 * frequent words tell apart; the rarest features (one package's name) are the experts'.
 * Debian's 60K documents have 395K features: under it, unchanged.
 */
const GATING_MAX_FEATURES = 2 ** 19;

/**
 * Everything that shapes an index, validated once and stored in its manifest so that an
 * index can be rebuilt, and every process that loads it decodes the way it was trained.
 * The schema's defaults say what an older manifest without a field meant; the defaults of
 * a new index are defaultIndexConfig's.
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
    vocabulary: z.object({
      minUnigramDf: z.number().int().min(1),
      minBigramDf: z.number().int().min(1),
      minExtraCount: z.number().int().min(1),
      // Indexes built before the bound had none: their vocabularies are well under it.
      maxFeatures: z.number().int().min(1).default(DEFAULT_VOCABULARY.maxFeatures),
    }),
    views: z.object({
      leadTokens: z.number().int().min(0),
      spans: z.number().int().min(0),
      spanTokens: z.number().int().min(1),
      queryRepeats: z.number().int().min(0),
    }),
    /** Contrastive pre-training of the text tower every model starts from (epochs 0: models start from a random projection). */
    encoder: z.object({ epochs: z.number().int().min(0), batchSize: z.number().int().min(2), learningRate: z.number().positive(), scale: z.number().positive() }).default(ENCODER_OF_OLDER_INDEXES),
    expert: z.object({
      epochs: z.number().int().min(0),
      batchSize: z.number().int().min(1),
      learningRate: z.number().positive(),
      encoderLearningRate: z.number().positive(),
      denseLearningRate: z.number().positive(),
      reanchor: z.boolean().default(false),
      levelTemperatures: z.array(z.number().positive()).default([]),
      /** Hard negatives per training query, from the lexical teacher's top list (0: none). */
      negatives: z.number().int().min(0).max(256).default(0),
    }),
    gating: z.object({ epochs: z.number().int().min(0), batchSize: z.number().int().min(1), learningRate: z.number().positive(), encoderLearningRate: z.number().positive(), denseLearningRate: z.number().positive(), reanchor: z.boolean().default(false), topicPower: z.number().positive().max(1).default(1), topicWeight: z.number().min(0).max(1).default(0), maxFeatures: z.number().int().min(1).default(GATING_MAX_FEATURES) }),
    routing: z.object({ threshold: z.number().gt(0).max(1), maxFanout: z.number().int().min(1).max(64), lexicalTopics: z.number().int().min(0).max(64).default(0) }),
    decode: z.object({ beamWidth: z.number().int().min(1).max(1024) }),
    /** How many candidates an expert ranks: the lexical pass's best, and every leaf of the semantic half's most likely clusters. */
    ranking: z.object({
      lexicalCandidates: z.number().int().min(0).max(10_000),
      clusters: z.number().int().min(1).max(1024),
      /** Leaves of those clusters ranked with the lexical candidates: the most likely by the DocID's own decoding. */
      semanticCandidates: z.number().int().min(1).max(100_000).default(SEMANTIC_CANDIDATES),
    }),
    /** The query head's listwise training (the lexical half's query side). */
    lexical: z.object({ epochs: z.number().int().min(0), learningRate: z.number().positive(), candidates: z.number().int().min(2), minPairCount: z.number().int().min(1), maxTranslations: z.number().int().min(0), decay: z.number().min(0) }),
    /** Synthetic queries written for every document and trained on like users' queries (0 per document: none); kept when the lexical half ranks their document within maxRank. */
    synthetic: z.object({ perDocument: z.number().int().min(0).max(16), maxRank: z.number().int().min(1) }).default({ perDocument: 0, maxRank: 10 }),
    /** Queries set aside from training to fit the fusion on: the relevant documents of this many training queries (or synthetic ones, without training queries). */
    calibration: z.object({ queries: z.number().int().min(0), fraction: z.number().min(0).max(0.5) }),
    /** Split whose queries train the retrieval task; null: documents alone (an index built without training queries). */
    trainSplit: z.string().min(1).nullable(),
    /** Split used for the quality report written at index time. */
    reportSplit: z.string().min(1),
  })
  .strict();
export type IndexConfig = z.infer<typeof IndexConfigSchema>;

/**
 * Defaults sized from the collection: about 4,000 documents per topic (fewer, larger
 * topics are easier to route to), at least two topics per shard, and leaves of up to 64
 * siblings (the widest softmax an expert computes). The settings were chosen by the
 * sweeps in cluster/bench/experiments.md, which gives the commands that rerun them.
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
    encoder: { ...DEFAULT_ENCODER },
    expert: { epochs: 6, batchSize: 256, learningRate: 0.001, encoderLearningRate: 0.05, denseLearningRate: 0.001, reanchor: true, levelTemperatures: [1, 2, 1], negatives: 0 },
    gating: { epochs: 4, batchSize: 512, learningRate: 0.01, encoderLearningRate: 0.05, denseLearningRate: 0.001, reanchor: true, topicPower: 0.5, topicWeight: 0.5, maxFeatures: GATING_MAX_FEATURES },
    routing: { threshold: 0.99, maxFanout: 6, lexicalTopics: 2 },
    decode: { beamWidth: 16 },
    ranking: { lexicalCandidates: 50, clusters: 4, semanticCandidates: SEMANTIC_CANDIDATES },
    lexical: { epochs: 2, learningRate: 0.05, candidates: 32, minPairCount: 3, maxTranslations: 8, decay: 0.001 },
    synthetic: { perDocument: 0, maxRank: 10 },
    calibration: { queries: 2000, fraction: 0.1 },
    trainSplit: 'train',
    reportSplit: 'dev',
  };
}

/** Topics for a number of documents at about 4,000 documents per topic (see defaultIndexConfig); 0 for under 2,000. */
export function topicsFor(documents: number): number {
  return Math.min(4096, Math.round(documents / 4000));
}
