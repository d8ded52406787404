import { mulberry32, shuffleInPlace } from '../../util/random.ts';
import { QueryHead, type LearntHead, type TermValues } from './query-head.ts';
import { SparsePass } from './sparse-pass.ts';
import type { TermIndex } from './term-index.ts';
import { Field, termOf } from './terms.ts';

export interface HeadTrainingOptions {
  epochs: number;
  learningRate: number;
  /** Documents the listwise loss compares the relevant one against: the head's own top list (its hardest negatives). */
  candidates: number;
  /** A (query word, name part) pair becomes a translation when it links this many training pairs. */
  minPairCount: number;
  /** Translations kept per query word at most (the most frequent pairs). */
  maxTranslations: number;
  /** Pull of every learnt value back to its start, per step it is updated (keeps rare words near idf). */
  decay: number;
  seed: number;
}

export const DEFAULT_HEAD_TRAINING: Readonly<HeadTrainingOptions> = Object.freeze({ epochs: 2, learningRate: 0.05, candidates: 32, minPairCount: 3, maxTranslations: 8, decay: 0.001, seed: 1 });

/** A training query as its words (queryWords), and the relevant document's number in the index. */
export interface HeadPair {
  readonly words: readonly string[];
  readonly doc: number;
}

export interface HeadTrainingReport {
  pairs: number;
  seconds: number;
  translations: number;
  /** Mean listwise loss of each epoch. */
  losses: number[];
}

/**
 * Trains the query head listwise over a whole collection's index: for each training
 * query, a softmax over the scores of the head's own top candidates plus the relevant
 * document (near-duplicates sharing its description are exactly what it ranks first),
 * and Adagrad on the weights that decide it: the query's term weights, its words'
 * translations into name terms, and the priors of the candidates' name terms.
 * Deterministic for a seed.
 */
export function trainQueryHead(start: QueryHead, index: TermIndex, pairs: readonly HeadPair[], options: Readonly<HeadTrainingOptions>): { head: QueryHead; report: HeadTrainingReport } {
  const started = performance.now();
  const terms = index.terms.length;
  const fieldOf = termFields(index);
  const initial = Float32Array.from(index.terms, (id, t) => start.weightOf(id, fieldOf[t]! as Field));
  const weights = initial.slice();
  const weightSquares = new Float32Array(terms);
  const priors = Float32Array.from(index.terms, (id, t) => (fieldOf[t] === Field.name ? start.priorOf(id) : 0));
  const priorSquares = new Float32Array(terms);
  const translations = translationCandidates(index, pairs, options.minPairCount, options.maxTranslations);
  const translationSquares = new Map<number, Float32Array>();
  for (const [word, table] of translations) translationSquares.set(word, new Float32Array(table.terms.length));

  // Each document's prior, refreshed every PRIOR_REFRESH pairs: summing it per touched document per pair would dominate training.
  const documentPrior = new Float32Array(index.documents);
  const pass = new SparsePass(index, documentPrior);
  const refreshPriors = () => {
    for (let d = 0; d < index.documents; d++) documentPrior[d] = priorOfDoc(index, d, priors);
    pass.setPriors(documentPrior);
  };
  const queryWeight = new Float32Array(terms);
  const queryStamp = new Uint32Array(terms);
  const gradient = new Float32Array(terms);
  let current = 0;

  const order = Int32Array.from(pairs.keys());
  const random = mulberry32(options.seed);
  const losses: number[] = [];
  const step = (g: number, squares: number) => (options.learningRate * g) / Math.sqrt(squares + 1e-8);

  for (let epoch = 0; epoch < options.epochs; epoch++) {
    shuffleInPlace(order, random);
    let lossSum = 0;
    let counted = 0;
    for (const [n, i] of order.entries()) {
      if (n % PRIOR_REFRESH === 0) refreshPriors();
      const pair = pairs[i]!;
      current++;
      // The query's terms: each word's description and name term, and its translations.
      const queryTerms: number[] = [];
      const addTerm = (t: number, w: number) => {
        if (queryStamp[t] !== current) {
          queryStamp[t] = current;
          queryWeight[t] = 0;
          gradient[t] = 0;
          queryTerms.push(t);
        }
        queryWeight[t]! += w;
      };
      const wordIds = pair.words.map((w) => termOf(Field.text, w));
      pair.words.forEach((word, k) => {
        const text = index.numberOf(wordIds[k]!);
        if (text >= 0) addTerm(text, weights[text]!);
        const name = index.numberOf(termOf(Field.name, word));
        if (name >= 0) addTerm(name, weights[name]!);
        const table = translations.get(wordIds[k]!);
        if (table) table.terms.forEach((t, j) => addTerm(t, table.weights[j]!));
      });
      if (queryTerms.length === 0) continue;
      queryTerms.sort((a, b) => a - b);
      const top = pass.run({ ids: Uint32Array.from(queryTerms, (t) => index.terms[t]!), weights: Float32Array.from(queryTerms, (t) => queryWeight[t]!) }, options.candidates);
      const candidates = top.map((h) => h.id);
      if (!candidates.includes(pair.doc)) candidates.push(pair.doc);
      const candidateScores = candidates.map((d) => pass.scoreOf(d));
      const max = Math.max(...candidateScores);
      const exp = candidateScores.map((s) => Math.exp(s - max));
      const z = exp.reduce((a, b) => a + b, 0);
      const relevantAt = candidates.indexOf(pair.doc);
      lossSum += -Math.log(exp[relevantAt]! / z + 1e-12);
      counted++;

      // d loss / d score(c) = p(c) − [c is relevant]; d score(c) / d queryWeight(t) = impact(t, c); d score(c) / d prior(n) = [n ∈ name(c)].
      const priorGradients = new Map<number, number>();
      candidates.forEach((d, c) => {
        const residual = exp[c]! / z - (c === relevantAt ? 1 : 0);
        if (Math.abs(residual) < 1e-7) return;
        for (let p = index.docOffsets[d]!; p < index.docOffsets[d + 1]!; p++) {
          const t = index.docTerms[p]!;
          if (queryStamp[t] === current) gradient[t]! += residual * index.docImpacts[p]!;
          if (index.docFields[p] === Field.name) priorGradients.set(t, (priorGradients.get(t) ?? 0) + residual);
        }
      });
      pair.words.forEach((word, k) => {
        for (const t of [index.numberOf(wordIds[k]!), index.numberOf(termOf(Field.name, word))]) {
          if (t < 0) continue;
          const g = gradient[t]! + options.decay * (weights[t]! - initial[t]!);
          weightSquares[t]! += g * g;
          weights[t]! -= step(g, weightSquares[t]!);
        }
        const table = translations.get(wordIds[k]!);
        if (!table) return;
        const squares = translationSquares.get(wordIds[k]!)!;
        table.terms.forEach((t, j) => {
          const g = gradient[t]! + options.decay * table.weights[j]!;
          squares[j]! += g * g;
          table.weights[j]! -= step(g, squares[j]!);
        });
      });
      for (const [t, gp] of priorGradients) {
        const g = gp + options.decay * priors[t]!;
        priorSquares[t]! += g * g;
        priors[t]! -= step(g, priorSquares[t]!);
      }
    }
    losses.push(counted ? lossSum / counted : 0);
  }

  const learnt: LearntHead = {
    weights: changed(index.terms, weights, initial),
    translations: packTranslations(index, translations),
    priors: changed(index.terms, priors, new Float32Array(terms)),
  };
  const head = new QueryHead(start.stats, learnt);
  return { head, report: { pairs: pairs.length, seconds: (performance.now() - started) / 1000, translations: learnt.translations.terms.length, losses } };
}

const PRIOR_REFRESH = 1000;

function priorOfDoc(index: TermIndex, d: number, priors: Float32Array): number {
  let s = 0;
  for (let p = index.docOffsets[d]!; p < index.docOffsets[d + 1]!; p++) if (index.docFields[p] === Field.name) s += priors[index.docTerms[p]!]!;
  return s;
}

function termFields(index: TermIndex): Uint8Array {
  const out = new Uint8Array(index.terms.length);
  for (let p = 0; p < index.docTerms.length; p++) out[index.docTerms[p]!] = index.docFields[p]!;
  return out;
}

/**
 * (query word, name term of the relevant document) pairs seen in at least `minCount`
 * training pairs, where the name term is not the word's own: the translations worth
 * learning. Their weights start at 0, so an unhelpful pair changes nothing.
 */
function translationCandidates(index: TermIndex, pairs: readonly HeadPair[], minCount: number, maxPerWord: number): Map<number, { terms: Int32Array; weights: Float32Array }> {
  const counts = new Map<number, Map<number, number>>();
  for (const pair of pairs) {
    const own = new Set(pair.words.map((w) => index.numberOf(termOf(Field.name, w))));
    for (const word of pair.words) {
      const id = termOf(Field.text, word);
      let table = counts.get(id);
      for (let p = index.docOffsets[pair.doc]!; p < index.docOffsets[pair.doc + 1]!; p++) {
        if (index.docFields[p] !== Field.name) continue;
        const t = index.docTerms[p]!;
        if (own.has(t)) continue;
        if (!table) counts.set(id, (table = new Map()));
        table.set(t, (table.get(t) ?? 0) + 1);
      }
    }
  }
  const out = new Map<number, { terms: Int32Array; weights: Float32Array }>();
  for (const [word, table] of counts) {
    const kept = [...table]
      .filter(([, n]) => n >= minCount)
      .sort((a, b) => b[1] - a[1] || a[0] - b[0])
      .slice(0, maxPerWord)
      .map(([t]) => t)
      .sort((a, b) => a - b);
    if (kept.length > 0) out.set(word, { terms: Int32Array.from(kept), weights: new Float32Array(kept.length) });
  }
  return out;
}

/** The learnt values that differ from their start, keyed by term id. */
function changed(ids: Uint32Array, values: Float32Array, start: Float32Array): TermValues {
  const keep: number[] = [];
  for (let t = 0; t < ids.length; t++) if (Math.abs(values[t]! - start[t]!) > 1e-4) keep.push(t);
  return { ids: Uint32Array.from(keep, (t) => ids[t]!), values: Float32Array.from(keep, (t) => values[t]!) };
}

/** Translations whose weight ended away from 0, packed by word id (ascending) with term ids. */
function packTranslations(index: TermIndex, tables: Map<number, { terms: Int32Array; weights: Float32Array }>): LearntHead['translations'] {
  const words = [...tables.keys()].sort((a, b) => a - b);
  const offsets = [0];
  const terms: number[] = [];
  const weights: number[] = [];
  const keptWords: number[] = [];
  for (const word of words) {
    const table = tables.get(word)!;
    const entries = [...table.terms].map((t, j) => ({ id: index.terms[t]!, w: table.weights[j]! })).filter((e) => Math.abs(e.w) > 0.01).sort((a, b) => a.id - b.id);
    if (entries.length === 0) continue;
    keptWords.push(word);
    for (const e of entries) {
      terms.push(e.id);
      weights.push(e.w);
    }
    offsets.push(terms.length);
  }
  return { words: Uint32Array.from(keptWords), offsets: Int32Array.from(offsets), terms: Uint32Array.from(terms), weights: Float32Array.from(weights) };
}
