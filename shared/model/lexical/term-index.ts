import type { CollectionStatistics } from './statistics.ts';
import { searchSorted } from './sorted.ts';
import { Field, type DocumentTerms } from './terms.ts';

/**
 * The lexical half of a set of documents (a shard, or the whole collection while
 * training): every document's term set as postings by term, each posting holding the
 * term's saturated frequency in the document (its BM25 impact under the collection's
 * statistics), and the same postings by document. A query's score for a document is
 * Σ weight(term) · impact(term, doc): one pass over typed arrays.
 */
export class TermIndex {
  /** Term ids present here, ascending; a term's number is its position. */
  readonly terms: Uint32Array;
  /** Postings of term number t: docs[offsets[t] .. offsets[t + 1]), documents ascending. */
  readonly offsets: Int32Array;
  readonly docs: Int32Array;
  readonly impacts: Float32Array;
  /** The largest impact in each term's postings: how much the term can add to any score here, per unit of weight. */
  readonly maxImpacts: Float32Array;
  /** Terms of document d: docTerms[docOffsets[d] .. docOffsets[d + 1]) (term numbers ascending), with impacts and fields. */
  readonly docOffsets: Int32Array;
  readonly docTerms: Int32Array;
  readonly docImpacts: Float32Array;
  readonly docFields: Uint8Array;

  constructor(parts: {
    terms: Uint32Array;
    offsets: Int32Array;
    docs: Int32Array;
    impacts: Float32Array;
    docOffsets: Int32Array;
    docTerms: Int32Array;
    docImpacts: Float32Array;
    docFields: Uint8Array;
  }) {
    this.terms = parts.terms;
    this.offsets = parts.offsets;
    this.docs = parts.docs;
    this.impacts = parts.impacts;
    this.docOffsets = parts.docOffsets;
    this.docTerms = parts.docTerms;
    this.docImpacts = parts.docImpacts;
    this.docFields = parts.docFields;
    this.maxImpacts = new Float32Array(this.terms.length);
    for (let t = 0; t < this.terms.length; t++) {
      let max = 0;
      for (let p = this.offsets[t]!; p < this.offsets[t + 1]!; p++) if (this.impacts[p]! > max) max = this.impacts[p]!;
      this.maxImpacts[t] = max;
    }
  }

  get documents(): number {
    return this.docOffsets.length - 1;
  }

  get postings(): number {
    return this.docs.length;
  }

  /** The number of a term id here, or −1 when no document here has it. */
  numberOf(term: number): number {
    return searchSorted(this.terms, term);
  }

  static build(docs: readonly DocumentTerms[], stats: CollectionStatistics): TermIndex {
    const seen = new Set<number>();
    let total = 0;
    for (const d of docs) {
      for (const t of d.terms) seen.add(t);
      total += d.terms.length;
    }
    const terms = Uint32Array.from(seen).sort();
    const docOffsets = new Int32Array(docs.length + 1);
    const docTerms = new Int32Array(total);
    const docImpacts = new Float32Array(total);
    const docFields = new Uint8Array(total);
    const offsets = new Int32Array(terms.length + 1);
    let at = 0;
    docs.forEach((d, doc) => {
      // d.terms is ascending, so term numbers come out ascending too.
      for (let i = 0; i < d.terms.length; i++) {
        const t = searchSorted(terms, d.terms[i]!);
        const field = d.fields[i]! as Field;
        docTerms[at] = t;
        docImpacts[at] = stats.impact(field, d.counts[i]!, d);
        docFields[at] = field;
        offsets[t + 1]!++;
        at++;
      }
      docOffsets[doc + 1] = at;
    });
    for (let t = 0; t < terms.length; t++) offsets[t + 1]! += offsets[t]!;
    const fill = offsets.slice(0, terms.length);
    const postingDocs = new Int32Array(total);
    const impacts = new Float32Array(total);
    for (let doc = 0; doc < docs.length; doc++) {
      for (let p = docOffsets[doc]!; p < docOffsets[doc + 1]!; p++) {
        const slot = fill[docTerms[p]!]!++;
        postingDocs[slot] = doc;
        impacts[slot] = docImpacts[p]!;
      }
    }
    return new TermIndex({ terms, offsets, docs: postingDocs, impacts, docOffsets, docTerms, docImpacts, docFields });
  }
}
