/**
 * Synthetic queries without a language model: a bag-of-words generator that writes, for
 * any document, a query of the kind its collection's users write (DSI-QG and doc2query
 * make them with a sequence model; there is none to download here).
 *
 * A query is drawn from the document's own words, each with the probability that a
 * user's query repeats it, a logistic function of where the word stands (the name, how
 * early in the text), how often it occurs and how rare it is in the collection; and from
 * words users add for a part of the document's name ("doc" → "documentation", "dev" →
 * "development files"). Its length follows the training queries'. All of it is learnt
 * from the training pairs (train-generator.ts); an index without any starts from a
 * generator that favours the name and the first sentence.
 *
 * Deterministic: a document's queries depend only on the generator, the document and
 * the seed, never on the order documents are generated in.
 */
import { mulberry32 } from '../../util/random.ts';
import { tokenize } from '../../text/featurizer.ts';
import { isStopword, nameParts, stem } from '../lexical/terms.ts';

/** Feature layout of a document word (one-hot buckets plus a bias). */
export const WORD_FEATURES = {
  bias: 0,
  inName: 1,
  /** First position in the text: [0,3) [3,8) [8,16) [16,32) [32,∞). */
  position: [2, 3, 4, 5, 6],
  /** Count in the document: 1, 2, ≥ 3. */
  count: [7, 8, 9],
  /** Collection idf: < 2, [2,4), [4,6), [6,8), ≥ 8. */
  idf: [10, 11, 12, 13, 14],
  size: 15,
} as const;

export interface GeneratorModel {
  /** Logistic weights over WORD_FEATURES. */
  readonly wordWeights: Float32Array;
  /** Probability of each query length in content words (index = length; index 0 unused). */
  readonly lengths: Float32Array;
  /** Name part (stemmed) → words users add for it, each with its probability. */
  readonly nameWords: ReadonlyMap<string, readonly { word: string; p: number }[]>;
}

/** The generator of an index with no training queries: the name and the opening words, rare words over common ones. */
export function defaultGenerator(): GeneratorModel {
  const w = new Float32Array(WORD_FEATURES.size);
  w[WORD_FEATURES.bias] = -1.5;
  w[WORD_FEATURES.inName] = 2;
  [1.5, 1, 0.3, -0.5, -1.2].forEach((v, i) => (w[WORD_FEATURES.position[i]!] = v));
  [0, 0.3, 0.6].forEach((v, i) => (w[WORD_FEATURES.count[i]!] = v));
  [-1.5, -0.5, 0.3, 0.5, 0.3].forEach((v, i) => (w[WORD_FEATURES.idf[i]!] = v));
  const lengths = new Float32Array(13);
  [0, 0.05, 0.12, 0.18, 0.2, 0.17, 0.12, 0.08, 0.04, 0.02, 0.01, 0.005, 0.005].forEach((p, i) => (lengths[i] = p));
  return { wordWeights: w, lengths, nameWords: new Map() };
}

/** A document's candidate words: distinct content tokens (stop words dropped) with their features. */
export interface DocumentWord {
  readonly word: string;
  readonly stem: string;
  readonly position: number;
  readonly features: Int32Array;
}

/** Candidate words of a document, in order of first occurrence (title words first). */
export function documentWords(title: string, text: string, idfOf: (stem: string) => number, maxTokens = 256): DocumentWord[] {
  const names = new Set(nameParts(title));
  const tokens = [...tokenize(title, 16), ...tokenize(text, maxTokens)];
  const first = new Map<string, number>();
  const counts = new Map<string, number>();
  tokens.forEach((t, i) => {
    if (isStopword(t) || t.length < 2) return;
    if (!first.has(t)) first.set(t, i);
    counts.set(t, (counts.get(t) ?? 0) + 1);
  });
  const out: DocumentWord[] = [];
  for (const [word, position] of first) {
    const s = stem(word);
    const features: number[] = [WORD_FEATURES.bias];
    if (names.has(s)) features.push(WORD_FEATURES.inName);
    features.push(WORD_FEATURES.position[bucket(position, [3, 8, 16, 32])]!);
    features.push(WORD_FEATURES.count[Math.min(2, counts.get(word)! - 1)]!);
    features.push(WORD_FEATURES.idf[bucket(idfOf(s), [2, 4, 6, 8])]!);
    out.push({ word, stem: s, position, features: Int32Array.from(features) });
  }
  return out;
}

export function wordProbability(model: GeneratorModel, features: Int32Array): number {
  let z = 0;
  for (const f of features) z += model.wordWeights[f]!;
  return 1 / (1 + Math.exp(-z));
}

/**
 * `count` queries for one document. Words are drawn without replacement, each in
 * proportion to its probability (Efraimidis–Spirakis keys), kept in document order,
 * followed by the words the name's parts call for.
 */
export function generateQueries(model: GeneratorModel, doc: { title: string; words: readonly DocumentWord[] }, seed: number, docNumber: number, count: number): string[] {
  const rand = mulberry32((seed * 0x9e3779b1) ^ (docNumber * 0x85ebca6b));
  const out: string[] = [];
  const parts = nameParts(doc.title);
  for (let q = 0; q < count; q++) {
    const length = drawLength(model.lengths, rand);
    const keyed = doc.words.map((w) => ({ w, key: Math.log(rand() + 1e-12) / Math.max(1e-6, wordProbability(model, w.features)) }));
    keyed.sort((a, b) => b.key - a.key || a.w.position - b.w.position);
    const chosen = keyed.slice(0, length).map((k) => k.w).sort((a, b) => a.position - b.position);
    const words = chosen.map((w) => w.word);
    for (const part of parts) for (const { word, p } of model.nameWords.get(part) ?? []) if (rand() < p && !words.includes(word)) words.push(word);
    if (words.length > 0) out.push(words.join(' '));
  }
  return out;
}

function drawLength(lengths: Float32Array, rand: () => number): number {
  let r = rand();
  for (let n = 1; n < lengths.length; n++) {
    r -= lengths[n]!;
    if (r <= 0) return n;
  }
  return lengths.length - 1;
}

function bucket(value: number, edges: readonly number[]): number {
  let i = 0;
  while (i < edges.length && value >= edges[i]!) i++;
  return i;
}
