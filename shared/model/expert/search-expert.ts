import type { RoutedTopic, ShardHit, ShardQuery } from '../../bus/protocol.ts';
import type { IndexConfig } from '../../config.ts';
import { formatDocId } from '../../docids/build.ts';
import { featurize } from '../../text/featurizer.ts';
import type { LoadedExpert } from './expert-store.ts';
import type { BeamStart } from '../../decode/beam.ts';
import type { SearchOptions } from './expert-model.ts';

/** What an expert needs of the index's config to answer: how queries are featurized and how wide it decodes. */
export type ExpertSearchConfig = Readonly<Pick<IndexConfig, 'featurizer' | 'decode'>>;

/**
 * Answers one query for one shard, text in, hits out: featurize with the shard's own
 * vocabulary, encode, and decode from each routed topic node this shard holds (topics it
 * does not hold are skipped: the router may know a newer topic map than this expert).
 * The beam is the index's width, widened to k when more hits are asked for (beamFor).
 * The expert process and the in-process searcher both answer through this function, so a
 * shard answers the same wherever it runs.
 */
export function searchExpert(expert: LoadedExpert, query: ShardQuery, config: ExpertSearchConfig): ShardHit[] {
  const { model } = expert;
  const starts = topicStarts(expert, query.topics);
  if (starts.length === 0) return [];
  const vector = model.encode([model.encoder.vocabulary.encode(featurize(query.query, config.featurizer))]);
  return model.search(vector, 0, starts, beamFor(query.k, config.decode.beamWidth)).map((hit) => ({
    id: expert.docIds[hit.doc]!,
    docid: formatDocId(model.trie.pathOf(hit.leaf)),
    score: hit.logp,
  }));
}

/** The k best hits of a beam at least k wide: the index's beam width, widened when more hits are asked for than it holds. */
export function beamFor(k: number, beamWidth: number): SearchOptions {
  return { beamWidth: Math.max(beamWidth, k), topK: k };
}

function topicStarts(expert: LoadedExpert, topics: readonly RoutedTopic[]): BeamStart[] {
  const starts: BeamStart[] = [];
  for (const t of topics) {
    const node = expert.model.topicNode(t.topic);
    if (node >= 0) starts.push({ node, logp: t.logp });
  }
  return starts;
}
