import * as tf from '@tensorflow/tfjs-core';
import { l2normalize } from './tower/encoder.ts';

/**
 * Cosine-softmax classification among candidates (h is unit length):
 *   logits = scale · cos(h, candidate) , masked where a candidate is padding,
 *   (or scale · h·candidate when candidates are not normalised: cheaper for wide levels)
 *   loss   = −log softmax(logits)[target]   (rows whose target is −1 add nothing).
 * Shared by the gating model (candidates = all topics) and the experts' trie levels
 * (candidates = the children of the prefix chosen so far).
 */
export function candidateLoss(
  h: tf.Tensor2D,
  candidates: tf.Tensor3D,
  mask: tf.Tensor2D,
  targets: tf.Tensor1D,
  scale: tf.Scalar,
  normalizeCandidates = true,
): tf.Scalar {
  return tf.tidy(() => {
    const [batch, k] = [h.shape[0], candidates.shape[1]];
    // Elementwise product and sum, not a batched matMul: its stock gradient uses
    // transposed matMuls, which are slow on the wasm backend.
    const c = normalizeCandidates ? l2normalize(candidates) : candidates;
    const logits = tf.sum(tf.mul(c, tf.expandDims(h, 1)), 2) as tf.Tensor2D;
    const logp = tf.logSoftmax(tf.add(tf.mul(logits, scale), mask));
    const picked = tf.sum(tf.mul(logp, tf.oneHot(targets, k)), 1);
    return tf.div(tf.neg(tf.sum(picked)), batch) as tf.Scalar;
  });
}

/**
 * The same cosine softmax when every example shares one candidate set (rows [R, d]),
 * as log-probabilities [batch, R]: a matrix product instead of a [batch, R, d] broadcast,
 * which for hundreds of rows would be hundreds of megabytes per step. Transposed
 * explicitly: matMul's transpose flags are slow on the wasm backend.
 */
export function sharedLogProbs(h: tf.Tensor2D, rows: tf.Tensor2D, scale: tf.Scalar, logQ?: tf.Tensor1D): tf.Tensor2D {
  return tf.tidy(() => {
    const logits = tf.mul(tf.matMul(h, tf.transpose(l2normalize(rows))), scale);
    // With `rows` a sample of the candidates (sampleRows), each logit less the log of its row's
    // chance of being drawn: the sampled softmax, whose normaliser estimates the full one's.
    return tf.logSoftmax(logQ ? tf.sub(logits, logQ) : logits) as tf.Tensor2D;
  });
}

/** Mean −log p[target] of log-probabilities [batch, R]. */
export function pickedLoss(logp: tf.Tensor2D, targets: tf.Tensor1D): tf.Scalar {
  return tf.tidy(() => tf.div(tf.neg(tf.sum(tf.mul(logp, tf.oneHot(targets, logp.shape[1])))), logp.shape[0]) as tf.Scalar);
}

/** Up to this many groups the masses come from one product with the [R, G] membership matrix; beyond, from a mask of each example's own group. */
export const MEMBERSHIP_PRODUCT_MAX_GROUPS = 64;

/**
 * Mean −log of the probability mass of each example's group of candidates (e.g. the
 * gating prototypes of one topic): rowGroup [R] is each candidate's group (0 .. groupCount),
 * groups [batch] each example's. With few groups, a matrix product with the [R, G]
 * membership matrix (half the cost of a step for ~1,000 rows on wasm, where per-op costs
 * dominate); with many, it would cost R × G, which grows with the square of the
 * collection, so each example's mass is summed over a [batch, R] mask of its own group.
 */
export function groupLoss(logp: tf.Tensor2D, rowGroup: tf.Tensor1D, groupCount: number, groups: tf.Tensor1D): tf.Scalar {
  return groupCount <= MEMBERSHIP_PRODUCT_MAX_GROUPS ? groupLossByProduct(logp, rowGroup, groupCount, groups) : groupLossByMask(logp, rowGroup, groups);
}

export function groupLossByProduct(logp: tf.Tensor2D, rowGroup: tf.Tensor1D, groupCount: number, groups: tf.Tensor1D): tf.Scalar {
  return tf.tidy(() => {
    const membership = tf.cast(tf.oneHot(rowGroup, groupCount), 'float32') as tf.Tensor2D;
    const mass = tf.log(tf.add(tf.matMul(tf.exp(logp), membership), 1e-12));
    return tf.div(tf.neg(tf.sum(tf.mul(mass, tf.oneHot(groups, groupCount)))), logp.shape[0]) as tf.Scalar;
  });
}

export function groupLossByMask(logp: tf.Tensor2D, rowGroup: tf.Tensor1D, groups: tf.Tensor1D): tf.Scalar {
  return tf.tidy(() => {
    const own = tf.cast(tf.equal(tf.expandDims(rowGroup, 0), tf.expandDims(groups, 1)), 'float32');
    const mass = tf.log(tf.add(tf.sum(tf.mul(tf.exp(logp), own), 1), 1e-12));
    return tf.div(tf.neg(tf.sum(mass)), logp.shape[0]) as tf.Scalar;
  });
}

/** In-place log-softmax of scale · scores over a slice: used by decoders on plain arrays. */
export function logSoftmaxInPlace(values: Float32Array, length = values.length): Float32Array {
  let max = Number.NEGATIVE_INFINITY;
  for (let i = 0; i < length; i++) if (values[i]! > max) max = values[i]!;
  let sum = 0;
  for (let i = 0; i < length; i++) sum += Math.exp(values[i]! - max);
  const log = max + Math.log(sum);
  for (let i = 0; i < length; i++) values[i]! -= log;
  return values;
}

/** Unit-length copy of every row of a row-major matrix (serving uses it so scoring is a dot product). */
export function normalizeRows(values: Float32Array, dim: number): Float32Array {
  const out = new Float32Array(values.length);
  for (let r = 0; r < values.length; r += dim) {
    let n = 0;
    for (let k = 0; k < dim; k++) n += values[r + k]! * values[r + k]!;
    const s = n > 0 ? 1 / Math.sqrt(n) : 0;
    for (let k = 0; k < dim; k++) out[r + k] = values[r + k]! * s;
  }
  return out;
}

