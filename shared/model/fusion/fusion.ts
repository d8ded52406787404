/**
 * How an expert turns a candidate's lexical and semantic evidence into one score: a
 * linear function of a fixed feature vector, with the same weights in every shard (fit
 * once per index, see fit-fusion.ts), so scores from different shards are on one scale
 * and the router's merge is a plain sort.
 */
export const FUSION_FEATURES = [
  /** Lexical score: prior + Σ weight · impact, under the index's query head. */
  'lexical',
  /** Lexical score over the most the query's terms could score (∈ [0, 1] for positive weights): comparable across short and long queries. */
  'lexicalShare',
  /** scale · query · leaf row: the semantic half's score of the document itself. */
  'leaf',
  /** Cosine of the query and the leaf row. */
  'leafCosine',
  /** log P(cluster | topic, query) from the expert's cluster level. */
  'cluster',
  /** log P(topic | query) from the gating model. */
  'topic',
  /** 1 when the lexical pass ranked the document among its own top candidates. */
  'lexicalTop',
] as const;

export type FusionFeature = (typeof FUSION_FEATURES)[number];
export const FUSION_SIZE = FUSION_FEATURES.length;

export interface FusionWeights {
  readonly weights: Float32Array;
  readonly bias: number;
}

/** Before any fit: the lexical score alone (an index built before fusion existed ranks as BM25 with its head). */
export function lexicalOnlyFusion(): FusionWeights {
  const weights = new Float32Array(FUSION_SIZE);
  weights[FUSION_FEATURES.indexOf('lexical')] = 1;
  return { weights, bias: 0 };
}

export function fusedScore(fusion: FusionWeights, features: Float32Array, offset = 0): number {
  let s = fusion.bias;
  const w = fusion.weights;
  for (let i = 0; i < FUSION_SIZE; i++) s += w[i]! * features[offset + i]!;
  return s;
}
