import { join } from 'node:path';
import type { ShardData } from '../../shared/artifact/shard-data.ts';
import { encode } from '../../shared/bus/codec.ts';
import type { ClusterModels, ShardOnDisk } from '../ops/types.ts';
import { GATING_FILES } from '../../shared/model/gating/gating-store.ts';
import { packFolder, unpackFolder } from '../../shared/registry/bundle.ts';
import type { ShardFigures, ShardRecord } from '../../shared/registry/records.ts';
import type { Registry } from '../../shared/registry/registry.ts';
import { SHARD_FILES } from '../../shared/artifact/index-artifact.ts';

/**
 * The registry's models on local disk, for the commands that train from them (retrain,
 * add-shard): every object is checked against its sha256 on the way down, and a trained
 * result goes back up as a new version.
 */
export async function checkoutShard(registry: Registry, record: ShardRecord, dir: string): Promise<ShardOnDisk> {
  const shardDir = join(dir, 'shards', record.id);
  await unpackFolder(await registry.download(record.current.model), shardDir, `object ${record.current.model.object}`);
  return { id: record.id, topics: [...record.topics], dir: shardDir, data: await registry.shardData(record.current) };
}

/** The index config, the current gating model and every shard, under `dir`. */
export async function checkoutCluster(registry: Registry, dir: string): Promise<ClusterModels> {
  const index = await registry.index();
  const gating = await registry.gating();
  const gatingDir = join(dir, 'gating');
  await unpackFolder(await registry.download(gating.current.model), gatingDir, `object ${gating.current.model.object}`);
  const shards: ShardOnDisk[] = [];
  for (const record of await registry.shards()) shards.push(await checkoutShard(registry, record, dir));
  return { config: index.config, topicCount: index.topics, gatingDir, shards };
}

/**
 * Uploads a trained shard folder and its data, and makes them the shard's current version;
 * with `unlessCurrent`, bytes identical to the current version publish nothing.
 */
export async function publishShardFolder(
  registry: Registry,
  shard: { id: string; topics: readonly number[]; dir: string; data: ShardData; figures: ShardFigures },
  note: string,
  options: { unlessCurrent?: boolean } = {},
): Promise<{ record: ShardRecord; unchanged: boolean }> {
  const model = await registry.upload(`shard-${shard.id}`, await packFolder(shard.dir, Object.values(SHARD_FILES)));
  const data = await registry.upload(`shard-${shard.id}-data`, encode(shard.data));
  if (options.unlessCurrent) {
    const existing = await registry.shard(shard.id).catch(() => null);
    if (existing && existing.current.model.sha256 === model.sha256 && existing.current.data.sha256 === data.sha256) return { record: existing, unchanged: true };
  }
  const figures = { collision_rate: shard.figures.collision_rate, 'index_recall@1': shard.figures['index_recall@1'], 'hits@10': shard.figures['hits@10'] };
  const record = await registry.publishShard(shard.id, shard.topics, { docs: shard.data.docs.length, model, data, figures, published_at: new Date().toISOString(), note });
  return { record, unchanged: false };
}

/** Uploads a gating model folder and makes it current (unless, with `unlessCurrent`, it is the current one); returns the current version. */
export async function publishGatingFolder(registry: Registry, dir: string, note: string, options: { unlessCurrent?: boolean } = {}): Promise<number> {
  const model = await registry.upload('gating', await packFolder(dir, Object.values(GATING_FILES)));
  if (options.unlessCurrent) {
    const current = await registry.gating().catch(() => null);
    if (current?.current.model.sha256 === model.sha256) return current.current.version;
  }
  return (await registry.publishGating({ model, published_at: new Date().toISOString(), note })).current.version;
}
