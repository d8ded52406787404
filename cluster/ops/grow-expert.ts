import * as tf from '@tensorflow/tfjs-core';
import type { IndexConfig } from '../../shared/config.ts';
import { DsiError, ErrorCode } from '../../shared/errors.ts';
import { DocIdTrie } from '../../shared/docids/trie.ts';
import { encodeBatch, type EncoderWeights } from '../../shared/model/encoder.ts';
import { SparseTable } from '../../shared/model/sparse-table.ts';
import { fullView, type TokenizedDoc } from '../../shared/model/views.ts';
import { isBigram, type FeatureBag } from '../../shared/text/featurizer.ts';
import { Vocabulary, type EncodedFeatures } from '../../shared/text/vocabulary.ts';
import { ExpertModel } from '../../experts/expert-model.ts';

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

/**
 * A new leaf row's length, relative to the mean of its trained siblings. A row exactly at
 * its document's encoding and as long as theirs outscores them for their own near-duplicate
 * texts (12K Debian subset, 44 documents added to a 2,573-document shard: 64 old documents
 * then decoded to a new one, 35 at 0.75, 3 at 0.5, but at 0.5 only 70% of the added
 * documents decoded to themselves after one epoch, all of them at 0.75).
 */
const NEW_LEAF_LENGTH = 0.75;

/**
 * The expert grown by documents placed in its existing clusters (see placeDocuments): the
 * trie rebuilt over old and new paths (node ids shift, since they are breadth-first), every
 * old node's trained row carried over to its node's new id, and each new leaf's row started
 * at its document's encoding, stretched towards the length of its trained siblings (leaf
 * rows grow during training, so a unit row would start out outvoted by them; see
 * NEW_LEAF_LENGTH for why not all the way).
 * Documents are numbered old ones first, then the added ones in order.
 */
export function growExpert(model: ExpertModel, encoder: EncoderWeights, addedPaths: readonly (readonly number[])[], addedFeatures: readonly EncodedFeatures[]): ExpertModel {
  const old = model.trie;
  const dim = model.dim;
  const oldPaths = old.toJSON().paths;
  const trie = DocIdTrie.fromPaths([...oldPaths, ...addedPaths]);
  const nodes = new SparseTable(trie.size, dim);
  const carried = new Uint8Array(trie.size);
  for (let n = 0; n < old.size; n++) {
    const to = trie.nodeOfPath(old.pathOf(n));
    nodes.row(to).set(model.nodes.row(n));
    carried[to] = 1;
  }
  const vectors = encodeBatch(encoder, addedFeatures);
  addedPaths.forEach((path, i) => {
    const leaf = trie.leafOfDoc(oldPaths.length + i);
    const cluster = old.nodeOfPath(path.slice(0, -1));
    const length = (cluster < 0 ? 1 : meanChildLength(model.nodes, old, cluster, dim)) * NEW_LEAF_LENGTH;
    const row = nodes.row(leaf);
    for (let k = 0; k < dim; k++) row[k] = vectors[i * dim + k]! * length;
    carried[leaf] = 1;
  });
  // placeDocuments only adds leaves under existing clusters; anything else has no trained row.
  const missing = carried.indexOf(0);
  if (missing >= 0) throw new DsiError(ErrorCode.Internal, `grown trie node ${trie.pathOf(missing).join('-')} is neither an old node nor an added document`);
  return new ExpertModel(trie, encoder, nodes, model.scale.dataSync()[0]!);
}

function meanChildLength(nodes: SparseTable, trie: DocIdTrie, parent: number, dim: number): number {
  const count = trie.childCount[parent]!;
  if (count === 0) return 1;
  let sum = 0;
  for (let c = 0; c < count; c++) {
    const row = nodes.row(trie.firstChild[parent]! + c);
    let s = 0;
    for (let k = 0; k < dim; k++) s += row[k]! * row[k]!;
    sum += Math.sqrt(s);
  }
  return sum / count;
}
