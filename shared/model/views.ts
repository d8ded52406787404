import { featureHashes, toBag, tokenize, type FeatureBag, type FeaturizerOptions } from '../text/featurizer.ts';

/**
 * Training views: the texts a model learns to map onto a DocID.
 * Indexing task: the document's own text (whole, its lead, random spans);
 * retrieval task: the training queries whose relevant document it is.
 */
export interface ViewOptions {
  /** Tokens of the lead view (title and the start of the text): what a synopsis usually paraphrases. */
  leadTokens: number;
  /** Random spans drawn per document per epoch: they teach the model that any part of a document points to it. */
  spans: number;
  spanTokens: number;
  /** Times each training query is seen per epoch: the retrieval task's share of the mix. */
  queryRepeats: number;
}

export const DEFAULT_VIEWS: Readonly<ViewOptions> = Object.freeze({ leadTokens: 24, spans: 2, spanTokens: 16, queryRepeats: 2 });

/** A document tokenised once, from which every view is cut without re-tokenising. */
export interface TokenizedDoc {
  readonly titleTokens: readonly string[];
  readonly textTokens: readonly string[];
}

export function tokenizeDoc(doc: { title: string; text: string }, maxTokens: number): TokenizedDoc {
  return { titleTokens: tokenize(doc.title, 16), textTokens: tokenize(doc.text, maxTokens) };
}

/** The whole document (title and text): the view DocIDs are built from and index recall is measured on. */
export function fullView(doc: TokenizedDoc, options: Readonly<FeaturizerOptions>): FeatureBag {
  return toBag(featureHashes([...doc.titleTokens, ...doc.textTokens], options));
}

export function leadView(doc: TokenizedDoc, views: Readonly<ViewOptions>, options: Readonly<FeaturizerOptions>): FeatureBag {
  return toBag(featureHashes([...doc.titleTokens, ...doc.textTokens.slice(0, views.leadTokens)], options));
}

/** `views.spans` random spans of the text; a text shorter than a span yields itself once. */
export function spanViews(doc: TokenizedDoc, views: Readonly<ViewOptions>, options: Readonly<FeaturizerOptions>, rand: () => number): FeatureBag[] {
  const n = doc.textTokens.length;
  if (n <= views.spanTokens) return n === 0 ? [] : [toBag(featureHashes(doc.textTokens, options))];
  const out: FeatureBag[] = [];
  for (let s = 0; s < views.spans; s++) {
    const start = Math.floor(rand() * (n - views.spanTokens + 1));
    out.push(toBag(featureHashes(doc.textTokens.slice(start, start + views.spanTokens), options)));
  }
  return out;
}
