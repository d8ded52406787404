import type { RoutedTopic } from '../bus/protocol.ts';
import { selectTopics, type GatingModel, type RoutingOptions } from '../model/gating/gating-model.ts';
import { featurize, type FeaturizerOptions } from '../text/featurizer.ts';

/** Which topics to ask for a query, grouped by the shard that holds them (topics no shard holds are left out). */
export interface RoutePlan {
  readonly routed: RoutedTopic[];
  readonly byShard: Map<string, RoutedTopic[]>;
}

export function planRoute(
  gating: GatingModel,
  shardOfTopic: ReadonlyMap<number, string>,
  text: string,
  routing: Readonly<RoutingOptions>,
  featurizer: Readonly<FeaturizerOptions>,
): RoutePlan {
  const logp = gating.route([gating.encoder.vocabulary.encode(featurize(text, featurizer))]);
  const routed = selectTopics(logp, gating.topicIds, routing);
  const byShard = new Map<string, RoutedTopic[]>();
  for (const t of routed) {
    const shard = shardOfTopic.get(t.topic);
    if (shard === undefined) continue;
    const list = byShard.get(shard);
    if (list) list.push(t);
    else byShard.set(shard, [t]);
  }
  return { routed, byShard };
}

/** Merges per-shard hit lists by score (log-probabilities are comparable across shards). */
export function mergeHits<H extends { score: number; id: string }>(lists: readonly (readonly H[])[], k: number): H[] {
  return lists
    .flat()
    .sort((a, b) => b.score - a.score || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0))
    .slice(0, k);
}

/** Which shard holds each topic, from a manifest's (or the registry's) shard list. */
export function shardOfTopicMap(manifest: { readonly shards: readonly { readonly id: string; readonly topics: readonly number[] }[] }): Map<number, string> {
  const map = new Map<number, string>();
  for (const shard of manifest.shards) for (const t of shard.topics) map.set(t, shard.id);
  return map;
}
