import type { ExpertModel } from './expert-model.ts';
import type { EncodedFeatures } from '../../text/vocabulary.ts';

/** Documents placed per encoding batch: bounds the vector matrix. */
const CHUNK = 1024;

/**
 * DocIDs for documents added to a trained shard, inside its existing topics and clusters:
 * each document goes under the leaf cluster of the DocID the expert itself decodes its text
 * to (top-1 from the root), with the next free item number there. The expert thus starts
 * out pointing the document's text at the neighbourhood it would search, and no
 * existing DocID (nor the trie's node layout above the leaves) changes.
 *
 * `features` are the documents' whole texts encoded with the expert's vocabulary.
 */
export function placeDocuments(model: ExpertModel, features: readonly EncodedFeatures[], beamWidth: number): number[][] {
  const { trie } = model;
  // Next free item number of each leaf cluster, filled in as clusters are first used.
  const nextItem = new Map<number, number>();
  const out: number[][] = [];
  for (let start = 0; start < features.length; start += CHUNK) {
    const batch = features.slice(start, start + CHUNK);
    const vectors = model.encode(batch);
    for (let i = 0; i < batch.length; i++) {
      const top = model.search(vectors, i * model.dim, [{ node: 0, logp: 0 }], { beamWidth, topK: 1 })[0];
      // An expert always holds documents, so the search always ends on a leaf.
      const cluster = trie.parent[top!.leaf]!;
      let item = nextItem.get(cluster);
      if (item === undefined) {
        item = 0;
        for (let c = 0; c < trie.childCount[cluster]!; c++) item = Math.max(item, trie.label[trie.firstChild[cluster]! + c]! + 1);
      }
      nextItem.set(cluster, item + 1);
      out.push([...trie.pathOf(cluster), item]);
    }
  }
  return out;
}
