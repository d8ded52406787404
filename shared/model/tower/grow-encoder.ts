import * as tf from '@tensorflow/tfjs-core';
import type { IndexConfig } from '../../config.ts';
import { isBigram, type FeatureBag } from '../../text/featurizer.ts';
import { Vocabulary } from '../../text/vocabulary.ts';
import { SparseTable } from '../sparse-table.ts';
import { fullView, type TokenizedDoc } from '../views.ts';
import type { EncoderWeights } from './encoder.ts';

/**
 * An encoder that also knows the words of added documents: features the added documents
 * (and queries) bring that pass the vocabulary's thresholds get new rows at the end, drawn
 * as createEncoderWeights draws every row (a random projection of their tf·idf weight), so
 * a new package name can single out its document. Existing rows and their idf are kept as
 * trained: re-weighting them would move every old document's encoding.
 */
export function growEncoder(
  encoder: EncoderWeights,
  oldDocs: readonly TokenizedDoc[],
  addedDocs: readonly TokenizedDoc[],
  addedQueries: readonly FeatureBag[],
  config: Readonly<IndexConfig>,
  rand: () => number,
): EncoderWeights {
  const { vocabulary, table } = encoder;
  const df = new Map<number, number>();
  for (const doc of addedDocs) for (const id of fullView(doc, config.featurizer).ids) if (vocabulary.rowOf(id) < 0) df.set(id, (df.get(id) ?? 0) + 1);
  const extra = new Map<number, number>();
  for (const bag of addedQueries) for (const id of bag.ids) if (vocabulary.rowOf(id) < 0) extra.set(id, (extra.get(id) ?? 0) + 1);
  // A copy either way: training the grown expert must leave the given one as it was.
  if (df.size === 0 && extra.size === 0) return { vocabulary, table: new SparseTable(table.rows, table.dim, table.values.slice()), mix: tf.variable(encoder.mix, true) };
  // Document frequency over the whole shard, for the thresholds and the idf of new features.
  for (const doc of oldDocs) for (const id of fullView(doc, config.featurizer).ids) if (df.has(id) || extra.has(id)) df.set(id, (df.get(id) ?? 0) + 1);
  const { minUnigramDf, minBigramDf, minExtraCount } = config.vocabulary;
  const added = [...new Set([...df.keys(), ...extra.keys()])]
    .filter((id) => (df.get(id) ?? 0) >= (isBigram(id) ? minBigramDf : minUnigramDf) || (extra.get(id) ?? 0) >= minExtraCount)
    .sort((a, b) => a - b);
  const n = vocabulary.documents + addedDocs.length;
  const ids = new Uint32Array(vocabulary.size + added.length);
  ids.set(vocabulary.ids);
  ids.set(added, vocabulary.size);
  const idf = new Float32Array(ids.length);
  idf.set(vocabulary.idf);
  added.forEach((id, i) => {
    const d = df.get(id) ?? 0;
    idf[vocabulary.size + i] = Math.log(1 + (n - d + 0.5) / (d + 0.5));
  });
  const grown = new SparseTable(ids.length, table.dim);
  grown.values.set(table.values);
  const fresh = new SparseTable(added.length, table.dim).initNormal(rand, 1);
  grown.values.set(fresh.values, table.values.length);
  return { vocabulary: new Vocabulary(ids, idf, n), table: grown, mix: tf.variable(encoder.mix, true) };
}
