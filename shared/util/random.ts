import { BadInputError } from '../errors.ts';

/**
 * Small seeded PRNG (Tommy Ettinger's mulberry32). Index builds must be reproducible
 * from a seed, which Math.random cannot give; 32 bits of state is plenty for
 * sampling and shuffling. Only the low 32 bits of the seed are used.
 */
export function mulberry32(seed: number): () => number {
  if (!Number.isFinite(seed)) throw new BadInputError(`seed must be a finite number, got ${seed}`);
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) | 0;
    let t = Math.imul(state ^ (state >>> 15), 1 | state);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Fisher–Yates; with a seeded `rand` the permutation is reproducible. */
export function shuffleInPlace(a: Int32Array | number[], rand: () => number): void {
  for (let i = a.length - 1; i > 0; i--) {
    const j = Math.floor(rand() * (i + 1));
    const t = a[i];
    a[i] = a[j];
    a[j] = t;
  }
}
