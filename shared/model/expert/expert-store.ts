import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { z } from 'zod';
import { ArtifactError } from '../../errors.ts';
import { readJsonFile } from '../../artifact/json-file.ts';
import { SHARD_FILES } from '../../artifact/index-artifact.ts';
import { readTensorFile, requireArray, writeTensorFile } from '../../artifact/tensor-file.ts';
import { DocIdTrie } from '../../docids/trie.ts';
import { encoderArrays, encoderFromArrays } from '../tower/encoder-store.ts';
import { SparseTable } from '../sparse-table.ts';
import { ExpertModel } from './expert-model.ts';
import type { FusionWeights } from '../fusion/fusion.ts';
import { LEXICON_FILES, loadLexicon } from '../lexical/lexical-store.ts';
import type { ShardLexicon } from '../lexical/shard-lexicon.ts';
import type { ShardTitles } from './shard-documents.ts';

const TensorSpecSchema = z.object({ name: z.string(), dtype: z.enum(['float32', 'int32', 'uint32']), shape: z.array(z.number().int().min(0)) });
const ExpertFileSchema = z.object({
  kind: z.literal('expert'),
  shard: z.string(),
  dim: z.number().int().positive(),
  vocabularyDocuments: z.number().int().min(0),
  weightsManifest: z.array(z.object({ paths: z.array(z.string()), weights: z.array(TensorSpecSchema) })),
});
const TrieFileSchema = z.object({ docs: z.array(z.string()), paths: z.array(z.array(z.number().int().min(0))) });

/** A trained expert with the corpus ids of its documents (in trie doc order). */
export interface TrainedExpert {
  readonly shard: string;
  readonly model: ExpertModel;
  readonly docIds: readonly string[];
}

/** An expert as it serves: its model, its shard's lexical half, and the fusion that ranks their candidates. */
export interface LoadedExpert extends TrainedExpert {
  readonly lexicon: ShardLexicon;
  readonly fusion: FusionWeights;
  /**
   * Its documents' titles, when it was loaded with them (shard-documents.ts): its hits are
   * titled from them. Builds and checks, which only score, load none.
   */
  readonly documents?: ShardTitles;
}

export async function saveExpert(dir: string, expert: TrainedExpert): Promise<void> {
  await mkdir(dir, { recursive: true });
  const { model } = expert;
  const specs = await writeTensorFile(join(dir, SHARD_FILES.weights), [
    ...encoderArrays(model.encoder),
    { name: 'nodes', dtype: 'float32', shape: [model.nodes.rows, model.nodes.dim], data: model.nodes.values },
    { name: 'scale', dtype: 'float32', shape: [1], data: model.scale.dataSync() as Float32Array },
  ]);
  const file: z.infer<typeof ExpertFileSchema> = {
    kind: 'expert',
    shard: expert.shard,
    dim: model.dim,
    vocabularyDocuments: model.encoder.vocabulary.documents,
    weightsManifest: [{ paths: [SHARD_FILES.weights], weights: specs }],
  };
  await writeFile(join(dir, SHARD_FILES.model), JSON.stringify(file));
  await writeFile(join(dir, SHARD_FILES.trie), JSON.stringify({ docs: expert.docIds, paths: model.trie.toJSON().paths }));
}

export async function loadExpert(dir: string): Promise<LoadedExpert> {
  const modelPath = join(dir, SHARD_FILES.model);
  const file = await readJsonFile(modelPath, ExpertFileSchema);
  const triePath = join(dir, SHARD_FILES.trie);
  const trieFile = await readJsonFile(triePath, TrieFileSchema);
  if (trieFile.docs.length !== trieFile.paths.length) throw new ArtifactError(triePath, 'docs and paths differ in length');
  const weightsPath = join(dir, SHARD_FILES.weights);
  const arrays = await readTensorFile(weightsPath, file.weightsManifest[0]?.weights ?? []);
  const trie = DocIdTrie.fromJSON({ paths: trieFile.paths });
  const nodes = requireArray(arrays, 'nodes', Float32Array, weightsPath);
  if (nodes.length !== trie.size * file.dim) throw new ArtifactError(weightsPath, `node table has ${nodes.length / file.dim} rows, the trie ${trie.size} nodes`);
  const encoder = encoderFromArrays(arrays, file.dim, file.vocabularyDocuments, weightsPath);
  const scale = requireArray(arrays, 'scale', Float32Array, weightsPath)[0]!;
  const { lexicon, fusion } = await loadLexicon(dir);
  if (lexicon.index.documents !== trieFile.docs.length) throw new ArtifactError(join(dir, LEXICON_FILES.spec), `holds ${lexicon.index.documents} documents, the expert ${trieFile.docs.length}`);
  return { shard: file.shard, model: new ExpertModel(trie, encoder, new SparseTable(trie.size, file.dim, nodes), scale), docIds: trieFile.docs, lexicon, fusion };
}
