import { join } from 'node:path';
import { INDEX_LAYOUT, openIndex, readDocRecords, SHARD_FILES, shardDirOf, verifyIndex } from '../../shared/artifact/index-artifact.ts';
import { readShardData } from '../../shared/artifact/shard-data.ts';
import { readJsonFile } from '../../shared/artifact/json-file.ts';
import type { Logger } from '../../shared/log.ts';
import { REGISTRY_FORMAT, ShardFiguresSchema } from '../../shared/registry/records.ts';
import type { Registry } from '../../shared/registry/registry.ts';
import { publishGatingFolder, publishShardFolder } from './checkout.ts';

export interface PublishSummary {
  readonly gatingVersion: number;
  readonly shards: { id: string; version: number; docs: number; unchanged: boolean }[];
  readonly removed: string[];
  readonly seconds: number;
}

/**
 * Makes a local index the registry's content: the index record, the gating model and
 * every shard (model + data) as new versions. Publishing the same index again changes
 * nothing (a shard whose model is already current keeps its version), and shards the
 * registry has but the index does not are removed, so the registry matches the folder.
 */
export async function publishIndex(registry: Registry, indexDir: string, log: Logger): Promise<PublishSummary> {
  const started = performance.now();
  const manifest = await openIndex(indexDir);
  await verifyIndex(indexDir, manifest);
  const note = `published from ${indexDir}`;
  await registry.putIndex({ format: REGISTRY_FORMAT, featurizer: manifest.featurizer, config: manifest.config, topics: manifest.topics, corpus: manifest.corpus, created_at: manifest.createdAt });

  const gatingVersion = await publishGatingFolder(registry, join(indexDir, INDEX_LAYOUT.gating), note, { unlessCurrent: true });

  const docs = await readDocRecords(indexDir);
  const shards: PublishSummary['shards'] = [];
  for (const entry of manifest.shards) {
    const dir = join(indexDir, shardDirOf(entry.id));
    const shard = { id: entry.id, topics: entry.topics, dir, data: await readShardData(indexDir, entry, docs), figures: await readJsonFile(join(dir, SHARD_FILES.report), ShardFiguresSchema.passthrough()) };
    const { record, unchanged } = await publishShardFolder(registry, shard, note, { unlessCurrent: true });
    shards.push({ id: entry.id, version: record.current.version, docs: entry.docs, unchanged });
  }
  const keep = new Set(manifest.shards.map((s) => s.id));
  const removed = (await registry.shards()).map((s) => s.id).filter((id) => !keep.has(id));
  for (const id of removed) await registry.deleteShard(id);
  await registry.pruneObjects();
  const seconds = (performance.now() - started) / 1000;
  log.info({ index: indexDir, gating_version: gatingVersion, shards: shards.map((s) => `${s.id}@v${s.version}`), removed, seconds: +seconds.toFixed(2) }, 'index published to the registry');
  return { gatingVersion, shards, removed, seconds };
}
