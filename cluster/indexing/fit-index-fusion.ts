import { fitFusion, type FusionGroup } from '../../shared/model/fusion/fit-fusion.ts';
import { FUSION_SIZE, lexicalOnlyFusion, type FusionWeights } from '../../shared/model/fusion/fusion.ts';
import { findCandidates } from '../../shared/model/expert/search-expert.ts';
import type { LocalIndex } from '../local-index.ts';
import type { CalibrationQuery } from './calibration.ts';

/**
 * Fits the index's fusion on its calibration queries: each query is routed and its
 * shards' candidates gathered, with their features, exactly as a search would find them,
 * and the weights are fit listwise over all of them together, so one set of weights
 * ranks every shard's candidates on one scale. Starts from the lexical score alone;
 * with no calibration query, that is what it stays.
 */
export function fitIndexFusion(index: LocalIndex, queries: readonly CalibrationQuery[]): { fusion: FusionWeights; groups: number } {
  const groups: FusionGroup[] = [];
  for (const { query, relevant } of queries) {
    const parts: Float32Array[] = [];
    const labels: number[] = [];
    for (const [shard, shardQuery] of index.engine.shardQueries(query, { k: 10 })) {
      const expert = index.experts.get(shard);
      if (!expert) continue;
      const candidates = findCandidates(expert, shardQuery, index.config);
      parts.push(candidates.features);
      for (const d of candidates.docs) labels.push(relevant.has(expert.docIds[d]!) ? 1 : 0);
    }
    const features = new Float32Array(labels.length * FUSION_SIZE);
    let at = 0;
    for (const part of parts) {
      features.set(part, at);
      at += part.length;
    }
    groups.push({ features, relevant: Uint8Array.from(labels) });
  }
  return { fusion: fitFusion(groups, lexicalOnlyFusion(), { epochs: 20, learningRate: 0.05, l2: 1e-4, seed: index.config.seed }), groups: groups.length };
}
