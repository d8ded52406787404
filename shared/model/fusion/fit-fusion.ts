import { mulberry32, shuffleInPlace } from '../../util/random.ts';
import { FUSION_SIZE, type FusionWeights } from './fusion.ts';

/** One calibration query: its candidates' feature vectors (row-major, FUSION_SIZE each) and which are relevant. */
export interface FusionGroup {
  readonly features: Float32Array;
  readonly relevant: Uint8Array;
}

export interface FusionFitOptions {
  epochs: number;
  learningRate: number;
  /** L2 pull of the (standardised) weights toward the start. */
  l2: number;
  seed: number;
}

export const DEFAULT_FUSION_FIT: Readonly<FusionFitOptions> = Object.freeze({ epochs: 20, learningRate: 0.05, l2: 1e-4, seed: 1 });

/**
 * Fits the fusion weights listwise: for each calibration query, a softmax over its
 * candidates' fused scores, and the loss is −log of the mass on its relevant ones.
 * Features are standardised for the fit and the scaling folded back into the weights,
 * so the result applies to raw features. Starts from `start` and is deterministic for
 * a seed. Groups with no relevant candidate teach nothing and are skipped.
 */
export function fitFusion(groups: readonly FusionGroup[], start: FusionWeights, options: Readonly<FusionFitOptions> = DEFAULT_FUSION_FIT): FusionWeights {
  const usable = groups.filter((g) => g.relevant.some((r) => r === 1) && g.relevant.length > 1);
  if (usable.length === 0) return start;
  const { mean, scale } = standardisation(usable);
  // The start, expressed on standardised features.
  const w = Float64Array.from(start.weights, (v, i) => v * scale[i]!);
  const w0 = w.slice();
  const squares = new Float64Array(FUSION_SIZE).fill(1e-8);
  const order = Int32Array.from(usable.keys());
  const rand = mulberry32(options.seed);
  const gradient = new Float64Array(FUSION_SIZE);
  for (let epoch = 0; epoch < options.epochs; epoch++) {
    shuffleInPlace(order, rand);
    for (const g of order) {
      const { features, relevant } = usable[g]!;
      const n = relevant.length;
      const scores = new Float64Array(n);
      let max = -Infinity;
      for (let c = 0; c < n; c++) {
        let s = 0;
        for (let f = 0; f < FUSION_SIZE; f++) s += w[f]! * ((features[c * FUSION_SIZE + f]! - mean[f]!) / scale[f]!);
        scores[c] = s;
        if (s > max) max = s;
      }
      let z = 0;
      let zRelevant = 0;
      for (let c = 0; c < n; c++) {
        scores[c] = Math.exp(scores[c]! - max);
        z += scores[c]!;
        if (relevant[c]) zRelevant += scores[c]!;
      }
      gradient.fill(0);
      for (let c = 0; c < n; c++) {
        // d(−log Σ_rel p) / d s_c = p_c − [c relevant] · p_c / Σ_rel p
        const residual = scores[c]! / z - (relevant[c] ? scores[c]! / zRelevant : 0);
        if (residual === 0) continue;
        for (let f = 0; f < FUSION_SIZE; f++) gradient[f]! += residual * ((features[c * FUSION_SIZE + f]! - mean[f]!) / scale[f]!);
      }
      for (let f = 0; f < FUSION_SIZE; f++) {
        const gf = gradient[f]! + options.l2 * (w[f]! - w0[f]!);
        squares[f]! += gf * gf;
        w[f]! -= (options.learningRate * gf) / Math.sqrt(squares[f]!);
      }
    }
  }
  const weights = Float32Array.from(w, (v, f) => v / scale[f]!);
  let bias = 0;
  for (let f = 0; f < FUSION_SIZE; f++) bias -= weights[f]! * mean[f]!;
  return { weights, bias };
}

function standardisation(groups: readonly FusionGroup[]): { mean: Float64Array; scale: Float64Array } {
  const mean = new Float64Array(FUSION_SIZE);
  const square = new Float64Array(FUSION_SIZE);
  let n = 0;
  for (const g of groups) {
    for (let c = 0; c < g.relevant.length; c++) {
      n++;
      for (let f = 0; f < FUSION_SIZE; f++) {
        const v = g.features[c * FUSION_SIZE + f]!;
        mean[f]! += v;
        square[f]! += v * v;
      }
    }
  }
  const scale = new Float64Array(FUSION_SIZE);
  for (let f = 0; f < FUSION_SIZE; f++) {
    mean[f]! /= n;
    const variance = square[f]! / n - mean[f]! ** 2;
    // A constant feature keeps its weight: scaling by 1 leaves it untouched.
    scale[f] = variance > 1e-12 ? Math.sqrt(variance) : 1;
  }
  return { mean, scale };
}
