import { DsiError, ErrorCode } from '../../errors.ts';
import { DocIdTrie } from '../../docids/trie.ts';
import { encodeBatch, type EncoderWeights } from '../tower/encoder.ts';
import { SparseTable } from '../sparse-table.ts';
import type { EncodedFeatures } from '../../text/vocabulary.ts';
import { ExpertModel } from './expert-model.ts';

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
