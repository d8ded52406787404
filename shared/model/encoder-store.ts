import * as tf from '@tensorflow/tfjs-core';
import { requireArray, type NamedArray, type TypedArray } from '../artifact/tensor-file.ts';
import { Vocabulary } from '../text/vocabulary.ts';
import { SparseTable } from './sparse-table.ts';
import type { EncoderWeights } from './encoder.ts';

/** The encoder's arrays, under fixed names, for a model's weights file. */
export function encoderArrays(encoder: EncoderWeights): NamedArray[] {
  const { vocabulary, table } = encoder;
  return [
    { name: 'vocabulary/ids', dtype: 'uint32', shape: [vocabulary.size], data: vocabulary.ids },
    { name: 'vocabulary/idf', dtype: 'float32', shape: [vocabulary.size], data: vocabulary.idf },
    { name: 'encoder/embeddings', dtype: 'float32', shape: [table.rows, table.dim], data: table.values },
    { name: 'encoder/mix', dtype: 'float32', shape: [table.dim, table.dim], data: encoder.mix.dataSync() as Float32Array },
  ];
}

export function encoderFromArrays(arrays: Map<string, TypedArray>, dim: number, documents: number, path: string): EncoderWeights {
  const ids = requireArray(arrays, 'vocabulary/ids', Uint32Array, path);
  const idf = requireArray(arrays, 'vocabulary/idf', Float32Array, path);
  const embeddings = requireArray(arrays, 'encoder/embeddings', Float32Array, path);
  const mix = requireArray(arrays, 'encoder/mix', Float32Array, path);
  return {
    vocabulary: new Vocabulary(ids, idf, documents),
    table: new SparseTable(ids.length, dim, embeddings),
    // In a tidy: the variable copies the tensor it starts from, which would otherwise stay allocated.
    mix: tf.tidy(() => tf.variable(tf.tensor2d(mix, [dim, dim]), false)) as tf.Variable<tf.Rank.R2>,
  };
}
