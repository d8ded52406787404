import type { FeatureBag, FeaturizerOptions } from '../text/featurizer.ts';
import type { EncodedFeatures, Vocabulary } from '../text/vocabulary.ts';
import { fullView, leadView, spanViews, type TokenizedDoc, type ViewOptions } from './views.ts';

/** One training example: the features of a text and the document it must lead to. */
export interface DocExample {
  readonly features: EncodedFeatures;
  readonly doc: number;
  /** Documents a ranking loss should put below `doc` (a teacher's top list for a query), if any. */
  readonly negatives?: Int32Array;
}

/** A training query, featurized once, pointing at a document by its position in the model's document list. */
export interface TrainingQuery {
  readonly doc: number;
  readonly bag: FeatureBag;
  /** The teacher's top documents for this query other than `doc` (positions in the same list): hard negatives. */
  readonly negatives?: Int32Array;
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
  /** The fixed views of each document (those of #fixed), for epochs that draw a sample of them. */
  readonly #docViews: DocExample[][];
  /** The training queries' examples (the tail of #fixed). */
  readonly #queryExamples: DocExample[];
  /** sampledEpoch's span of each document no longer than a span, once drawn. */
  readonly #shortSpans = new Map<number, DocExample>();
  readonly #oneSpan: Readonly<ViewOptions>;
  /** Each document's whole-text features (documentFeatures), unless the stream leaves that view out. */
  readonly #wholeFeatures: EncodedFeatures[] | undefined;

  /** `wholeDocuments: false` leaves out the whole-document view (a text tower trained to match documents learns nothing from a document matching itself). */
  constructor(corpus: TrainingCorpus, vocabulary: Vocabulary, views: Readonly<ViewOptions>, featurizer: Readonly<FeaturizerOptions>, options: { wholeDocuments?: boolean } = {}) {
    this.#corpus = corpus;
    this.#vocabulary = vocabulary;
    this.#views = views;
    this.#featurizer = featurizer;
    this.#oneSpan = { ...views, spans: 1 };
    const nonEmpty = (e: DocExample) => e.features.rows.length > 0;
    const whole: EncodedFeatures[] = [];
    this.#docViews = corpus.docs.map((doc, i) => {
      const own: DocExample[] = [];
      if (options.wholeDocuments !== false) {
        whole.push(vocabulary.encode(fullView(doc, featurizer)));
        own.push({ features: whole[i]!, doc: i });
      }
      if (views.leadTokens > 0 && doc.textTokens.length > views.leadTokens) own.push({ features: vocabulary.encode(leadView(doc, views, featurizer)), doc: i });
      return own.filter(nonEmpty);
    });
    const queries: DocExample[] = [];
    for (const q of corpus.queries) {
      const features = vocabulary.encode(q.bag);
      for (let r = 0; r < views.queryRepeats; r++) queries.push(q.negatives ? { features, doc: q.doc, negatives: q.negatives } : { features, doc: q.doc });
    }
    this.#queryExamples = queries.filter(nonEmpty);
    this.#fixed = [...this.#docViews.flat(), ...this.#queryExamples];
    this.#wholeFeatures = options.wholeDocuments !== false ? whole : undefined;
  }

  /** Whole-document features of every document, in document order (the indexing view). */
  documentFeatures(): EncodedFeatures[] {
    // The whole-document views' own features when the stream has them: on 800K documents, encoding them again took minutes.
    return this.#wholeFeatures?.slice() ?? this.#corpus.docs.map((doc) => this.#vocabulary.encode(fullView(doc, this.#featurizer)));
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

  /**
   * An epoch whose cost does not grow with the size of a group: every training query's
   * examples, then for each group of documents (`groups[g]`, e.g. the documents of one
   * gating prototype row) at most `perGroup` of its views, drawn without replacement from
   * its documents' fixed views and their random spans (a span drawn is cut afresh). A group
   * with no more views than that gives all of them.
   */
  sampledEpoch(rand: () => number, groups: readonly Int32Array[], perGroup: number): DocExample[] {
    const out = this.#queryExamples.slice();
    const push = (e: DocExample) => {
      if (e.features.rows.length > 0) out.push(e);
    };
    for (const docs of groups) {
      // Slot s of the group: document d's fixed views, then its spans, documents in order.
      const starts = new Int32Array(docs.length + 1);
      docs.forEach((d, i) => (starts[i + 1] = starts[i]! + this.#docViews[d]!.length + this.#spanCount(d)));
      const total = starts[docs.length]!;
      const slots = new Int32Array(total);
      for (let k = 0; k < total; k++) slots[k] = k;
      const take = Math.min(perGroup, total);
      for (let k = 0; k < take; k++) {
        if (take < total) {
          const j = k + Math.floor(rand() * (total - k));
          [slots[k], slots[j]] = [slots[j]!, slots[k]!];
        }
        const slot = slots[k]!;
        let i = 0;
        while (starts[i + 1]! <= slot) i++;
        const d = docs[i]!;
        const view = slot - starts[i]!;
        const fixed = this.#docViews[d]!;
        push(view < fixed.length ? fixed[view]! : this.#span(d, rand));
      }
    }
    return out;
  }

  /** One span of a document: a random one, or the whole text of one no longer than a span (encoded once, as it never changes). */
  #span(doc: number, rand: () => number): DocExample {
    const cached = this.#shortSpans.get(doc);
    if (cached) return cached;
    const [bag] = spanViews(this.#corpus.docs[doc]!, this.#oneSpan, this.#featurizer, rand);
    const example = { features: this.#vocabulary.encode(bag!), doc };
    if (this.#corpus.docs[doc]!.textTokens.length <= this.#views.spanTokens) this.#shortSpans.set(doc, example);
    return example;
  }

  /** Random spans an epoch draws of a document (spanViews: a text no longer than a span is its one span). */
  #spanCount(doc: number): number {
    const n = this.#corpus.docs[doc]!.textTokens.length;
    return n === 0 ? 0 : n <= this.#views.spanTokens ? 1 : this.#views.spans;
  }
}
