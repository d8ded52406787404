import { describe, expect, it } from 'vitest';
import { mulberry32 } from '../../util/random.ts';
import { fitFusion, type FusionGroup } from './fit-fusion.ts';
import { FUSION_FEATURES, FUSION_SIZE, fusedScore, lexicalOnlyFusion } from './fusion.ts';

const LEXICAL = FUSION_FEATURES.indexOf('lexical');
const LEAF = FUSION_FEATURES.indexOf('leafCosine');

/** Queries whose relevant candidate is the best by 2·lexical + 3·leafCosine, each feature alone being a noisy guide. */
function groups(n: number, seed: number): FusionGroup[] {
  const rand = mulberry32(seed);
  return Array.from({ length: n }, () => {
    const count = 20;
    const features = new Float32Array(count * FUSION_SIZE);
    for (let i = 0; i < features.length; i++) features[i] = rand() * 10 - 5;
    let best = 0;
    let bestScore = -Infinity;
    for (let c = 0; c < count; c++) {
      const s = 2 * features[c * FUSION_SIZE + LEXICAL]! + 3 * features[c * FUSION_SIZE + LEAF]!;
      if (s > bestScore) [best, bestScore] = [c, s];
    }
    const relevant = new Uint8Array(count);
    relevant[best] = 1;
    return { features, relevant };
  });
}

function hits1(fusion: ReturnType<typeof lexicalOnlyFusion>, data: FusionGroup[]): number {
  let hits = 0;
  for (const g of data) {
    let best = 0;
    for (let c = 1; c < g.relevant.length; c++) if (fusedScore(fusion, g.features, c * FUSION_SIZE) > fusedScore(fusion, g.features, best * FUSION_SIZE)) best = c;
    hits += g.relevant[best]!;
  }
  return hits / data.length;
}

describe('fusion', () => {
  it('fits weights that rank held-out queries better than the lexical score alone, in the ratio that generated them', () => {
    const start = lexicalOnlyFusion();
    const fitted = fitFusion(groups(400, 1), start);
    const heldOut = groups(200, 2);
    expect(hits1(fitted, heldOut)).toBeGreaterThan(0.8);
    expect(hits1(start, heldOut)).toBeLessThan(0.6);
    expect(fitted.weights[LEAF]! / fitted.weights[LEXICAL]!).toBeCloseTo(1.5, 0);
  });

  it('is deterministic for a seed, and returns the start when nothing can be learnt', () => {
    const data = groups(50, 3);
    expect(fitFusion(data, lexicalOnlyFusion())).toEqual(fitFusion(data, lexicalOnlyFusion()));
    const start = lexicalOnlyFusion();
    expect(fitFusion([{ features: new Float32Array(FUSION_SIZE), relevant: new Uint8Array(1) }], start)).toBe(start);
  });
});
