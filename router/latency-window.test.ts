import { describe, expect, it } from 'vitest';
import { LatencyWindow } from './latency-window.ts';

describe('LatencyWindow', () => {
  it('has no percentiles while empty', () => {
    expect(new LatencyWindow(4).percentiles([0.5, 0.99])).toEqual([null, null]);
  });

  it('gives nearest-rank percentiles of what it holds', () => {
    const w = new LatencyWindow(100);
    for (let i = 1; i <= 100; i++) w.record(i);
    expect(w.percentiles([0.5, 0.99, 1])).toEqual([50, 99, 100]);
  });

  it('keeps only the most recent samples', () => {
    const w = new LatencyWindow(3);
    for (const ms of [1000, 1000, 1, 2, 3]) w.record(ms);
    expect(w.count).toBe(3);
    expect(w.percentiles([0, 1])).toEqual([1, 3]);
  });

  it('refuses a window of no samples', () => {
    expect(() => new LatencyWindow(0)).toThrow(RangeError);
  });
});
