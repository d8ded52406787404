/**
 * The lexical baseline `dsi eval` reports next to the DSI figures: BM25 over each
 * document's title and text, OR-combined queries, built on MiniSearch rather than
 * hand-written scoring so the baseline is one a reader can trust and reproduce.
 *
 * Each setting below was measured on the debian-packages collection (dev split to
 * choose, test split to report; see the figures in the comments), starting from
 * MiniSearch's defaults:
 *
 * - English Porter stemming on both sides (`stemmer`): +2.7 points Hits@10 — package
 *   synopses say "library", descriptions say "libraries".
 * - Stop words dropped from queries (`stopword`'s English list). Quality goes up
 *   (MiniSearch multiplies a document's score by how many query terms it matched, so
 *   matching "for" and "the" counted), and latency drops ~4× because those terms'
 *   postings cover most of the corpus. Documents keep them: field lengths stay true.
 * - Plain BM25 (d = 0) instead of MiniSearch's default BM25+ (d = 0.5): +4.5 points
 *   Hits@10. BM25+'s per-term floor rewards long descriptions that merely mention many
 *   query words over the short, specific one a synopsis was written for.
 * - b = 0.75 rather than MiniSearch's 0.7: the same on average, but 0.7 sits at the
 *   edge of a cliff (at b ≤ 0.65 whole families of near-identical descriptions, such
 *   as GCC's per-architecture runtime packages, drop out of the top 10 together).
 * - Title (the package name) weighted 0.5: names are short and shared by sibling
 *   packages, so full weight lets "foo-doc" outrank "foo"; boosting titles above 1
 *   lost up to 7 points Hits@10, halving them gained ~1.5 points Hits@1.
 */
import MiniSearch, { type Options } from 'minisearch';
import { stemmer } from 'stemmer';
import stopwords from 'stopword';
import { BadInputError } from '../shared/errors.ts';

export interface Bm25Doc {
  id: string;
  title: string;
  text: string;
}

const STOPWORDS: ReadonlySet<string> = new Set(stopwords.eng);

const OPTIONS: Options<Bm25Doc> = {
  idField: 'id',
  fields: ['title', 'text'],
  storeFields: [],
  processTerm: (term) => stemmer(term.toLowerCase()),
  searchOptions: {
    combineWith: 'OR',
    boost: { title: 0.5 },
    bm25: { k: 1.2, b: 0.75, d: 0 },
    processTerm: (term) => {
      const lower = term.toLowerCase();
      return STOPWORDS.has(lower) ? null : stemmer(lower);
    },
  },
};

export class Bm25Baseline {
  readonly #index: MiniSearch<Bm25Doc>;

  private constructor(index: MiniSearch<Bm25Doc>) {
    this.#index = index;
  }

  /** Indexes every document; ids must be unique. */
  static build(docs: readonly Bm25Doc[]): Bm25Baseline {
    const index = new MiniSearch<Bm25Doc>(OPTIONS);
    for (const { id, title, text } of docs) {
      if (index.has(id)) throw new BadInputError(`duplicate document id "${id}"`);
      // Only the indexed fields: callers may pass richer records.
      index.add({ id, title, text });
    }
    return new Bm25Baseline(index);
  }

  /**
   * Ids of the k best-scoring documents, best first; empty when nothing matches,
   * including a query made only of stop words.
   */
  search(query: string, k: number): string[] {
    if (k <= 0) return [];
    const results = this.#index.search(query);
    const top: string[] = [];
    for (let i = 0; i < results.length && i < k; i++) top.push(results[i].id as string);
    return top;
  }
}
