import { describe, expect, it } from 'vitest';
import { mulberry32 } from '../util/random.ts';
import { FeatureCounts } from './feature-counts.ts';

describe('FeatureCounts', () => {
  it('counts exactly like a Map, through many resizes, zero and the largest id included', () => {
    const random = mulberry32(3);
    const counts = new FeatureCounts();
    const expected = new Map<number, number>();
    for (let i = 0; i < 50_000; i++) {
      const id = i % 97 === 0 ? 0 : i % 89 === 0 ? 0xffffffff : Math.floor(random() * 20_000) * 2654435761 >>> 0;
      counts.add(id);
      expected.set(id, (expected.get(id) ?? 0) + 1);
    }
    expect(counts.size).toBe(expected.size);
    expect(counts.undercount).toBe(0);
    for (const [id, n] of expected) expect(counts.get(id)).toBe(n);
    expect(counts.get(12345)).toBe(expected.get(12345) ?? 0);
    let visited = 0;
    counts.forEach((id, n) => {
      visited++;
      expect(n).toBe(expected.get(id));
    });
    expect(visited).toBe(expected.size);
  });

  it('holds at most maxEntries features, dropping the rarest, and says how far a count may be short', () => {
    const counts = new FeatureCounts(1000);
    // 50 frequent features seen 100 times each, among 20,000 seen once.
    for (let round = 0; round < 100; round++) {
      for (let f = 0; f < 50; f++) counts.add(1_000_000 + f);
      for (let r = 0; r < 200; r++) counts.add(round * 200 + r);
    }
    expect(counts.size).toBeLessThan(1000);
    expect(counts.undercount).toBeGreaterThan(0);
    for (let f = 0; f < 50; f++) {
      expect(counts.get(1_000_000 + f)).toBeLessThanOrEqual(100);
      expect(counts.get(1_000_000 + f) + counts.undercount).toBeGreaterThanOrEqual(100);
    }
  });
});
