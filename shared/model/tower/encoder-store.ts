import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import { z } from 'zod';
import { readJsonFile } from '../../artifact/json-file.ts';
import { readTensorFile, requireArray, writeTensorFile, type NamedArray, type TypedArray } from '../../artifact/tensor-file.ts';
import { Vocabulary } from '../../text/vocabulary.ts';
import { SparseTable } from '../sparse-table.ts';
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

/**
 * A text tower on its own (the pre-trained one models of a build start from), as a folder
 * with tower.json (shape and array specs) and tower.bin: what one training process hands
 * to the others.
 */
const TOWER_FILES = { spec: 'tower.json', weights: 'tower.bin' } as const;

const TowerFileSchema = z.object({
  dim: z.number().int().positive(),
  documents: z.number().int().min(0),
  weights: z.array(z.object({ name: z.string(), dtype: z.enum(['float32', 'int32', 'uint32']), shape: z.array(z.number().int()) })),
});

export async function saveTower(dir: string, encoder: EncoderWeights): Promise<void> {
  await mkdir(dir, { recursive: true });
  const weights = await writeTensorFile(join(dir, TOWER_FILES.weights), encoderArrays(encoder));
  const file: z.infer<typeof TowerFileSchema> = { dim: encoder.table.dim, documents: encoder.vocabulary.documents, weights };
  await writeFile(join(dir, TOWER_FILES.spec), JSON.stringify(file));
}

export async function loadTower(dir: string): Promise<EncoderWeights> {
  const file = await readJsonFile(join(dir, TOWER_FILES.spec), TowerFileSchema);
  const path = join(dir, TOWER_FILES.weights);
  return encoderFromArrays(await readTensorFile(path, file.weights), file.dim, file.documents, path);
}
