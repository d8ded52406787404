import { describe, expect, it } from 'vitest';
import { BadInputError } from '../errors.ts';
import { mulberry32, shuffleInPlace } from './random.ts';

describe('mulberry32', () => {
  it('is reproducible for a seed and differs across seeds', () => {
    const a = mulberry32(42);
    const b = mulberry32(42);
    const c = mulberry32(43);
    const xs = Array.from({ length: 5 }, () => a());
    expect(Array.from({ length: 5 }, () => b())).toEqual(xs);
    expect(Array.from({ length: 5 }, () => c())).not.toEqual(xs);
  });

  it('stays in [0, 1) with a plausible mean', () => {
    const r = mulberry32(7);
    let sum = 0;
    for (let i = 0; i < 10_000; i++) {
      const x = r();
      expect(x >= 0 && x < 1).toBe(true);
      sum += x;
    }
    expect(Math.abs(sum / 10_000 - 0.5)).toBeLessThan(0.02);
  });

  it('rejects a non-finite seed', () => {
    expect(() => mulberry32(Number.NaN)).toThrow(BadInputError);
  });
});

describe('shuffleInPlace', () => {
  it('permutes typed and plain arrays reproducibly', () => {
    const a = Int32Array.from({ length: 50 }, (_, i) => i);
    const b = Array.from({ length: 50 }, (_, i) => i);
    shuffleInPlace(a, mulberry32(3));
    shuffleInPlace(b, mulberry32(3));
    expect(Array.from(a)).toEqual(b);
    expect([...b].sort((x, y) => x - y)).toEqual(Array.from({ length: 50 }, (_, i) => i));
    expect(b).not.toEqual(Array.from({ length: 50 }, (_, i) => i));
  });
});
