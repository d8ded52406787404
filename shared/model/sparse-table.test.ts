import { describe, expect, it } from 'vitest';
import { SparseTable } from './sparse-table.ts';

describe('SparseTable', () => {
  const table = () => new SparseTable(3, 2, Float32Array.from([1, 0, 0, 1, 2, 2]));

  it('computes weighted bags per segment', () => {
    const out = new Float32Array(4);
    table().bag(Int32Array.from([0, 1, 2]), Float32Array.from([1, 2, 0.5]), Int32Array.from([0, 2, 3]), out);
    expect(Array.from(out)).toEqual([1, 2, 1, 1]);
  });

  it('gathers rows and pads with zeros', () => {
    const out = new Float32Array(4).fill(9);
    table().gather(Int32Array.from([2, -1]), out);
    expect(Array.from(out)).toEqual([2, 2, 0, 0]);
  });

  it('updates only the rows a step touched, summing repeated rows', () => {
    const t = table();
    const before = Float32Array.from(t.values);
    // Row 1 appears twice: its gradient is the sum of both occurrences.
    t.accumulateGather(Int32Array.from([1, 1]), Float32Array.from([1, 0, 1, 0]));
    t.applyAdam({ learningRate: 0.1, beta1: 0.9, beta2: 0.999, epsilon: 1e-8 });
    expect(t.values[0]).toBe(before[0]);
    expect(t.values[4]).toBe(before[4]);
    // Adam's first step moves a parameter by about the learning rate against the gradient's sign.
    expect(t.values[2]).toBeCloseTo(before[2]! - 0.1, 4);
    expect(t.values[3]).toBe(before[3]);
  });

  it('descends a bag loss: pulling a bag toward a target lowers the distance', () => {
    const t = new SparseTable(4, 3, new Float32Array(12));
    const rows = Int32Array.from([0, 2]);
    const weights = Float32Array.from([0.6, 0.8]);
    const offsets = Int32Array.from([0, 2]);
    const target = Float32Array.from([1, -1, 0.5]);
    const distance = () => {
      const out = new Float32Array(3);
      t.bag(rows, weights, offsets, out);
      return Math.hypot(...out.map((x, k) => x - target[k]!));
    };
    const start = distance();
    for (let step = 0; step < 50; step++) {
      const out = new Float32Array(3);
      t.bag(rows, weights, offsets, out);
      t.accumulateBag(rows, weights, offsets, out.map((x, k) => x - target[k]!));
      t.applyAdam({ learningRate: 0.05, beta1: 0.9, beta2: 0.999, epsilon: 1e-8 });
    }
    expect(distance()).toBeLessThan(start * 0.2);
  });
});
