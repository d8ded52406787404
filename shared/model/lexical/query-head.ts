import { NAME_BOOST, type CollectionStatistics } from './statistics.ts';
import { searchSorted } from './sorted.ts';
import { Field, termOf } from './terms.ts';

/** Term ids with weights, ids ascending: what a query sends to the sparse pass. */
export interface WeightedTerms {
  readonly ids: Uint32Array;
  readonly weights: Float32Array;
}

/** Sorted term ids with one value each. */
export interface TermValues {
  readonly ids: Uint32Array;
  readonly values: Float32Array;
}

/** Per query word (its description term id), the name terms it also reaches and with what weight. */
export interface Translations {
  readonly words: Uint32Array;
  readonly offsets: Int32Array;
  readonly terms: Uint32Array;
  readonly weights: Float32Array;
}

/** What the head learnt; empty for an index built without training queries. */
export interface LearntHead {
  /** Query-side weights of terms that training moved away from their start (idf, name terms × NAME_BOOST). */
  readonly weights: TermValues;
  /** Query word → name terms: "documentation" → name part "doc", "headers" → "dev". */
  readonly translations: Translations;
  /** Added to a document's score per name part it has (usually ≤ 0: "-dbg" packages are rarely what is asked for unless named). */
  readonly priors: TermValues;
}

export const EMPTY_HEAD: LearntHead = Object.freeze({
  weights: { ids: new Uint32Array(0), values: new Float32Array(0) },
  translations: { words: new Uint32Array(0), offsets: new Int32Array(1), terms: new Uint32Array(0), weights: new Float32Array(0) },
  priors: { ids: new Uint32Array(0), values: new Float32Array(0) },
});

/**
 * The query side of the lexical half: a weight per query term (started from BM25's idf,
 * so an untrained head is BM25), per query word a few learnt name terms it translates to,
 * and per name part a prior. One head for the whole index, so every shard scores a query
 * the same way.
 */
export class QueryHead {
  readonly stats: CollectionStatistics;
  readonly learnt: LearntHead;

  constructor(stats: CollectionStatistics, learnt: LearntHead = EMPTY_HEAD) {
    this.stats = stats;
    this.learnt = learnt;
  }

  /** A term's query-side weight before training. */
  initialWeight(term: number, field: Field): number {
    return this.stats.idf(term) * (field === Field.name ? NAME_BOOST : 1);
  }

  weightOf(term: number, field: Field): number {
    const i = searchSorted(this.learnt.weights.ids, term);
    return i >= 0 ? this.learnt.weights.values[i]! : this.initialWeight(term, field);
  }

  priorOf(nameTerm: number): number {
    const i = searchSorted(this.learnt.priors.ids, nameTerm);
    return i >= 0 ? this.learnt.priors.values[i]! : 0;
  }

  /**
   * The weighted terms of a query's words: each word's description and name term, plus
   * its translations; a term reached twice adds up. Terms no document has are kept (the
   * sparse pass skips them), so the result does not depend on which shard reads it.
   */
  queryTerms(words: readonly string[]): WeightedTerms {
    const acc = new Map<number, number>();
    const add = (term: number, w: number) => {
      if (w !== 0) acc.set(term, (acc.get(term) ?? 0) + w);
    };
    const { translations } = this.learnt;
    for (const word of words) {
      const text = termOf(Field.text, word);
      if (this.stats.dfOf(text) > 0) add(text, this.weightOf(text, Field.text));
      const name = termOf(Field.name, word);
      if (this.stats.dfOf(name) > 0) add(name, this.weightOf(name, Field.name));
      const at = searchSorted(translations.words, text);
      if (at >= 0) for (let i = translations.offsets[at]!; i < translations.offsets[at + 1]!; i++) add(translations.terms[i]!, translations.weights[i]!);
    }
    const ids = Uint32Array.from(acc.keys()).sort();
    return { ids, weights: Float32Array.from(ids, (id) => acc.get(id)!) };
  }
}
