import { beforeAll, describe, expect, it } from 'vitest';
import { DocIdTrie } from '../../docids/trie.ts';
import { initBackend, tfMemory } from '../backend.ts';
import { createEncoderWeights, encodeBatch } from '../tower/encoder.ts';
import { Vocabulary, type EncodedFeatures } from '../../text/vocabulary.ts';
import { mulberry32 } from '../../util/random.ts';
import { ExpertModel, nodeAnchors } from './expert-model.ts';

const DIM = 8;
const docs: EncodedFeatures[] = [
  { rows: Int32Array.of(0, 1), weights: Float32Array.of(0.6, 0.8) },
  { rows: Int32Array.of(1, 2), weights: Float32Array.of(0.8, 0.6) },
  { rows: Int32Array.of(3), weights: Float32Array.of(1) },
];
const paths = [[0, 0], [0, 1], [1, 0]];

function expert(): ExpertModel {
  const vocabulary = new Vocabulary(Uint32Array.of(1, 2, 3, 4), Float32Array.of(1, 1, 1, 1), 3);
  return ExpertModel.create(DocIdTrie.fromPaths(paths), createEncoderWeights(vocabulary, DIM, mulberry32(5)), docs);
}

const rowOf = (model: ExpertModel, node: number) => Array.from(model.nodes.row(node));

beforeAll(async () => {
  await initBackend({ prefer: 'cpu' });
});

describe('ExpertModel', () => {
  it('starts each leaf row at its document’s encoding', () => {
    const model = expert();
    const encoded = encodeBatch(model.encoder, docs);
    for (let doc = 0; doc < docs.length; doc++) {
      const row = rowOf(model, model.trie.leafOfDoc(doc));
      row.forEach((v, k) => expect(v).toBeCloseTo(encoded[doc * DIM + k]!, 5));
    }
    model.dispose();
  });

  it('reanchor moves rows with the text tower and keeps what they learnt on their own', () => {
    const model = expert();
    const before = tfMemory().numTensors;
    const anchors = nodeAnchors(model.trie, model.encoder, docs);
    const leaf = model.trie.leafOfDoc(0);
    model.nodes.row(leaf)[0]! += 0.5; // what training taught this row
    model.encoder.table.row(1).fill(0.25); // the tower learnt something about feature 1
    const next = model.reanchor(docs, anchors);
    expect(Array.from(next)).toEqual(Array.from(nodeAnchors(model.trie, model.encoder, docs)));
    const moved = rowOf(model, leaf);
    moved.forEach((v, k) => expect(v).toBeCloseTo(next[leaf * DIM + k]! + (k === 0 ? 0.5 : 0), 5));
    const untouched = model.trie.leafOfDoc(2);
    rowOf(model, untouched).forEach((v, k) => expect(v).toBeCloseTo(next[untouched * DIM + k]!, 5));
    expect(tfMemory().numTensors).toBe(before);
    model.dispose();
  });

  it('temper divides the rows chosen at a depth by that depth’s temperature', () => {
    const model = expert();
    const topic = model.topicNode(0);
    const leaf = model.trie.leafOfDoc(0);
    const [topicRow, leafRow] = [rowOf(model, topic), rowOf(model, leaf)];
    model.temper([1, 2]);
    expect(rowOf(model, topic)).toEqual(topicRow);
    rowOf(model, leaf).forEach((v, k) => expect(v).toBeCloseTo(leafRow[k]! / 2, 6));
    model.dispose();
  });
});
