import { join } from 'node:path';
import { INDEX_LAYOUT, LOCAL_INDEX_VERSION, openIndex, SHARD_FILES, shardDirOf, verifyIndex } from '../shared/artifact/index-artifact.ts';
import { readJsonFile } from '../shared/artifact/json-file.ts';
import type { Manifest } from '../shared/artifact/manifest.ts';
import type { IndexConfig } from '../shared/config.ts';
import { loadRoutingModels } from '../shared/model/gating/gating-store.ts';
import type { RoutingTable } from '../shared/search/engine.ts';
import { shardOfTopicMap } from '../shared/search/route.ts';
import { ShardFiguresSchema, type ShardFigures } from '../shared/registry/records.ts';

/** What the router's parts read the catalog through: the local one never changes, the registry's is replaced as the registry changes. */
export interface CatalogSource {
  readonly current: Catalog;
}

/** A shard as GET /v1/shards shows it: what it holds, its versions and its quality figures. */
export interface ShardInfo {
  readonly id: string;
  readonly topics: readonly number[];
  readonly docs: number;
  /** Version the registry names as current (1 for an index folder), the one before it, and when it changed. */
  readonly version: number;
  readonly previous_version: number | null;
  readonly retrained_at: string | null;
  /** The quality figures of the previous version, to compare a retrained shard with what it was. */
  readonly previous_figures: ShardFigures | null;
  readonly collision_rate: number;
  readonly 'index_recall@1': number;
  readonly 'hits@10': number | null;
}

/**
 * What the router holds of an index, loaded and checked once at start-up: the gating
 * model and topic map (to route) and each shard's figures. Nothing that grows with the
 * documents: the experts' models and the document records (results are titled by the
 * shards, /v1/docs asks them) live in the expert processes.
 */
export interface Catalog extends RoutingTable {
  /** Where it came from: an index folder, or "registry". */
  readonly source: string;
  /** Version of the gating model (1 for an index folder). */
  readonly gatingVersion: number;
  readonly config: Readonly<IndexConfig>;
  readonly shards: readonly ShardInfo[];
}

export async function loadCatalog(dir: string): Promise<Catalog> {
  const manifest: Manifest = await openIndex(dir);
  const reportPaths = manifest.shards.map((s) => `${shardDirOf(s.id)}/${SHARD_FILES.report}`);
  // Only what this process reads: the experts check their own shard's files.
  await verifyIndex(dir, manifest, [INDEX_LAYOUT.gating, ...reportPaths]);
  const { gating, head } = await loadRoutingModels(join(dir, INDEX_LAYOUT.gating));
  const shards: ShardInfo[] = [];
  for (const [i, entry] of manifest.shards.entries()) {
    const report = await readJsonFile(join(dir, reportPaths[i]!), ShardFiguresSchema);
    shards.push(Object.freeze({ id: entry.id, topics: Object.freeze([...entry.topics]), docs: entry.docs, version: LOCAL_INDEX_VERSION, previous_version: null, retrained_at: null, previous_figures: null, ...report }));
  }
  return Object.freeze({ source: dir, gatingVersion: LOCAL_INDEX_VERSION, config: manifest.config, gating, head, shardOfTopic: shardOfTopicMap(manifest), shards: Object.freeze(shards) });
}
