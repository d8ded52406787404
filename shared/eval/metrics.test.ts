import { describe, expect, it } from 'vitest';
import { DsiError } from '../errors.ts';
import { LatencyRecorder, RankingMetrics, percentile } from './metrics.ts';

describe('RankingMetrics', () => {
  it('is all zero before any query', () => {
    const m = new RankingMetrics();
    expect(m.count).toBe(0);
    expect(m.summary()).toEqual({ 'hits@1': 0, 'hits@10': 0, 'mrr@10': 0 });
  });

  it('averages hits and reciprocal ranks over queries', () => {
    const m = new RankingMetrics();
    const ten = ['d0', 'd1', 'd2', 'd3', 'd4', 'd5', 'd6', 'd7', 'd8', 'd9'];
    m.add(ten, new Set(['d0'])); // rank 1: hit@1, hit@10, rr 1
    m.add(ten, new Set(['d3'])); // rank 4: hit@10, rr 1/4
    m.add(ten, new Set(['d9'])); // rank 10: hit@10, rr 1/10
    m.add(ten, new Set(['x'])); // miss
    // By hand: hits@1 = 1/4; hits@10 = 3/4; mrr@10 = (1 + 0.25 + 0.1) / 4 = 0.3375.
    expect(m.count).toBe(4);
    const s = m.summary();
    expect(s['hits@1']).toBeCloseTo(0.25, 12);
    expect(s['hits@10']).toBeCloseTo(0.75, 12);
    expect(s['mrr@10']).toBeCloseTo(0.3375, 12);
  });

  it('counts only the first relevant document, and nothing past rank 10', () => {
    const m = new RankingMetrics();
    m.add(['a', 'b', 'c'], new Set(['b', 'c'])); // first relevant at rank 2: rr 1/2
    const eleven = ['x1', 'x2', 'x3', 'x4', 'x5', 'x6', 'x7', 'x8', 'x9', 'x10', 'rel'];
    m.add(eleven, new Set(['rel'])); // rank 11: a miss at 10
    m.add([], new Set(['a'])); // nothing returned: a miss
    // By hand: hits@1 = 0/3; hits@10 = 1/3; mrr@10 = 0.5 / 3.
    const s = m.summary();
    expect(s['hits@1']).toBe(0);
    expect(s['hits@10']).toBeCloseTo(1 / 3, 12);
    expect(s['mrr@10']).toBeCloseTo(0.5 / 3, 12);
  });
});

describe('percentile', () => {
  it('returns 0 for no values', () => {
    expect(percentile([], 50)).toBe(0);
    expect(percentile(new Float64Array(0), 99)).toBe(0);
  });

  it('uses the nearest rank on a sorted copy', () => {
    const values = [15, 20, 35, 40, 50]; // the textbook nearest-rank example
    // rank = ceil(p/100 · 5): p5 → 1, p30 → 2, p40 → 2, p50 → 3, p100 → 5.
    expect(percentile(values, 5)).toBe(15);
    expect(percentile(values, 30)).toBe(20);
    expect(percentile(values, 40)).toBe(20);
    expect(percentile(values, 50)).toBe(35);
    expect(percentile(values, 100)).toBe(50);
    expect(percentile(values, 0)).toBe(15);
  });

  it('sorts numerically and leaves its input alone', () => {
    const values = [100, 9, 20, 3];
    // Sorted: 3, 9, 20, 100. p50 → rank 2 → 9; p75 → rank 3 → 20; p99 → rank 4 → 100.
    expect(percentile(values, 50)).toBe(9);
    expect(percentile(values, 75)).toBe(20);
    expect(percentile(values, 99)).toBe(100);
    expect(values).toEqual([100, 9, 20, 3]);
    const typed = Float64Array.from(values);
    expect(percentile(typed, 50)).toBe(9);
    expect([...typed]).toEqual([100, 9, 20, 3]);
  });

  it('is not pushed a rank up by floating-point rounding', () => {
    // 0.07 · 100 is 7.000000000000001 in floating point; the 7th of 1..100 is 7.
    const values = Array.from({ length: 100 }, (_, i) => i + 1);
    expect(percentile(values, 7)).toBe(7);
    expect(percentile(values, 99)).toBe(99);
  });

  it('rejects p outside [0, 100]', () => {
    expect(() => percentile([1], 101)).toThrow(DsiError);
    expect(() => percentile([1], -1)).toThrow(DsiError);
    expect(() => percentile([1], Number.NaN)).toThrow(DsiError);
  });
});

describe('LatencyRecorder', () => {
  it('is all zero before any sample', () => {
    expect(new LatencyRecorder().summary()).toEqual({ p50_ms: 0, p99_ms: 0, mean_ms: 0, count: 0 });
  });

  it('summarises samples by hand-computed figures', () => {
    const r = new LatencyRecorder();
    for (const ms of [4, 1, 3, 2]) r.record(ms);
    // Sorted 1, 2, 3, 4: p50 → rank 2 → 2; p99 → rank 4 → 4; mean 10/4.
    expect(r.summary()).toEqual({ p50_ms: 2, p99_ms: 4, mean_ms: 2.5, count: 4 });
  });

  it('keeps every sample past its initial capacity', () => {
    const r = new LatencyRecorder();
    // 1..5000 in descending order: p50 → rank 2500 → 2500; p99 → rank 4950 → 4950.
    for (let ms = 5000; ms >= 1; ms--) r.record(ms);
    expect(r.summary()).toEqual({ p50_ms: 2500, p99_ms: 4950, mean_ms: 2500.5, count: 5000 });
  });

  it('rejects samples that would poison the figures', () => {
    const r = new LatencyRecorder();
    expect(() => r.record(Number.NaN)).toThrow(DsiError);
    expect(() => r.record(-1)).toThrow(DsiError);
    expect(() => r.record(Number.POSITIVE_INFINITY)).toThrow(DsiError);
    expect(r.summary().count).toBe(0);
  });
});
