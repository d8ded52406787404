import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { z } from 'zod';
import { readTensorFile, requireArray, writeTensorFile } from '../../artifact/tensor-file.ts';
import { readJsonFile } from '../../artifact/json-file.ts';
import { encoderArrays, encoderFromArrays } from '../tower/encoder-store.ts';
import { GatingModel } from './gating-model.ts';

export const GATING_FILES = { model: 'model.json', weights: 'weights.bin' } as const;

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
  const labels = requireArray(arrays, 'topics/labels', Int32Array, weightsPath);
  const topics = requireArray(arrays, 'topics/embeddings', Float32Array, weightsPath);
  const scale = requireArray(arrays, 'scale', Float32Array, weightsPath)[0]!;
  const topicPower = requireArray(arrays, 'topicPower', Float32Array, weightsPath)[0]!;
  return new GatingModel(encoder, labels, topics, scale, topicPower);
}
