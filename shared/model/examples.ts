import type { FeatureBag, FeaturizerOptions } from '../text/featurizer.ts';
import type { EncodedFeatures, Vocabulary } from '../text/vocabulary.ts';
import { fullView, leadView, spanViews, type TokenizedDoc, type ViewOptions } from './views.ts';

/** One training example: the features of a text and the document it must lead to. */
export interface DocExample {
  readonly features: EncodedFeatures;
  readonly doc: number;
}

/** A training query, featurized once, pointing at a document by its position in the model's document list. */
export interface TrainingQuery {
  readonly doc: number;
  readonly bag: FeatureBag;
}

/** What a model trains on: its documents (tokenised) and the training queries pointing at them. */
export interface TrainingCorpus {
  readonly docs: readonly TokenizedDoc[];
  readonly queries: readonly TrainingQuery[];
}

/**
 * Builds each epoch's examples for one model's vocabulary. The fixed views (whole
 * document, lead, queries) are encoded once; random spans are drawn anew every epoch.
 */
export class ExampleStream {
  readonly #corpus: TrainingCorpus;
  readonly #vocabulary: Vocabulary;
  readonly #views: Readonly<ViewOptions>;
  readonly #featurizer: Readonly<FeaturizerOptions>;
  readonly #fixed: DocExample[];

  /** `wholeDocuments: false` leaves out the whole-document view (a text tower trained to match documents learns nothing from a document matching itself). */
  constructor(corpus: TrainingCorpus, vocabulary: Vocabulary, views: Readonly<ViewOptions>, featurizer: Readonly<FeaturizerOptions>, options: { wholeDocuments?: boolean } = {}) {
    this.#corpus = corpus;
    this.#vocabulary = vocabulary;
    this.#views = views;
    this.#featurizer = featurizer;
    const fixed: DocExample[] = [];
    corpus.docs.forEach((doc, i) => {
      if (options.wholeDocuments !== false) fixed.push({ features: vocabulary.encode(fullView(doc, featurizer)), doc: i });
      if (views.leadTokens > 0 && doc.textTokens.length > views.leadTokens) fixed.push({ features: vocabulary.encode(leadView(doc, views, featurizer)), doc: i });
    });
    for (const q of corpus.queries) {
      const features = vocabulary.encode(q.bag);
      for (let r = 0; r < views.queryRepeats; r++) fixed.push({ features, doc: q.doc });
    }
    this.#fixed = fixed.filter((e) => e.features.rows.length > 0);
  }

  /** Whole-document features of every document, in document order (the indexing view). */
  documentFeatures(): EncodedFeatures[] {
    return this.#corpus.docs.map((doc) => this.#vocabulary.encode(fullView(doc, this.#featurizer)));
  }

  epoch(rand: () => number): DocExample[] {
    const out = this.#fixed.slice();
    this.#corpus.docs.forEach((doc, i) => {
      for (const bag of spanViews(doc, this.#views, this.#featurizer, rand)) {
        const features = this.#vocabulary.encode(bag);
        if (features.rows.length > 0) out.push({ features, doc: i });
      }
    });
    return out;
  }
}
