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
  /** Name terms of document d: nameTerms[nameOffsets[d] .. nameOffsets[d + 1]) (term numbers ascending), the few a search reads per candidate. */
  readonly nameOffsets: Int32Array;
  readonly nameTerms: Int32Array;

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
    const documents = this.docOffsets.length - 1;
    this.nameOffsets = new Int32Array(documents + 1);
    for (let d = 0; d < documents; d++) {
      let names = 0;
      for (let p = this.docOffsets[d]!; p < this.docOffsets[d + 1]!; p++) if (this.docFields[p] === Field.name) names++;
      this.nameOffsets[d + 1] = this.nameOffsets[d]! + names;
    }
    this.nameTerms = new Int32Array(this.nameOffsets[documents]!);
    for (let d = 0, n = 0; d < documents; d++) {
      for (let p = this.docOffsets[d]!; p < this.docOffsets[d + 1]!; p++) if (this.docFields[p] === Field.name) this.nameTerms[n++] = this.docTerms[p]!;
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
    let total = 0;
    for (const d of docs) total += d.terms.length;
    const docOffsets = new Int32Array(docs.length + 1);
    const termIds = new Uint32Array(total);
    const impacts = new Float32Array(total);
    const fields = new Uint8Array(total);
    let at = 0;
    docs.forEach((d, doc) => {
      for (let i = 0; i < d.terms.length; i++, at++) {
        termIds[at] = d.terms[i]!;
        impacts[at] = stats.impact(d.fields[i]! as Field, d.counts[i]!, d);
        fields[at] = d.fields[i]!;
      }
      docOffsets[doc + 1] = at;
    });
    return TermIndex.fromDocuments({ docOffsets, termIds, impacts, fields });
  }

  /**
   * An index from its documents' term lists (term ids ascending within each document),
   * which is how a shard stores it: the postings by term are rebuilt here.
   */
  static fromDocuments(lists: DocumentLists): TermIndex {
    const { docOffsets, termIds, impacts: docImpacts, fields: docFields } = lists;
    const terms = Uint32Array.from(new Set(termIds)).sort();
    const total = termIds.length;
    const docTerms = new Int32Array(total);
    const offsets = new Int32Array(terms.length + 1);
    for (let p = 0; p < total; p++) {
      const t = searchSorted(terms, termIds[p]!);
      docTerms[p] = t;
      offsets[t + 1]!++;
    }
    for (let t = 0; t < terms.length; t++) offsets[t + 1]! += offsets[t]!;
    const fill = offsets.slice(0, terms.length);
    const postingDocs = new Int32Array(total);
    const impacts = new Float32Array(total);
    const documents = docOffsets.length - 1;
    for (let doc = 0; doc < documents; doc++) {
      for (let p = docOffsets[doc]!; p < docOffsets[doc + 1]!; p++) {
        const slot = fill[docTerms[p]!]!++;
        postingDocs[slot] = doc;
        impacts[slot] = docImpacts[p]!;
      }
    }
    return new TermIndex({ terms, offsets, docs: postingDocs, impacts, docOffsets, docTerms, docImpacts, docFields });
  }

  /** The term lists of some of this index's documents (in the order given), as a shard keeps them. */
  documentLists(members: readonly number[] = Array.from({ length: this.documents }, (_, d) => d)): DocumentLists {
    let total = 0;
    for (const d of members) total += this.docOffsets[d + 1]! - this.docOffsets[d]!;
    const docOffsets = new Int32Array(members.length + 1);
    const termIds = new Uint32Array(total);
    const impacts = new Float32Array(total);
    const fields = new Uint8Array(total);
    let at = 0;
    members.forEach((d, i) => {
      for (let p = this.docOffsets[d]!; p < this.docOffsets[d + 1]!; p++, at++) {
        termIds[at] = this.terms[this.docTerms[p]!]!;
        impacts[at] = this.docImpacts[p]!;
        fields[at] = this.docFields[p]!;
      }
      docOffsets[i + 1] = at;
    });
    return { docOffsets, termIds, impacts, fields };
  }

  /** The index of some of this index's documents (in the order given): a shard's, cut out of the collection's. */
  subset(members: readonly number[]): TermIndex {
    return TermIndex.fromDocuments(this.documentLists(members));
  }
}

/** Documents' term lists in compressed rows: document d's terms are at docOffsets[d] .. docOffsets[d + 1]. */
export interface DocumentLists {
  readonly docOffsets: Int32Array;
  /** Term ids, ascending within each document. */
  readonly termIds: Uint32Array;
  readonly impacts: Float32Array;
  readonly fields: Uint8Array;
}
