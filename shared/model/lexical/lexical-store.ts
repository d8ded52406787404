import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { z } from 'zod';
import { ArtifactError } from '../../errors.ts';
import { readJsonFile } from '../../artifact/json-file.ts';
import { SHARD_FILES } from '../../artifact/index-artifact.ts';
import { readTensorFile, requireArray, vector, writeTensorFile, type NamedArray, type TensorSpec } from '../../artifact/tensor-file.ts';
import { FUSION_FEATURES, type FusionWeights } from '../fusion/fusion.ts';
import { QueryHead } from './query-head.ts';
import { ShardLexicon } from './shard-lexicon.ts';
import { CollectionStatistics } from './statistics.ts';
import { TermIndex } from './term-index.ts';
import { TopicTerms } from './topic-terms.ts';
import { Field, LEXICAL_VERSION } from './terms.ts';

/**
 * On disk, the lexical half is two things:
 *   the query head (gating/head.json + head.bin): the collection's statistics and what the
 *     head learnt, loaded by whoever routes queries (the router, an in-process index);
 *   each shard's lexicon (shards/<id>/lexicon.json + lexicon.bin): its documents' term lists
 *     with their impacts and priors, and the fusion weights the expert ranks with.
 */
export const HEAD_FILES = { spec: 'head.json', weights: 'head.bin' } as const;
export const LEXICON_FILES = { spec: SHARD_FILES.lexicon, weights: SHARD_FILES.lexiconWeights } as const;

const SpecSchema = z.object({ name: z.string(), dtype: z.enum(['float32', 'int32', 'uint32']), shape: z.array(z.number().int().min(0)) });
const HeadFileSchema = z.object({
  version: z.literal(LEXICAL_VERSION),
  documents: z.number().int().min(0),
  averageTextLength: z.number().min(0),
  averageNameLength: z.number().min(0),
  weights: z.array(SpecSchema),
});
const FusionSchema = z.object({ features: z.array(z.string()), weights: z.array(z.number()), bias: z.number() });
const LexiconFileSchema = z.object({ version: z.literal(LEXICAL_VERSION), documents: z.number().int().min(0), fusion: FusionSchema, weights: z.array(SpecSchema) });

export async function saveHead(dir: string, head: QueryHead): Promise<void> {
  await mkdir(dir, { recursive: true });
  const { stats, learnt } = head;
  const arrays: NamedArray[] = [
    vector('stats/terms', stats.terms),
    vector('stats/df', stats.df),
    vector('weights/ids', learnt.weights.ids),
    vector('weights/values', learnt.weights.values),
    vector('translations/words', learnt.translations.words),
    vector('translations/offsets', learnt.translations.offsets),
    vector('translations/terms', learnt.translations.terms),
    vector('translations/weights', learnt.translations.weights),
    vector('priors/ids', learnt.priors.ids),
    vector('priors/values', learnt.priors.values),
    vector('topics/terms', head.topics.terms),
    vector('topics/offsets', head.topics.offsets),
    vector('topics/topics', head.topics.topics),
    vector('topics/impacts', head.topics.impacts),
  ];
  const weights = await writeTensorFile(join(dir, HEAD_FILES.weights), arrays);
  const file: z.infer<typeof HeadFileSchema> = { version: LEXICAL_VERSION, documents: stats.documents, averageTextLength: stats.averageTextLength, averageNameLength: stats.averageNameLength, weights };
  await writeFile(join(dir, HEAD_FILES.spec), JSON.stringify(file));
}

export async function loadHead(dir: string): Promise<QueryHead> {
  const file = await readJsonFile(join(dir, HEAD_FILES.spec), HeadFileSchema);
  const path = join(dir, HEAD_FILES.weights);
  const a = await readTensorFile(path, file.weights as TensorSpec[]);
  const stats = new CollectionStatistics(file.documents, requireArray(a, 'stats/terms', Uint32Array, path), requireArray(a, 'stats/df', Uint32Array, path), file.averageTextLength, file.averageNameLength);
  return new QueryHead(stats, {
    weights: { ids: requireArray(a, 'weights/ids', Uint32Array, path), values: requireArray(a, 'weights/values', Float32Array, path) },
    translations: {
      words: requireArray(a, 'translations/words', Uint32Array, path),
      offsets: requireArray(a, 'translations/offsets', Int32Array, path),
      terms: requireArray(a, 'translations/terms', Uint32Array, path),
      weights: requireArray(a, 'translations/weights', Float32Array, path),
    },
    priors: { ids: requireArray(a, 'priors/ids', Uint32Array, path), values: requireArray(a, 'priors/values', Float32Array, path) },
  }, new TopicTerms(requireArray(a, 'topics/terms', Uint32Array, path), requireArray(a, 'topics/offsets', Int32Array, path), requireArray(a, 'topics/topics', Int32Array, path), requireArray(a, 'topics/impacts', Float32Array, path)));
}

export async function saveLexicon(dir: string, lexicon: ShardLexicon, fusion: FusionWeights): Promise<void> {
  await mkdir(dir, { recursive: true });
  const lists = lexicon.index.documentLists();
  const arrays: NamedArray[] = [
    vector('docs/offsets', lists.docOffsets),
    vector('docs/terms', lists.termIds),
    vector('docs/impacts', lists.impacts),
    { name: 'docs/names', dtype: 'uint32', shape: [Math.ceil(lists.fields.length / 32)], data: nameBits(lists.fields) },
    vector('docs/priors', lexicon.priors),
  ];
  const weights = await writeTensorFile(join(dir, LEXICON_FILES.weights), arrays);
  const file: z.infer<typeof LexiconFileSchema> = {
    version: LEXICAL_VERSION,
    documents: lexicon.index.documents,
    fusion: { features: [...FUSION_FEATURES], weights: Array.from(fusion.weights), bias: fusion.bias },
    weights,
  };
  await writeFile(join(dir, LEXICON_FILES.spec), JSON.stringify(file));
}

/** Only the fusion weights of a saved lexicon change (the build fits them once every shard is trained). */
export async function saveFusion(dir: string, fusion: FusionWeights): Promise<void> {
  const path = join(dir, LEXICON_FILES.spec);
  const file = await readJsonFile(path, LexiconFileSchema);
  await writeFile(path, JSON.stringify({ ...file, fusion: { features: [...FUSION_FEATURES], weights: Array.from(fusion.weights), bias: fusion.bias } }));
}

export async function loadLexicon(dir: string): Promise<{ lexicon: ShardLexicon; fusion: FusionWeights }> {
  const specPath = join(dir, LEXICON_FILES.spec);
  const file = await readJsonFile(specPath, LexiconFileSchema);
  if (file.fusion.features.join() !== FUSION_FEATURES.join()) throw new ArtifactError(specPath, `fusion over features [${file.fusion.features}], this build computes [${FUSION_FEATURES}]: rebuild the index`);
  const path = join(dir, LEXICON_FILES.weights);
  const a = await readTensorFile(path, file.weights as TensorSpec[]);
  const docOffsets = requireArray(a, 'docs/offsets', Int32Array, path);
  const termIds = requireArray(a, 'docs/terms', Uint32Array, path);
  const priors = requireArray(a, 'docs/priors', Float32Array, path);
  if (docOffsets.length !== file.documents + 1 || priors.length !== file.documents) throw new ArtifactError(path, `holds ${docOffsets.length - 1} documents' terms and ${priors.length} priors, its spec says ${file.documents}`);
  const index = TermIndex.fromDocuments({ docOffsets, termIds, impacts: requireArray(a, 'docs/impacts', Float32Array, path), fields: fieldsOf(requireArray(a, 'docs/names', Uint32Array, path), termIds.length) });
  return { lexicon: new ShardLexicon(index, priors), fusion: { weights: Float32Array.from(file.fusion.weights), bias: file.fusion.bias } };
}

function nameBits(fields: Uint8Array): Uint32Array {
  const bits = new Uint32Array(Math.ceil(fields.length / 32));
  for (let p = 0; p < fields.length; p++) if (fields[p] === Field.name) bits[p >>> 5]! |= 1 << (p & 31);
  return bits;
}

function fieldsOf(bits: Uint32Array, count: number): Uint8Array {
  const fields = new Uint8Array(count);
  for (let p = 0; p < count; p++) fields[p] = (bits[p >>> 5]! >>> (p & 31)) & 1 ? Field.name : Field.text;
  return fields;
}
