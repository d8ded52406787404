/**
 * Text → features, the one definition shared by training, the gating model and the
 * experts: a model only ever sees what this function produces, so any change here is a
 * format change (see FEATURIZER_VERSION).
 *
 * Features are hashed word unigrams and bigrams. Hashing keeps the function pure (no
 * vocabulary to ship alongside it); each model maps the hashes it has seen to rows of
 * its own embedding table (see vocabulary.ts), so 32-bit hashes cost nothing in size.
 */
export const FEATURIZER_VERSION = 1;

export interface FeaturizerOptions {
  /** Include word bigrams (adjacent token pairs) besides unigrams. */
  bigrams: boolean;
  /** Tokens past this many are ignored: bounds the cost of one example. */
  maxTokens: number;
}

export const DEFAULT_FEATURIZER: Readonly<FeaturizerOptions> = Object.freeze({ bigrams: true, maxTokens: 256 });

/** Unique feature hashes of a text with their counts, ids ascending. */
export interface FeatureBag {
  readonly ids: Uint32Array;
  readonly counts: Float32Array;
}

const TOKEN = /[\p{L}\p{N}]+/gu;
const LETTERS_THEN_DIGITS = /^(\p{L}{3,})\p{N}+$/u;

/** NFKC and lower case: "Ｐｙｔｈｏｎ" and "python" are one word. */
export function normalize(text: string): string {
  return text.normalize('NFKC').toLowerCase();
}

/**
 * Word tokens of normalised text. A token such as "python3" or "gtk4" also yields its
 * letter stem ("python", "gtk"), because package texts name versions that queries omit.
 */
export function tokenize(text: string, maxTokens = Number.POSITIVE_INFINITY): string[] {
  const out: string[] = [];
  for (const match of normalize(text).matchAll(TOKEN)) {
    if (out.length >= maxTokens) break;
    const token = match[0];
    out.push(token);
    const stem = LETTERS_THEN_DIGITS.exec(token);
    if (stem) out.push(stem[1]!);
  }
  return out;
}

const BIGRAM_BIT = 0x80000000;

/**
 * 31-bit FNV-1a over UTF-16 code units; the top bit tells bigrams from unigrams so a
 * vocabulary can treat the two kinds differently without re-tokenising.
 */
export function hashFeature(kind: 'unigram' | 'bigram', token: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < token.length; i++) h = Math.imul(h ^ token.charCodeAt(i), 0x01000193);
  h = (h ^ (h >>> 31)) & 0x7fffffff;
  return kind === 'bigram' ? (h | BIGRAM_BIT) >>> 0 : h;
}

export function isBigram(hash: number): boolean {
  return hash >= BIGRAM_BIT;
}

/** Hashes of the features of a token sequence, repeats included, in no particular order. */
export function featureHashes(tokens: readonly string[], options: Readonly<FeaturizerOptions>): number[] {
  const hashes: number[] = [];
  for (let i = 0; i < tokens.length; i++) {
    hashes.push(hashFeature('unigram', tokens[i]!));
    if (options.bigrams && i > 0) hashes.push(hashFeature('bigram', `${tokens[i - 1]} ${tokens[i]}`));
  }
  return hashes;
}

/** Counts repeated hashes into a bag with ascending ids. */
export function toBag(hashes: readonly number[]): FeatureBag {
  const sorted = Uint32Array.from(hashes).sort();
  let unique = 0;
  for (let i = 0; i < sorted.length; i++) if (i === 0 || sorted[i] !== sorted[i - 1]) unique++;
  const ids = new Uint32Array(unique);
  const counts = new Float32Array(unique);
  let j = -1;
  for (let i = 0; i < sorted.length; i++) {
    if (i === 0 || sorted[i] !== sorted[i - 1]) ids[++j] = sorted[i]!;
    counts[j]! += 1;
  }
  return { ids, counts };
}

/** The featurizer: text → bag of hashed unigram and bigram features. Pure and deterministic. */
export function featurize(text: string, options: Readonly<FeaturizerOptions> = DEFAULT_FEATURIZER): FeatureBag {
  return toBag(featureHashes(tokenize(text, options.maxTokens), options));
}

let lastQuery: { text: string; bigrams: boolean; maxTokens: number; bag: FeatureBag } | undefined;

/**
 * featurize for a query: one search featurizes its text for the gating model and again in
 * every shard it asks in the same process, so the last text's features are kept. The bag
 * is shared: read it, never change it.
 */
export function featurizeQuery(text: string, options: Readonly<FeaturizerOptions> = DEFAULT_FEATURIZER): FeatureBag {
  const { bigrams, maxTokens } = options;
  if (lastQuery?.text !== text || lastQuery.bigrams !== bigrams || lastQuery.maxTokens !== maxTokens) lastQuery = { text, bigrams, maxTokens, bag: featurize(text, options) };
  return lastQuery.bag;
}
