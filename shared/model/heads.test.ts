import * as tf from '@tensorflow/tfjs-core';
import { beforeAll, describe, expect, it } from 'vitest';
import { initBackend, tfMemory } from './backend.ts';
import { l2normalize } from './tower/encoder.ts';
import { groupLoss, sharedLogProbs } from './heads.ts';

beforeAll(async () => {
  await initBackend({ prefer: 'cpu' });
});

describe('groupLoss', () => {
  it('is −log of the softmax mass of each example’s group, averaged over the batch', () => {
    const h = l2normalize(tf.tensor2d([[1, 0], [0.6, 0.8]]));
    const rows = tf.tensor2d([[1, 0], [0, 1], [-1, 0]]);
    // Rows 0 and 1 form group 0, row 2 group 1; example 0 is in group 0, example 1 in group 1.
    const membership = tf.tensor2d([[1, 0], [1, 0], [0, 1]]);
    const groupOf = tf.tensor1d([0, 1], 'int32');
    const scale = tf.scalar(3);
    const before = tfMemory().numTensors;
    const logp = sharedLogProbs(h, rows, scale);
    const loss = groupLoss(logp, membership, groupOf);
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
    tf.dispose([h, rows, membership, groupOf, scale, logp, loss]);
  });
});
