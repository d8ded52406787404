import type { RoutedTopic } from '../bus/protocol.ts';
import { selectTopics, type GatingModel, type RoutingOptions } from '../model/gating/gating-model.ts';
import { featurizeQuery, type FeaturizerOptions } from '../text/featurizer.ts';

/** Which topics to ask for a query, grouped by the shard that holds them (topics no shard holds are left out). */
export interface RoutePlan {
  readonly routed: RoutedTopic[];
  readonly byShard: Map<string, RoutedTopic[]>;
  /** log P(topic) of every topic, routed or not, in gating.topicIds order. */
  readonly logp: Float32Array;
}

/**
 * The gating model's most likely topics, and then up to `routing.lexicalTopics` more: those
 * the lexical half's plan (`lexicalBounds`, each topic's best possible lexical score) rates
 * highest among the ones not chosen, so a document the gating model did not expect is
 * still looked for where its words are.
 */
export function planRoute(
  gating: GatingModel,
  shardOfTopic: ReadonlyMap<number, string>,
  text: string,
  routing: Readonly<RoutingOptions>,
  featurizer: Readonly<FeaturizerOptions>,
  lexicalBounds?: ReadonlyMap<number, number>,
): RoutePlan {
  const logp = gating.route([gating.encoder.vocabulary.encode(featurizeQuery(text, featurizer))]);
  const routed = selectTopics(logp, gating.topicIds, routing);
  if (lexicalBounds && routing.lexicalTopics) {
    const chosen = new Set(routed.map((t) => t.topic));
    const indexOf = new Map(Array.from(gating.topicIds, (t, i) => [t, i]));
    const extra = [...lexicalBounds]
      .filter(([topic, bound]) => bound > 0 && !chosen.has(topic) && indexOf.has(topic))
      .sort((a, b) => b[1] - a[1] || a[0] - b[0])
      .slice(0, Math.max(0, Math.min(routing.lexicalTopics, (routing.cap ?? Infinity) - routed.length)));
    for (const [topic] of extra) routed.push({ topic, logp: Math.min(0, logp[indexOf.get(topic)!]!) });
  }
  const byShard = new Map<string, RoutedTopic[]>();
  for (const t of routed) {
    const shard = shardOfTopic.get(t.topic);
    if (shard === undefined) continue;
    const list = byShard.get(shard);
    if (list) list.push(t);
    else byShard.set(shard, [t]);
  }
  return { routed, byShard, logp };
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
