import type { EncodedFeatures } from '../../text/vocabulary.ts';
import type { ExpertModel } from './expert-model.ts';

export interface IndexQuality {
  /** Fraction of documents whose own text decodes top-1 to their own DocID. */
  indexRecallAt1: number;
  /** Fraction of documents whose own text decodes top-1 to a DocID that another document's text also decodes to. */
  collisionRate: number;
}

/**
 * Decodes every document's indexing view with the expert alone (its own topic head
 * chooses the topic), which is what the expert has memorised, free of routing errors.
 */
export function measureIndexQuality(model: ExpertModel, docFeatures: readonly EncodedFeatures[], beamWidth: number): IndexQuality {
  const n = docFeatures.length;
  if (n === 0) return { indexRecallAt1: 0, collisionRate: 0 };
  const predicted = new Int32Array(n).fill(-1);
  const chunk = 1024;
  for (let start = 0; start < n; start += chunk) {
    const batch = docFeatures.slice(start, start + chunk);
    const vectors = model.encode(batch);
    for (let i = 0; i < batch.length; i++) {
      const top = model.search(vectors, i * model.dim, [{ node: 0, logp: 0 }], { beamWidth, topK: 1 })[0];
      predicted[start + i] = top ? top.doc : -1;
    }
  }
  const claims = new Int32Array(n);
  for (const p of predicted) if (p >= 0) claims[p]!++;
  let recalled = 0;
  let colliding = 0;
  for (let doc = 0; doc < n; doc++) {
    if (predicted[doc] === doc) recalled++;
    const p = predicted[doc]!;
    if (p >= 0 && claims[p]! > 1) colliding++;
  }
  return { indexRecallAt1: recalled / n, collisionRate: colliding / n };
}
