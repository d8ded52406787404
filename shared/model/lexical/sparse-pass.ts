import { kthLargest } from '../../util/kth-largest.ts';
import type { QueryHead } from './query-head.ts';
import type { TermIndex } from './term-index.ts';

/** A query's terms and their weights, as the head weighs them (typed arrays, or the plain arrays a request carries). */
export interface QueryTerms {
  readonly ids: ArrayLike<number>;
  readonly weights: ArrayLike<number>;
}

/** One query term resolved against an index: its number there, weight, and the most it can add to a score. */
interface ResolvedTerm {
  readonly number: number;
  readonly weight: number;
  readonly bound: number;
}

/**
 * Scores documents of an index against weighted query terms:
 *   score(d) = prior(d) + Σ weight(t) · impact(t, d).
 *
 * Terms are taken by how much they can add, most first (MaxScore): once the k-th best
 * score so far is out of reach of every document not yet touched (its prior plus what
 * the remaining terms could add at most), the remaining terms only update the touched
 * documents, looked up in their own term lists instead of walking long postings. So a
 * query word found in most documents ("library") costs little, and the top k are exact.
 *
 * scoreOf(d) is exact for any document (computed from its term list when the pass did
 * not touch it), since the caller combines lexical scores with the semantic half for
 * candidates the pass did not rank first. Not reentrant: one pass at a time per instance.
 */
export class SparsePass {
  readonly index: TermIndex;
  /** The head's prior of each document: the sum over its name terms. */
  #priors: Float32Array;
  #maxPrior = 0;
  readonly #scores: Float32Array;
  /** The pass that last touched each document: stale scores read as unset without clearing the array. */
  readonly #pass: Uint32Array;
  readonly #touched: Int32Array;
  /** Where the k-th best touched score is found (kthLargest's heap). */
  readonly #scratch: Float32Array;
  #touchedCount = 0;
  #current = 0;
  #terms: ResolvedTerm[] = [];
  readonly #averageTerms: number;
  /** Weight of each term number in the current query (0 when absent), for lookups from documents' term lists. */
  readonly #queryWeight: Float32Array;
  readonly #queryStamp: Uint32Array;
  /**
   * The current query's term numbers ascending, with their weights: a document's term list
   * (ascending too) is matched against them in one merge, reading neither array at random.
   */
  #queryNumbers = new Int32Array(64);
  #queryWeights = new Float32Array(64);
  #queryCount = 0;
  /** remaining[i] of the current pass (see run), kept between passes rather than allocated per query. */
  #remaining = new Float64Array(65);

  constructor(index: TermIndex, priors: Float32Array) {
    if (priors.length !== index.documents) throw new Error(`sparse pass: ${priors.length} priors for ${index.documents} documents`);
    this.index = index;
    this.#priors = priors;
    this.setPriors(priors);
    this.#averageTerms = index.documents ? index.postings / index.documents : 0;
    this.#scores = new Float32Array(index.documents);
    this.#pass = new Uint32Array(index.documents);
    this.#touched = new Int32Array(index.documents);
    this.#scratch = new Float32Array(index.documents);
    this.#queryWeight = new Float32Array(index.terms.length);
    this.#queryStamp = new Uint32Array(index.terms.length);
  }

  get priors(): Float32Array {
    return this.#priors;
  }

  /** New document priors (training moves them); the array is used as it is, not copied. */
  setPriors(priors: Float32Array): void {
    if (priors.length !== this.index.documents) throw new Error(`sparse pass: ${priors.length} priors for ${this.index.documents} documents`);
    let maxPrior = 0;
    for (const p of priors) if (p > maxPrior) maxPrior = p;
    this.#priors = priors;
    this.#maxPrior = maxPrior;
  }

  static withHead(index: TermIndex, head: QueryHead): SparsePass {
    return new SparsePass(index, documentPriors(index, head));
  }

  /** Runs the pass; returns the `limit` best documents the query touches, best first. */
  run(query: QueryTerms, limit: number): { id: number; score: number }[] {
    const current = this.#begin(query);
    const terms = this.#terms;
    const { offsets, docs, impacts } = this.index;
    const scores = this.#scores;
    const pass = this.#pass;
    const priors = this.#priors;
    const touched = this.#touched;
    // remaining[i]: the most terms i.. can add to a document's score.
    if (this.#remaining.length <= terms.length) this.#remaining = new Float64Array(2 * terms.length + 1);
    const remaining = this.#remaining;
    remaining[terms.length] = 0;
    for (let i = terms.length - 1; i >= 0; i--) remaining[i] = remaining[i + 1]! + Math.max(0, terms[i]!.bound);
    let count = 0;
    // Postings walked since the stop rule was last tested: a test scans the touched documents,
    // so it is tried again only once walking on would cost as much (stopping later is as exact).
    let walked = 0;
    let i = 0;
    for (; i < terms.length; i++) {
      const { number: t, weight: w } = terms[i]!;
      const start = offsets[t]!;
      const end = offsets[t + 1]!;
      // Worth finding the k-th score only once the terms done could have lifted it above what the rest can add.
      const reachable = remaining[0]! - remaining[i]!;
      if (limit > 0 && count >= limit && reachable >= remaining[i]! && walked + end - start >= count) {
        walked = 0;
        if (countAtLeast(scores, touched, count, this.#maxPrior + remaining[i]!, limit)) break;
      }
      walked += end - start;
      for (let p = start; p < end; p++) {
        const d = docs[p]!;
        if (pass[d] !== current) {
          pass[d] = current;
          scores[d] = priors[d]!;
          touched[count++] = d;
        }
        scores[d]! += w * impacts[p]!;
      }
    }
    this.#touchedCount = count;
    // The rest only complete the documents that can still reach the top `limit`.
    if (i < terms.length) this.#finishTouched(terms.slice(i), current, limit, remaining[i]!);
    return this.#best(limit);
  }

  /** The `limit` best touched documents, best first (ties: the smaller number first). */
  #best(limit: number): { id: number; score: number }[] {
    const scores = this.#scores;
    const touched = this.#touched;
    const count = this.#touchedCount;
    const kth = this.#kthTouched(limit);
    const out: { id: number; score: number }[] = [];
    for (let k = 0; k < count; k++) {
      const d = touched[k]!;
      if (scores[d]! >= kth) out.push({ id: d, score: scores[d]! });
    }
    out.sort((a, b) => b.score - a.score || a.id - b.id);
    if (out.length > limit) out.length = Math.max(0, limit);
    return out;
  }

  /** The last query's exact score of a document (its prior alone when it shares no term with the query). */
  scoreOf(doc: number): number {
    if (this.#pass[doc] === this.#current) return this.#scores[doc]!;
    return this.#priors[doc]! + this.#lookup(doc);
  }

  /**
   * The last query's exact score of a document, as scoreOf, and in `names` how many of its
   * name terms the query has (directly or by a translation), of how many: a name with parts
   * the query never mentions ("foo-dbg" for "foo library") is a near-duplicate it did not
   * ask for. Read from its name terms alone (a touched document's score is known).
   */
  evidenceOf(doc: number, names: { matched: number; total: number }): number {
    const { nameOffsets, nameTerms } = this.index;
    const stamp = this.#queryStamp;
    const weight = this.#queryWeight;
    const current = this.#current;
    let matched = 0;
    const end = nameOffsets[doc + 1]!;
    for (let p = nameOffsets[doc]!; p < end; p++) {
      const t = nameTerms[p]!;
      if (stamp[t] === current && weight[t]! > 0) matched++;
    }
    names.matched = matched;
    names.total = end - nameOffsets[doc]!;
    return this.scoreOf(doc);
  }

  /** Resolves the query's terms here, strongest first; returns the pass number. */
  #begin(query: QueryTerms): number {
    const current = ++this.#current;
    this.#touchedCount = 0;
    const terms: ResolvedTerm[] = [];
    const { maxImpacts } = this.index;
    for (let q = 0; q < query.ids.length; q++) {
      const t = this.index.numberOf(query.ids[q]!);
      if (t < 0) continue;
      const w = query.weights[q]!;
      this.#queryWeight[t] = w;
      this.#queryStamp[t] = current;
      terms.push({ number: t, weight: w, bound: w * maxImpacts[t]! });
    }
    // Strongest first; terms that can only lower a score (negative weight) last.
    terms.sort((a, b) => b.bound - a.bound || a.number - b.number);
    this.#terms = terms;
    this.#sortNumbers(terms);
    return current;
  }

  /**
   * Adds the terms left after the pass stopped walking postings to the touched documents
   * that can still be among the top `limit`. Terms that can only lower a score go first, to
   * every touched document: the k-th score after them is a floor under the final k-th. The
   * rest raise a score by `rest` at most, so a document below the floor by more than that
   * is let go, marked untouched (its exact score, if asked for, is computed from its term
   * list by scoreOf and evidenceOf); the others take the rest.
   */
  #finishTouched(terms: readonly ResolvedTerm[], current: number, limit: number, rest: number): void {
    const scores = this.#scores;
    const pass = this.#pass;
    const touched = this.#touched;
    // Terms are sorted by bound: the ones that can only lower a score are last.
    let split = 0;
    while (split < terms.length && terms[split]!.bound >= 0) split++;
    this.#addToTouched(terms.slice(split), current);
    const kth = this.#kthTouched(limit);
    // Float32 sums of the same terms in another order differ in their last bits: keep a margin.
    const floor = kth - rest - 1e-4 * (Math.abs(kth) + 1);
    let kept = 0;
    for (let k = 0; k < this.#touchedCount; k++) {
      const d = touched[k]!;
      if (scores[d]! >= floor) touched[kept++] = d;
      else pass[d] = 0;
    }
    this.#touchedCount = kept;
    this.#addToTouched(terms.slice(0, split), current);
  }

  /** The k-th best score among the touched documents (−∞ when fewer are touched). */
  #kthTouched(k: number): number {
    return kthLargest(this.#scores, this.#touched, this.#touchedCount, k, this.#scratch);
  }

  /** Adds terms to every touched document: from the terms' postings, or from the documents' term lists when those are shorter. */
  #addToTouched(terms: readonly ResolvedTerm[], current: number): void {
    const { offsets, docs, impacts, docOffsets, docTerms, docImpacts } = this.index;
    const scores = this.#scores;
    const pass = this.#pass;
    const touched = this.#touched;
    let postings = 0;
    for (const term of terms) postings += offsets[term.number + 1]! - offsets[term.number]!;
    // Both ways read memory linearly: a touched document's term list costs its length.
    if (postings < this.#touchedCount * this.#averageTerms) {
      for (const { number: t, weight: w } of terms) {
        const end = offsets[t + 1]!;
        for (let p = offsets[t]!; p < end; p++) if (pass[docs[p]!] === current) scores[docs[p]!]! += w * impacts[p]!;
      }
      return;
    }
    // Which of the query's terms are still to add: stamped with the negated pass number.
    const stamp = this.#queryStamp;
    const weight = this.#queryWeight;
    for (const term of terms) stamp[term.number] = ~current >>> 0;
    const pending = ~current >>> 0;
    for (let k = 0; k < this.#touchedCount; k++) {
      const d = touched[k]!;
      let add = 0;
      const end = docOffsets[d + 1]!;
      for (let p = docOffsets[d]!; p < end; p++) {
        const t = docTerms[p]!;
        if (stamp[t] === pending) add += weight[t]! * docImpacts[p]!;
      }
      scores[d]! += add;
    }
    for (const term of terms) stamp[term.number] = current;
  }

  /** The query's term numbers ascending, each once, with the weight the query gives it. */
  #sortNumbers(terms: readonly ResolvedTerm[]): void {
    if (this.#queryNumbers.length < terms.length) {
      this.#queryNumbers = new Int32Array(terms.length);
      this.#queryWeights = new Float32Array(terms.length);
    }
    const numbers = this.#queryNumbers;
    for (let i = 0; i < terms.length; i++) numbers[i] = terms[i]!.number;
    numbers.subarray(0, terms.length).sort();
    let count = 0;
    for (let i = 0; i < terms.length; i++) {
      if (count > 0 && numbers[count - 1] === numbers[i]) continue;
      numbers[count] = numbers[i]!;
      this.#queryWeights[count] = this.#queryWeight[numbers[i]!]!;
      count++;
    }
    this.#queryCount = count;
  }

  /** Σ weight · impact over the query's terms in one document's term list. */
  #lookup(doc: number): number {
    const { docOffsets, docTerms, docImpacts } = this.index;
    const numbers = this.#queryNumbers;
    const weights = this.#queryWeights;
    const count = this.#queryCount;
    let s = 0;
    let q = 0;
    const end = docOffsets[doc + 1]!;
    for (let p = docOffsets[doc]!; p < end && q < count; p++) {
      const t = docTerms[p]!;
      while (q < count && numbers[q]! < t) q++;
      if (q < count && numbers[q] === t) s += weights[q]! * docImpacts[p]!;
    }
    return s;
  }
}

/** Whether at least `k` of the first `count` touched documents score `bound` or more: the k-th score reaches it. */
function countAtLeast(scores: Float32Array, touched: Int32Array, count: number, bound: number, k: number): boolean {
  let n = 0;
  for (let i = 0; i < count; i++) if (scores[touched[i]!]! >= bound && ++n >= k) return true;
  return false;
}

/** prior(d) = Σ over d's name terms of the head's prior for that term. */
export function documentPriors(index: TermIndex, head: QueryHead): Float32Array {
  const out = new Float32Array(index.documents);
  if (head.learnt.priors.ids.length === 0) return out;
  const termPrior = new Float32Array(index.terms.length);
  for (let t = 0; t < index.terms.length; t++) termPrior[t] = head.priorOf(index.terms[t]!);
  const { nameOffsets, nameTerms } = index;
  for (let d = 0; d < index.documents; d++) {
    let s = 0;
    for (let p = nameOffsets[d]!; p < nameOffsets[d + 1]!; p++) s += termPrior[nameTerms[p]!]!;
    out[d] = s;
  }
  return out;
}
