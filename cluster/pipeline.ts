import { join } from 'node:path';
import type { IndexConfig } from '../shared/config.ts';
import { INDEX_LAYOUT, openIndex, shardDirOf, verifyIndex } from '../shared/artifact/index-artifact.ts';
import type { Manifest } from '../shared/artifact/manifest.ts';
import type { GatingModel, RoutedTopic } from '../shared/model/gating.ts';
import { loadGating } from '../shared/model/gating-store.ts';
import { mergeHits, planRoute, shardOfTopicMap } from '../shared/routing.ts';
import { loadExpert, type LoadedExpert } from '../experts/expert-store.ts';
import { searchShard, type ShardHit } from '../experts/expert-search.ts';

export interface PipelineHit extends ShardHit {
  shard: string;
}

export interface PipelineResult {
  hits: PipelineHit[];
  routed: RoutedTopic[];
}


/**
 * The whole search in one process: gating → the experts of the routed topics → merge.
 * The cluster does the same across processes; evaluation and `dsi query` use this one.
 */
export class LocalPipeline {
  readonly config: Readonly<IndexConfig>;
  readonly gating: GatingModel;
  readonly experts: ReadonlyMap<string, LoadedExpert>;
  readonly #shardOfTopic: Map<number, string>;

  constructor(config: Readonly<IndexConfig>, gating: GatingModel, shards: Pick<Manifest, 'shards'>, experts: ReadonlyMap<string, LoadedExpert>) {
    this.config = config;
    this.gating = gating;
    this.experts = experts;
    this.#shardOfTopic = shardOfTopicMap(shards);
  }

  /** Loads an index after checking its manifest and every file's checksum. */
  static async open(dir: string): Promise<{ pipeline: LocalPipeline; manifest: Manifest }> {
    const manifest = await openIndex(dir);
    await verifyIndex(dir, manifest);
    const gating = await loadGating(join(dir, INDEX_LAYOUT.gating));
    const experts = new Map<string, LoadedExpert>();
    for (const shard of manifest.shards) experts.set(shard.id, await loadExpert(join(dir, shardDirOf(shard.id))));
    return { pipeline: new LocalPipeline(manifest.config, gating, manifest, experts), manifest };
  }

  search(text: string, k: number, fanout?: number): PipelineResult {
    const routing = fanout === undefined ? this.config.routing : { ...this.config.routing, maxFanout: fanout };
    const plan = planRoute(this.gating, this.#shardOfTopic, text, routing, this.config.featurizer);
    const options = { beamWidth: Math.max(this.config.decode.beamWidth, k), topK: k };
    const lists: PipelineHit[][] = [];
    for (const [shard, topics] of plan.byShard) {
      const expert = this.experts.get(shard);
      if (!expert) continue;
      lists.push(searchShard(expert, text, topics, options, this.config.featurizer).map((h) => ({ ...h, shard })));
    }
    return { hits: mergeHits(lists, k), routed: plan.routed };
  }

  dispose(): void {
    this.gating.dispose();
    for (const expert of this.experts.values()) expert.model.dispose();
  }
}
