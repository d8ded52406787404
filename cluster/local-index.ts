import { join } from 'node:path';
import type { IndexConfig } from '../shared/config.ts';
import { INDEX_LAYOUT, openIndex, readDocRecords, shardDirOf, verifyIndex } from '../shared/artifact/index-artifact.ts';
import type { Manifest } from '../shared/artifact/manifest.ts';
import type { RoutedTopic, Scoring } from '../shared/bus/protocol.ts';
import type { GatingModel } from '../shared/model/gating/gating-model.ts';
import { loadRoutingModels } from '../shared/model/gating/gating-store.ts';
import type { QueryHead } from '../shared/model/lexical/query-head.ts';
import { loadExpert, type LoadedExpert } from '../shared/model/expert/expert-store.ts';
import { attachTitles } from '../shared/model/expert/shard-documents.ts';
import { Engine, type EngineHit, type RoutingSource } from '../shared/search/engine.ts';
import { InProcessSearcher } from '../shared/search/in-process-searcher.ts';
import { shardOfTopicMap } from '../shared/search/route.ts';

export interface LocalSearchResult {
  hits: EngineHit[];
  routed: RoutedTopic[];
}

/**
 * An index's models loaded in this process (the gating model and every expert), searched
 * by the engine the router runs, with the experts asked in process instead of over the bus:
 * evaluation, `dsi query`, builds, growth checks and benchmarks use it.
 */
export class LocalIndex {
  readonly config: Readonly<IndexConfig>;
  readonly gating: GatingModel;
  readonly head: QueryHead;
  readonly experts: ReadonlyMap<string, LoadedExpert>;
  /** What the engine routes with; fixed for the life of the index. */
  readonly routing: RoutingSource;
  readonly engine: Engine;

  constructor(config: Readonly<IndexConfig>, routing: { gating: GatingModel; head: QueryHead }, shards: Pick<Manifest, 'shards'>, experts: ReadonlyMap<string, LoadedExpert>) {
    const { gating, head } = routing;
    this.config = config;
    this.gating = gating;
    this.head = head;
    this.experts = experts;
    this.routing = Object.freeze({ current: Object.freeze({ gating, head, shardOfTopic: shardOfTopicMap(shards), config }) });
    this.engine = new Engine(this.routing, new InProcessSearcher(experts, config));
  }

  /** Loads an index after checking its manifest and every file's checksum; each expert titles its hits, as expert processes do. */
  static async open(dir: string): Promise<{ index: LocalIndex; manifest: Manifest }> {
    const manifest = await openIndex(dir);
    await verifyIndex(dir, manifest);
    const routing = await loadRoutingModels(join(dir, INDEX_LAYOUT.gating));
    const records = await readDocRecords(dir);
    const experts = new Map<string, LoadedExpert>();
    for (const shard of manifest.shards) experts.set(shard.id, await attachTitles(await loadExpert(join(dir, shardDirOf(shard.id))), records, join(dir, INDEX_LAYOUT.docs)));
    return { index: new LocalIndex(manifest.config, routing, manifest, experts), manifest };
  }

  /** The k best documents for a query. Every shard is in this process, so a shard that fails is a fault, not an outage: it throws. */
  async search(text: string, k: number, fanout?: number, scoring?: Scoring): Promise<LocalSearchResult> {
    const result = await this.engine.search(text, { k, fanout, scoring });
    if (result.failures.length > 0) throw result.failures[0]!.error;
    return { hits: result.hits, routed: result.routed };
  }

  dispose(): void {
    this.gating.dispose();
    for (const expert of this.experts.values()) expert.model.dispose();
  }
}
