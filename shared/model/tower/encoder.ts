import * as tf from '@tensorflow/tfjs-core';
import type { EncodedFeatures, Vocabulary } from '../../text/vocabulary.ts';
import { SparseTable } from '../sparse-table.ts';
import { dot } from '../../util/dot.ts';

/**
 * The text tower every model shares in shape (each model owns its own weights):
 *   h0 = Σ_f w_f · E[f]                (embedding bag over the model's vocabulary, tf·idf weights)
 *   h  = normalize(h0 + h0 · W)        (a residual linear map, learnt from queries, that lets
 *                                        query words move toward the words of their documents)
 * E is a SparseTable (see why there); W is a TensorFlow.js variable.
 */
export interface EncoderWeights {
  readonly vocabulary: Vocabulary;
  readonly table: SparseTable;
  readonly mix: tf.Variable<tf.Rank.R2>;
}

/** A batch of encoded texts in compressed-row form, ready for the embedding bag. */
export interface FeatureBatch {
  readonly rows: Int32Array;
  readonly weights: Float32Array;
  readonly offsets: Int32Array;
}

export function packFeatures(items: readonly EncodedFeatures[]): FeatureBatch {
  let total = 0;
  for (const item of items) total += item.rows.length;
  const rows = new Int32Array(total);
  const weights = new Float32Array(total);
  const offsets = new Int32Array(items.length + 1);
  let at = 0;
  items.forEach((item, i) => {
    rows.set(item.rows, at);
    weights.set(item.weights, at);
    at += item.rows.length;
    offsets[i + 1] = at;
  });
  return { rows, weights, offsets };
}

/**
 * A model's text tower over its own vocabulary. Without `start`, every row is drawn at
 * unit variance: with L2-normalised tf·idf weights, h0 starts as a random projection of the
 * document's tf·idf vector, so cosine similarity starts out as lexical similarity. With a
 * pre-trained `start` tower, the features it knows take its rows, and its mix.
 */
export function createEncoderWeights(vocabulary: Vocabulary, dim: number, rand: () => number, start?: EncoderWeights): EncoderWeights {
  if (start && start.table.dim !== dim) throw new Error(`text tower: the start tower has ${start.table.dim} dimensions, the model ${dim}`);
  const table = new SparseTable(vocabulary.size, dim).initNormal(rand, 1);
  if (start) {
    for (let row = 0; row < vocabulary.size; row++) {
      const from = start.vocabulary.rowOf(vocabulary.ids[row]!);
      if (from >= 0) table.row(row).set(start.table.row(from));
    }
  }
  const mix = tf.tidy(() => (start ? tf.variable(start.mix, true) : tf.variable(tf.zeros([dim, dim]), true, undefined, 'float32'))) as tf.Variable<tf.Rank.R2>;
  return { vocabulary, table, mix };
}

/** h0 for a batch, computed outside TensorFlow.js (see SparseTable). */
export function bagOf(weights: EncoderWeights, batch: FeatureBatch): Float32Array {
  const out = new Float32Array((batch.offsets.length - 1) * weights.table.dim);
  weights.table.bag(batch.rows, batch.weights, batch.offsets, out);
  return out;
}

/** normalize(h0 + h0·W): the differentiable part of the tower. */
export function project(h0: tf.Tensor2D, mix: tf.Tensor2D): tf.Tensor2D {
  return l2normalize(tf.add(h0, tf.matMul(h0, mix)));
}

export function l2normalize<T extends tf.Tensor>(x: T): T {
  return tf.tidy(() => tf.div(x, tf.add(tf.sqrt(tf.sum(tf.square(x), -1, true)), 1e-6)) as T);
}

/** Encodes texts for inference: unit vectors, one row of `dim` floats per text, no tensors left behind. */
export function encodeBatch(weights: EncoderWeights, items: readonly EncodedFeatures[]): Float32Array {
  const h0 = bagOf(weights, packFeatures(items));
  let out: Float32Array = new Float32Array(0);
  // Assigned, not returned: tidy would walk a returned typed array element by element.
  tf.tidy(() => {
    out = project(tf.tensor2d(h0, [items.length, weights.table.dim]), weights.mix).dataSync() as Float32Array;
  });
  return out;
}

/**
 * One text's unit vector, normalize(h0 + h0·W), in plain JavaScript: at query time a
 * single dim × dim product costs less than handing it to TensorFlow.js (on wasm, the
 * dispatch alone takes longer). `mixColumns` is W transposed (see columnsOf): each output
 * is then one dot product, about twice as fast here as adding h0's rows of W one by one.
 */
export function encodeOne(weights: EncoderWeights, mixColumns: Float32Array, item: EncodedFeatures): Float32Array {
  const dim = weights.table.dim;
  const h0 = new Float32Array(dim);
  weights.table.bag(item.rows, item.weights, Int32Array.of(0, item.rows.length), h0);
  const h = new Float32Array(dim);
  let norm = 0;
  for (let j = 0; j < dim; j++) {
    const x = h0[j]! + dot(h0, 0, mixColumns, j * dim, dim);
    h[j] = x;
    norm += x * x;
  }
  const scale = 1 / (Math.sqrt(norm) + 1e-6);
  for (let j = 0; j < dim; j++) h[j]! *= scale;
  return h;
}

/** A square row-major matrix's columns, one after another (its transpose): what encodeOne reads. */
export function columnsOf(matrix: Float32Array, dim: number): Float32Array {
  const out = new Float32Array(dim * dim);
  for (let i = 0; i < dim; i++) for (let j = 0; j < dim; j++) out[j * dim + i] = matrix[i * dim + j]!;
  return out;
}
