import { tokenize } from '../../text/featurizer.ts';
import { isStopword, nameParts, queryWords, stem } from '../lexical/terms.ts';
import { defaultGenerator, wordProbability, WORD_FEATURES, type DocumentWord, type GeneratorModel } from './query-generator.ts';

export interface GeneratorPair {
  readonly query: string;
  readonly doc: { readonly title: string; readonly words: readonly DocumentWord[] };
}

/** A name part's added words are learnt once it is seen with this many training queries, and kept from this probability on. */
const MIN_NAME_PART_PAIRS = 30;
const MIN_NAME_WORD_PROBABILITY = 0.2;
const NAME_WORDS_PER_PART = 3;
const MAX_LENGTH = 12;

/**
 * Learns the generator from training pairs: which of a document's words its queries
 * repeat (logistic regression over the word features, Adagrad, started from the default
 * generator), how long queries are, and which words a name part calls for.
 * With no pairs it is the default generator.
 */
export function trainGenerator(pairs: readonly GeneratorPair[], epochs = 3, learningRate = 0.1): GeneratorModel {
  const start = defaultGenerator();
  if (pairs.length === 0) return start;
  const model: GeneratorModel = { wordWeights: start.wordWeights.slice(), lengths: new Float32Array(MAX_LENGTH + 1), nameWords: learnNameWords(pairs) };
  const squares = new Float32Array(WORD_FEATURES.size);
  for (let epoch = 0; epoch < epochs; epoch++) {
    for (const pair of pairs) {
      const wanted = new Set(queryWords(pair.query));
      for (const w of pair.doc.words) {
        const g = wordProbability(model, w.features) - (wanted.has(w.stem) ? 1 : 0);
        for (const f of w.features) {
          squares[f]! += g * g;
          model.wordWeights[f]! -= (learningRate * g) / Math.sqrt(squares[f]! + 1e-8);
        }
      }
    }
  }
  for (const pair of pairs) model.lengths[Math.max(1, Math.min(MAX_LENGTH, queryWords(pair.query).length))]! += 1 / pairs.length;
  return model;
}

function learnNameWords(pairs: readonly GeneratorPair[]): Map<string, { word: string; p: number }[]> {
  const partCounts = new Map<string, number>();
  const wordCounts = new Map<string, Map<string, number>>();
  for (const pair of pairs) {
    const own = new Set(pair.doc.words.map((w) => w.stem));
    const added = new Set<string>();
    for (const t of tokenize(pair.query, 64)) if (!isStopword(t) && t.length > 1 && !own.has(stem(t))) added.add(t);
    for (const part of new Set(nameParts(pair.doc.title))) {
      partCounts.set(part, (partCounts.get(part) ?? 0) + 1);
      let table = wordCounts.get(part);
      if (!table) wordCounts.set(part, (table = new Map()));
      for (const word of added) table.set(word, (table.get(word) ?? 0) + 1);
    }
  }
  const out = new Map<string, { word: string; p: number }[]>();
  for (const [part, n] of partCounts) {
    if (n < MIN_NAME_PART_PAIRS) continue;
    const words = [...wordCounts.get(part)!]
      .map(([word, c]) => ({ word, p: c / n }))
      .filter((e) => e.p >= MIN_NAME_WORD_PROBABILITY)
      .sort((a, b) => b.p - a.p || (a.word < b.word ? -1 : 1))
      .slice(0, NAME_WORDS_PER_PART);
    if (words.length > 0) out.set(part, words);
  }
  return out;
}
