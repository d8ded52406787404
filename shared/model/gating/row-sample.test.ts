import { describe, expect, it } from 'vitest';
import { mulberry32 } from '../../util/random.ts';
import { sampleRows } from './row-sample.ts';

describe('sampleRows', () => {
  it('scores every target row once, then distinct others drawn uniformly, each with the log of its chance of being drawn', () => {
    const targets = Int32Array.of(7, 3, 7, 0);
    const sample = sampleRows(targets, 20, 10, mulberry32(5));
    expect(Array.from(sample.rows.subarray(0, 3))).toEqual([0, 3, 7]);
    const others = Array.from(sample.rows.subarray(3));
    expect(others).toHaveLength(7);
    expect(new Set(others).size).toBe(7);
    for (const r of others) expect([0, 3, 7]).not.toContain(r);
    for (const r of others) expect(r).toBeLessThan(20);
    expect(Array.from(sample.targets, (i) => sample.rows[i])).toEqual([7, 3, 7, 0]);
    expect(Array.from(sample.logQ.subarray(0, 3))).toEqual([0, 0, 0]);
    for (const q of sample.logQ.subarray(3)) expect(q).toBeCloseTo(Math.log(7 / 17), 6);
  });

  it('draws every untargeted row about equally often', () => {
    const rand = mulberry32(9);
    const counts = new Int32Array(12);
    for (let i = 0; i < 6000; i++) for (const r of sampleRows(Int32Array.of(4), 12, 4, rand).rows.subarray(1)) counts[r]!++;
    expect(counts[4]).toBe(0);
    // 3 of the 11 other rows per draw: 6000 · 3/11 ≈ 1636 each.
    for (const [r, n] of counts.entries()) if (r !== 4) expect(Math.abs(n - 1636)).toBeLessThan(150);
  });

  it('takes every row when asked for as many as there are', () => {
    const sample = sampleRows(Int32Array.of(2, 1), 5, 8, mulberry32(1));
    expect(Array.from(sample.rows).sort()).toEqual([0, 1, 2, 3, 4]);
    expect(Array.from(sample.logQ)).toEqual([0, 0, 0, 0, 0]);
  });
});
