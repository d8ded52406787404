import * as tf from '@tensorflow/tfjs-core';
import { beforeAll, describe, expect, it } from 'vitest';
import { initBackend, tfMemory } from './backend.ts';
import { l2normalize } from './tower/encoder.ts';
import { groupLoss, groupLossByMask, groupLossByProduct, sharedLogProbs } from './heads.ts';

beforeAll(async () => {
  await initBackend({ prefer: 'cpu' });
});

describe('groupLoss', () => {
  it('is −log of the softmax mass of each example’s group, averaged over the batch', () => {
    const h = l2normalize(tf.tensor2d([[1, 0], [0.6, 0.8]]));
    const rows = tf.tensor2d([[1, 0], [0, 1], [-1, 0]]);
    // Rows 0 and 1 form group 0, row 2 group 1; example 0 is in group 0, example 1 in group 1.
    const rowGroup = tf.tensor1d([0, 0, 1], 'int32');
    const groupOf = tf.tensor1d([0, 1], 'int32');
    const scale = tf.scalar(3);
    const before = tfMemory().numTensors;
    const logp = sharedLogProbs(h, rows, scale);
    const loss = groupLoss(logp, rowGroup, 2, groupOf);
    expect(tfMemory().numTensors).toBe(before + 2);
    const hv = [[1, 0], [0.6, 0.8]];
    const rv = [[1, 0], [0, 1], [-1, 0]];
    const groups = [[0, 1], [2]];
    let expected = 0;
    hv.forEach((q, b) => {
      const e = rv.map((r) => Math.exp(3 * (q[0]! * r[0]! + q[1]! * r[1]!)));
      const total = e.reduce((x, y) => x + y, 0);
      expected -= Math.log(groups[b]!.reduce((x, i) => x + e[i]!, 0) / total);
    });
    expect(loss.dataSync()[0]).toBeCloseTo(expected / 2, 4);
    tf.dispose([h, rows, rowGroup, groupOf, scale, logp, loss]);
  });

  it('gives the same loss and gradient from the membership product (few groups) as from the mask of each example’s group (many)', () => {
    const rows = 300;
    const groupCount = 90;
    const logits = tf.randomNormal([8, rows], 0, 2, 'float32', 5) as tf.Tensor2D;
    const rowGroup = tf.tensor1d(Int32Array.from({ length: rows }, (_, r) => (r * 7) % groupCount), 'int32');
    const groups = tf.tensor1d([0, 5, 89, 12, 12, 40, 3, 77], 'int32');
    const viaProduct = (x: tf.Tensor) => groupLossByProduct(tf.logSoftmax(x) as tf.Tensor2D, rowGroup, groupCount, groups);
    const viaMask = (x: tf.Tensor) => groupLossByMask(tf.logSoftmax(x) as tf.Tensor2D, rowGroup, groups);
    const a = tf.valueAndGrad(viaProduct)(logits);
    const b = tf.valueAndGrad(viaMask)(logits);
    expect(b.value.dataSync()[0]).toBeCloseTo(a.value.dataSync()[0]!, 5);
    const ga = a.grad.dataSync();
    const gb = b.grad.dataSync();
    for (let i = 0; i < ga.length; i++) expect(gb[i]).toBeCloseTo(ga[i]!, 5);
    tf.dispose([logits, rowGroup, groups, a.value, a.grad, b.value, b.grad]);
  });
});
