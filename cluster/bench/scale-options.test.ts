import { describe, expect, it } from 'vitest';
import { BadInputError } from '../../shared/errors.ts';
import { DEFAULT_SHARDS_PER_100K, DEFAULT_SHARDS_PER_EXPERT, parseScaleOptions, parseSizes, sampleSizes, shardsFor } from './scale-options.ts';

describe('bench:scale options', () => {
  it('reads a list of sizes as people write them, in the order given', () => {
    expect(parseSizes('60k,200k,1.2m,1200')).toEqual([60_000, 200_000, 1_200_000, 1_200]);
    for (const bad of ['', '60k,,200k', '60k,lots', '0', '60k,60000']) expect(() => parseSizes(bad), bad).toThrow(BadInputError);
  });

  it('grows the shard count with the size (Debian 4, the 120K sample 8) unless a count is fixed', () => {
    const scaled = { shards: undefined, shardsPer100k: DEFAULT_SHARDS_PER_100K };
    expect([1_200, 60_514, 121_986, 200_000, 800_000].map((n) => shardsFor(n, scaled))).toEqual([1, 4, 8, 13, 53]);
    expect(shardsFor(800_000, { shards: 4, shardsPer100k: DEFAULT_SHARDS_PER_100K })).toBe(4);
    expect(shardsFor(60_000, { shards: undefined, shardsPer100k: 10 })).toBe(6);
  });

  it('takes the flags with their defaults and refuses what it cannot use', () => {
    expect(parseScaleOptions(['--corpus', 'c', '--sizes', '60k', '--out', 'o'])).toEqual({
      corpus: 'c',
      sizes: [60_000],
      out: 'o',
      shards: undefined,
      shardsPer100k: DEFAULT_SHARDS_PER_100K,
      searches: 200,
      shardsPerExpert: DEFAULT_SHARDS_PER_EXPERT,
      seed: 1,
      reuse: false,
    });
    expect(parseScaleOptions(['--corpus', 'c', '--sizes', '60k', '--shards-per-expert', '2', '--reuse'])).toMatchObject({ shardsPerExpert: 2, reuse: true });
    const bad = [
      ['--sizes', '60k'],
      ['--corpus', 'c'],
      ['--corpus', 'c', '--sizes', '60k', '--shards', '4', '--shards-per-100k', '5'],
      ['--corpus', 'c', '--sizes', '60k', '--shards-per-100k', '-1'],
      ['--corpus', 'c', '--sizes', '60k', '--searches', '1.5'],
      ['--corpus', 'c', '--sizes', '60k', '--shards-per-expert', '0'],
      ['--corpus', 'c', '--sizes', '60k', '--unknown'],
      ['--corpus', 'c', '--sizes', '60k', 'stray'],
    ];
    for (const argv of bad) expect(() => parseScaleOptions(argv), argv.join(' ')).toThrow(BadInputError);
  });

  it('makes a size below the core the core alone, and refuses sizes a sample cannot have', () => {
    const debianPlus = { core: 60_514, distractors: 737_673 };
    expect(sampleSizes([60_000, 200_000, 798_187], debianPlus)).toEqual([60_514, 200_000, 798_187]);
    expect(() => sampleSizes([800_000], debianPlus)).toThrow(/more than the collection's 798187/);
    expect(() => sampleSizes([1_000, 60_000], debianPlus)).toThrow(/1000 and 60000 are the same sample of 60514/);
    expect(sampleSizes([1_000], { core: 1_200, distractors: 0 })).toEqual([1_200]);
  });
});
