import { Field, type DocumentTerms } from './terms.ts';
import { searchSorted } from './sorted.ts';

/**
 * What lexical scoring needs from the whole collection, not one shard: document
 * frequencies and the average field lengths. Every shard scores with the same ones, so
 * lexical scores from different shards are on one scale and the router's merge stays a
 * plain sort. Kept as two sorted typed arrays (term id → df).
 */
export class CollectionStatistics {
  readonly documents: number;
  readonly terms: Uint32Array;
  readonly df: Uint32Array;
  readonly averageTextLength: number;
  readonly averageNameLength: number;

  constructor(documents: number, terms: Uint32Array, df: Uint32Array, averageTextLength: number, averageNameLength: number) {
    if (terms.length !== df.length) throw new Error(`lexical statistics: ${terms.length} terms but ${df.length} frequencies`);
    this.documents = documents;
    this.terms = terms;
    this.df = df;
    this.averageTextLength = averageTextLength;
    this.averageNameLength = averageNameLength;
  }

  static of(docs: Iterable<DocumentTerms>): CollectionStatistics {
    const df = new Map<number, number>();
    let documents = 0;
    let text = 0;
    let name = 0;
    for (const d of docs) {
      documents++;
      text += d.textLength;
      name += d.nameLength;
      for (const t of d.terms) df.set(t, (df.get(t) ?? 0) + 1);
    }
    const terms = Uint32Array.from(df.keys()).sort();
    return new CollectionStatistics(documents, terms, Uint32Array.from(terms, (t) => df.get(t)!), documents ? text / documents : 0, documents ? name / documents : 0);
  }

  dfOf(term: number): number {
    const i = searchSorted(this.terms, term);
    return i >= 0 ? this.df[i]! : 0;
  }

  /** BM25's idf, never negative. */
  idf(term: number): number {
    const df = this.dfOf(term);
    return Math.log(1 + (this.documents - df + 0.5) / (df + 0.5));
  }

  /** A term's saturated frequency in one document: the part of BM25 that belongs to the document. */
  impact(field: Field, count: number, doc: Pick<DocumentTerms, 'textLength' | 'nameLength'>): number {
    const isName = field === Field.name;
    const b = isName ? BM25_SHAPE.nameB : BM25_SHAPE.textB;
    const length = isName ? doc.nameLength : doc.textLength;
    const average = (isName ? this.averageNameLength : this.averageTextLength) || 1;
    const k1 = BM25_SHAPE.k1;
    return (count * (k1 + 1)) / (count + k1 * (1 - b + (b * length) / average));
  }
}

/** BM25 term-frequency saturation and length normalisation per field; names are short and near constant, so b is small. */
export const BM25_SHAPE = { k1: 1.2, textB: 0.75, nameB: 0.3 } as const;

/** Start weight of a name term relative to a description term (the BM25 baseline's title boost, chosen on dev). */
export const NAME_BOOST = 0.5;
