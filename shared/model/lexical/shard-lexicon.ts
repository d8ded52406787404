import { documentPriors, SparsePass } from './sparse-pass.ts';
import type { QueryHead } from './query-head.ts';
import { TermIndex } from './term-index.ts';
import { documentTerms } from './terms.ts';

/**
 * The lexical half of one shard: its documents' term sets (postings with BM25 impacts
 * under the whole collection's statistics), each document's prior from the index's query
 * head, and the pass that scores them. Document numbers are the expert's (trie doc order).
 */
export class ShardLexicon {
  readonly index: TermIndex;
  readonly priors: Float32Array;
  readonly pass: SparsePass;

  constructor(index: TermIndex, priors: Float32Array) {
    this.index = index;
    this.priors = priors;
    this.pass = new SparsePass(index, priors);
  }

  /** A shard's lexicon from its documents' text (in the expert's order), under the index's statistics and head. */
  static fromDocuments(docs: readonly { title: string; text: string }[], head: QueryHead): ShardLexicon {
    const index = TermIndex.build(docs.map((d) => documentTerms(d.title, d.text)), head.stats);
    return new ShardLexicon(index, documentPriors(index, head));
  }

  /** A shard's lexicon cut out of the whole collection's index: documents `members` (collection numbers), in that order. */
  static of(collection: TermIndex, members: readonly number[], head: QueryHead): ShardLexicon {
    const index = collection.subset(members);
    return new ShardLexicon(index, documentPriors(index, head));
  }
}
