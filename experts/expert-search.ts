import { formatDocId } from '../shared/docids/build.ts';
import type { RoutedTopic } from '../shared/model/gating.ts';
import { featurize, type FeaturizerOptions } from '../shared/text/featurizer.ts';
import type { LoadedExpert } from './expert-store.ts';
import type { SearchOptions } from './expert-model.ts';

/** One document an expert returns: score = log P(topic) + log P(rest of DocID | topic, query). */
export interface ShardHit {
  id: string;
  docid: string;
  score: number;
}

/**
 * Answers one query for one shard: featurize with the shard's own vocabulary, encode,
 * and decode from each routed topic node this shard holds (topics it does not hold are
 * skipped: the router may know a newer topic map than this expert).
 */
export function searchShard(
  expert: LoadedExpert,
  text: string,
  topics: readonly RoutedTopic[],
  options: Readonly<SearchOptions>,
  featurizer: Readonly<FeaturizerOptions>,
): ShardHit[] {
  const { model } = expert;
  const starts = [];
  for (const t of topics) {
    const node = model.topicNode(t.topic);
    if (node >= 0) starts.push({ node, logp: t.logp });
  }
  if (starts.length === 0) return [];
  const query = model.encode([model.encoder.vocabulary.encode(featurize(text, featurizer))]);
  return model.search(query, 0, starts, options).map((hit) => ({
    id: expert.docIds[hit.doc]!,
    docid: formatDocId(model.trie.pathOf(hit.leaf)),
    score: hit.logp,
  }));
}
