import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { z } from 'zod';
import { ArtifactError } from '../../errors.ts';
import { readTensorArrays, readTensorFile, requireArray, writeTensorFile, type TypedArray } from '../../artifact/tensor-file.ts';
import { readJsonFile } from '../../artifact/json-file.ts';
import { encoderArrays, encoderFromArrays } from '../tower/encoder-store.ts';
import { GatingModel } from './gating-model.ts';
import type { QueryHead } from '../lexical/query-head.ts';
import { HEAD_FILES, loadHead } from '../lexical/lexical-store.ts';

/** Files of the gating folder: the gating model's, and the lexical half's query head (lexical-store.ts), which routing loads with it. */
export const GATING_FILES = { model: 'model.json', weights: 'weights.bin', head: HEAD_FILES.spec, headWeights: HEAD_FILES.weights } as const;

const GatingFileSchema = z.object({
  kind: z.literal('gating'),
  dim: z.number().int().positive(),
  vocabularyDocuments: z.number().int().min(0),
  weightsManifest: z.array(z.object({ paths: z.array(z.string()), weights: z.array(z.object({ name: z.string(), dtype: z.enum(['float32', 'int32', 'uint32']), shape: z.array(z.number().int()) })) })),
});

export async function saveGating(dir: string, model: GatingModel): Promise<void> {
  await mkdir(dir, { recursive: true });
  const specs = await writeTensorFile(join(dir, GATING_FILES.weights), [
    ...encoderArrays(model.encoder),
    { name: 'topics/labels', dtype: 'int32', shape: [model.topicLabels.length], data: model.topicLabels },
    { name: 'topics/embeddings', dtype: 'float32', shape: [model.topicLabels.length, model.dim], data: model.topics.dataSync() as Float32Array },
    { name: 'scale', dtype: 'float32', shape: [1], data: model.scale.dataSync() as Float32Array },
    { name: 'topicPower', dtype: 'float32', shape: [1], data: Float32Array.of(model.topicPower) },
  ]);
  const file: z.infer<typeof GatingFileSchema> = {
    kind: 'gating',
    dim: model.dim,
    vocabularyDocuments: model.encoder.vocabulary.documents,
    weightsManifest: [{ paths: [GATING_FILES.weights], weights: specs }],
  };
  await writeFile(join(dir, GATING_FILES.model), JSON.stringify(file));
}

export async function loadGating(dir: string): Promise<GatingModel> {
  const file = await readJsonFile(join(dir, GATING_FILES.model), GatingFileSchema);
  const weightsPath = join(dir, GATING_FILES.weights);
  const arrays = await readTensorFile(weightsPath, file.weightsManifest[0]?.weights ?? []);
  const encoder = encoderFromArrays(arrays, file.dim, file.vocabularyDocuments, weightsPath);
  const own = ownParts(arrays, weightsPath);
  return new GatingModel(encoder, own.topicLabels, own.topics, own.scale, own.topicPower);
}

/** The arrays the gating model adds to its text tower's, as saveGating names them. */
const OWN_ARRAYS = ['topics/labels', 'topics/embeddings', 'scale', 'topicPower'];

function ownParts(arrays: Map<string, TypedArray>, weightsPath: string): Pick<GatingPrototypes, 'topicLabels' | 'topics' | 'scale' | 'topicPower'> {
  return {
    topicLabels: requireArray(arrays, 'topics/labels', Int32Array, weightsPath),
    topics: requireArray(arrays, 'topics/embeddings', Float32Array, weightsPath),
    scale: requireArray(arrays, 'scale', Float32Array, weightsPath)[0]!,
    topicPower: requireArray(arrays, 'topicPower', Float32Array, weightsPath)[0]!,
  };
}

/** A saved gating model's own parts, without its text tower: what growing it starts from. */
export interface GatingPrototypes {
  readonly dim: number;
  /** Topic of each prototype row. */
  readonly topicLabels: Int32Array;
  /** The prototype rows (topicLabels.length × dim). */
  readonly topics: Float32Array;
  readonly scale: number;
  readonly topicPower: number;
  /** Rows of its text tower's table: the features it was trained with. */
  readonly towerRows: number;
}

export function prototypesOf(model: GatingModel): GatingPrototypes {
  return {
    dim: model.dim,
    topicLabels: model.topicLabels,
    topics: model.topics.dataSync() as Float32Array,
    scale: model.scale.dataSync()[0]!,
    topicPower: model.topicPower,
    towerRows: model.encoder.table.rows,
  };
}

/** The prototype rows, scale and topic power of a saved gating model, read without its text tower's table (the bulk of the file). */
export async function loadGatingPrototypes(dir: string): Promise<GatingPrototypes> {
  const file = await readJsonFile(join(dir, GATING_FILES.model), GatingFileSchema);
  const weightsPath = join(dir, GATING_FILES.weights);
  const specs = file.weightsManifest[0]?.weights ?? [];
  const table = specs.find((s) => s.name === 'encoder/embeddings');
  if (!table) throw new ArtifactError(weightsPath, "weights lack 'encoder/embeddings'");
  const arrays = await readTensorArrays(weightsPath, specs, OWN_ARRAYS);
  return { dim: file.dim, ...ownParts(arrays, weightsPath), towerRows: table.shape[0]! };
}

/** What routes a query, saved side by side in the gating folder: the gating model and the lexical half's query head. */
export interface RoutingModels {
  readonly gating: GatingModel;
  readonly head: QueryHead;
}

export async function loadRoutingModels(dir: string): Promise<RoutingModels> {
  return { gating: await loadGating(dir), head: await loadHead(dir) };
}
