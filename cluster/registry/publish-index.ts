import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { z } from 'zod';
import { INDEX_LAYOUT, openIndex, readDocRecords, shardDirOf, verifyIndex, type DocRecord } from '../../shared/artifact/index-artifact.ts';
import type { ShardEntry } from '../../shared/artifact/manifest.ts';
import { QueryPairSchema, SHARD_QUERIES_FILE, topicOfDocId, type ShardData } from '../../shared/artifact/shard-data.ts';
import { readJsonFile } from '../../shared/artifact/json-file.ts';
import { encode } from '../../shared/bus/codec.ts';
import type { Logger } from '../../shared/log.ts';
import { packFolder } from '../../shared/registry/bundle.ts';
import { REGISTRY_FORMAT, ShardFiguresSchema, type ShardFigures } from '../../shared/registry/records.ts';
import type { Registry } from '../../shared/registry/registry.ts';
import { SHARD_FILES } from '../../experts/expert-store.ts';
import { GATING_FILES } from '../../shared/model/gating-store.ts';

const QueriesFileSchema = z.object({ train: z.array(QueryPairSchema), heldout: z.array(QueryPairSchema) });

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
  const now = () => new Date().toISOString();
  await registry.putIndex({ format: REGISTRY_FORMAT, config: manifest.config, topics: manifest.topics, corpus: manifest.corpus, created_at: manifest.createdAt });

  const gatingModel = await registry.upload('gating', await packFolder(join(indexDir, INDEX_LAYOUT.gating), Object.values(GATING_FILES)));
  const currentGating = await registry.gating().catch(() => null);
  const gatingVersion = currentGating?.current.model.sha256 === gatingModel.sha256 ? currentGating.current.version : (await registry.publishGating({ model: gatingModel, published_at: now(), note })).current.version;

  const docs = await readDocRecords(indexDir);
  const shards: PublishSummary['shards'] = [];
  for (const entry of manifest.shards) {
    const data = await readShardData(indexDir, entry, docs);
    const model = await registry.upload(`shard-${entry.id}`, await packFolder(join(indexDir, shardDirOf(entry.id)), Object.values(SHARD_FILES)));
    const dataRef = await registry.upload(`shard-${entry.id}-data`, encode(data));
    const existing = await registry.shard(entry.id).catch(() => null);
    if (existing && existing.current.model.sha256 === model.sha256 && existing.current.data.sha256 === dataRef.sha256) {
      shards.push({ id: entry.id, version: existing.current.version, docs: entry.docs, unchanged: true });
      continue;
    }
    const figures = await readShardFigures(indexDir, entry);
    const record = await registry.publishShard(entry.id, entry.topics, { docs: entry.docs, model, data: dataRef, figures, published_at: now(), note });
    shards.push({ id: entry.id, version: record.current.version, docs: entry.docs, unchanged: false });
  }
  const keep = new Set(manifest.shards.map((s) => s.id));
  const removed = (await registry.shards()).map((s) => s.id).filter((id) => !keep.has(id));
  for (const id of removed) await registry.deleteShard(id);
  await registry.pruneObjects();
  const seconds = (performance.now() - started) / 1000;
  log.info({ index: indexDir, gating_version: gatingVersion, shards: shards.map((s) => `${s.id}@v${s.version}`), removed, seconds: +seconds.toFixed(2) }, 'index published to the registry');
  return { gatingVersion, shards, removed, seconds };
}

/** A shard's documents (from docs.jsonl, by topic) and queries (from its queries.json, when the index has one). */
export async function readShardData(indexDir: string, entry: Pick<ShardEntry, 'id' | 'topics'>, allDocs?: readonly DocRecord[]): Promise<ShardData> {
  const topics = new Set(entry.topics);
  const docs = (allDocs ?? (await readDocRecords(indexDir))).filter((d) => topics.has(topicOfDocId(d.docid)));
  const path = join(indexDir, shardDirOf(entry.id), SHARD_QUERIES_FILE);
  const exists = await readFile(path).then(() => true, () => false);
  const queries = exists ? await readJsonFile(path, QueriesFileSchema) : { train: [], heldout: [] };
  return { docs, queries };
}

async function readShardFigures(indexDir: string, entry: ShardEntry): Promise<ShardFigures> {
  return readJsonFile(join(indexDir, shardDirOf(entry.id), SHARD_FILES.report), ShardFiguresSchema.passthrough());
}

