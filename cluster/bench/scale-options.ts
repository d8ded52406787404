/**
 * The flags of `npm run bench:scale` (cluster/bench/scale.ts), read once: the sizes to
 * measure and how many shards each size's index gets.
 */
import { BadInputError } from '../../shared/errors.ts';
import { intFlag, parseFlags, requireFlag } from '../commands/context.ts';
import { parseSize } from '../tools/distractor-sample.ts';

export const SCALE_USAGE =
  'usage: npm run bench:scale -- --corpus DIR --sizes 60k,200k,... [--out DIR] [--shards-per-100k N | --shards N] [--shards-per-expert 8] [--searches N] [--seed S] [--reuse]';

/**
 * `dsi index` builds 4 shards unless told otherwise, whatever the collection's size; here
 * the count grows with it, about one shard per 15,000 documents (Debian's 60K: 4, the
 * 120K sample: 8), so each expert trains on as many documents at every size.
 */
export const DEFAULT_SHARDS_PER_100K = 6.67;

export interface ScaleOptions {
  corpus: string;
  /** Documents of each sample, in the order given. */
  sizes: number[];
  /** Where samples, indexes, logs and the JSON report go; undefined: a new temporary folder. */
  out: string | undefined;
  /** A fixed shard count for every size, or undefined to scale it with the size. */
  shards: number | undefined;
  shardsPer100k: number;
  /** Searches sent to the router before its memory is read. */
  searches: number;
  /** Shards one expert process serves while the router's memory is measured (dsi up --shards-per-expert). */
  shardsPerExpert: number;
  seed: number;
  /** Take an index already built in OUT (and its evaluation, if logged) instead of building it again. */
  reuse: boolean;
}

/**
 * Shards per expert process while serving: at 800K documents (53 shards) a process a shard
 * would be 53 processes of ~400 MB on 2 cores; 8 a process keeps Debian's 4 shards in one.
 */
export const DEFAULT_SHARDS_PER_EXPERT = 8;

/** Reads the flags; anything unusable throws a BadInputError naming it. */
export function parseScaleOptions(argv: readonly string[]): ScaleOptions {
  const { values } = parseFlags([...argv], {
    corpus: { type: 'string' },
    sizes: { type: 'string' },
    out: { type: 'string' },
    shards: { type: 'string' },
    'shards-per-100k': { type: 'string' },
    searches: { type: 'string' },
    'shards-per-expert': { type: 'string' },
    seed: { type: 'string' },
    reuse: { type: 'boolean' },
  });
  if (values.shards !== undefined && values['shards-per-100k'] !== undefined) throw new BadInputError('give --shards or --shards-per-100k, not both');
  return {
    corpus: requireFlag(values.corpus, '--corpus'),
    sizes: parseSizes(requireFlag(values.sizes, '--sizes')),
    out: values.out,
    shards: intFlag(values.shards, '--shards', 1, 1024),
    shardsPer100k: values['shards-per-100k'] === undefined ? DEFAULT_SHARDS_PER_100K : positiveNumber(values['shards-per-100k'], '--shards-per-100k'),
    searches: intFlag(values.searches, '--searches', 1, 1_000_000) ?? 200,
    shardsPerExpert: intFlag(values['shards-per-expert'], '--shards-per-expert', 1, 1024) ?? DEFAULT_SHARDS_PER_EXPERT,
    seed: intFlag(values.seed, '--seed', 0, 2 ** 31 - 1) ?? 1,
    reuse: values.reuse === true,
  };
}

/** "60k,200k,1.2m" → [60000, 200000, 1200000]; each size once. */
export function parseSizes(text: string): number[] {
  const sizes = text.split(',').map((part) => parseSize(part));
  const zero = sizes.find((size) => size < 1);
  if (zero !== undefined) throw new BadInputError(`--sizes: a size must be at least 1 document, got ${zero}`);
  const repeated = sizes.find((size, i) => sizes.indexOf(size) !== i);
  if (repeated !== undefined) throw new BadInputError(`--sizes: ${repeated} is given twice`);
  return sizes;
}

/** Shards of the index of `documents` documents: the fixed count, or the size's share of shards per 100K (at least 1). */
export function shardsFor(documents: number, options: Pick<ScaleOptions, 'shards' | 'shardsPer100k'>): number {
  return options.shards ?? Math.max(1, Math.round((documents * options.shardsPer100k) / 100_000));
}

function positiveNumber(text: string, flag: string): number {
  const n = Number(text);
  if (!text.trim() || !Number.isFinite(n) || n <= 0) throw new BadInputError(`${flag} must be a positive number, got '${text}'`);
  return n;
}

/**
 * The documents of each size's sample. Every core document is kept, so a size below the
 * core is the core alone (`60k` of debian-plus-registries: Debian's 60,514 documents);
 * a size above the whole collection, or two sizes that come to the same sample, are refused.
 */
export function sampleSizes(sizes: readonly number[], collection: { core: number; distractors: number }): number[] {
  const all = collection.core + collection.distractors;
  const samples = sizes.map((size) => {
    if (size > all) throw new BadInputError(`--sizes: ${size} is more than the collection's ${all} documents`);
    return Math.max(size, collection.core);
  });
  const repeated = samples.findIndex((n, i) => samples.indexOf(n) !== i);
  if (repeated >= 0) throw new BadInputError(`--sizes: ${sizes[samples.indexOf(samples[repeated]!)]} and ${sizes[repeated]} are the same sample of ${samples[repeated]} documents (the collection's core alone)`);
  return samples;
}
