import type { z } from 'zod';
import { ShardDataSchema, type ShardData } from '../artifact/shard-data.ts';
import { decode } from '../bus/codec.ts';
import type { Bus } from '../bus/connection.ts';
import { RevisionConflictError, type KeyValueBucket, type KeyValueWatch, type ObjectBucket } from '../bus/stores.ts';
import { ArtifactError, BadInputError, NotFoundError } from '../errors.ts';
import { CheckedObjects } from './checked-objects.ts';
import {
  GatingRecordSchema,
  IndexRecordSchema,
  MODELS_BUCKET,
  REGISTRY_BUCKET,
  RegistryKeys,
  ShardRecordSchema,
  type GatingRecord,
  type GatingVersion,
  type IndexRecord,
  type ObjectRef,
  type ShardRecord,
  type ShardVersion,
} from './records.ts';

/** A change seen by a registry watcher: the key's new record, or null when it was deleted. */
export type RegistryChange =
  | { kind: 'index'; record: IndexRecord | null }
  | { kind: 'gating'; record: GatingRecord | null }
  | { kind: 'shard'; shard: string; record: ShardRecord | null }
  | { kind: 'invalid'; key: string; reason: string };

/** Compare-and-set retries before giving up: two operators publishing the same shard at once is rare. */
const CAS_ATTEMPTS = 5;

/**
 * Reads and writes the registry (records in a KV bucket, models in an object store).
 * Every write of a record is a compare-and-set against the revision it was read at, so two
 * writers cannot lose each other's version; objects are named by their content's sha256
 * and checked against it when fetched, so a damaged or swapped object is never loaded.
 */
export class Registry {
  readonly #kv: KeyValueBucket;
  readonly #objects: CheckedObjects;

  private constructor(kv: KeyValueBucket, objects: ObjectBucket) {
    this.#kv = kv;
    this.#objects = new CheckedObjects(objects, 'the model store');
  }

  static async open(bus: Pick<Bus, 'keyValue' | 'objectStore'>): Promise<Registry> {
    return new Registry(await bus.keyValue(REGISTRY_BUCKET), await bus.objectStore(MODELS_BUCKET));
  }

  async index(): Promise<IndexRecord> {
    const found = await this.#read(RegistryKeys.index, IndexRecordSchema);
    if (!found) throw new NotFoundError('the registry has no index: publish one first (dsi publish --index DIR, or dsi up)');
    return found.record;
  }

  async gating(): Promise<GatingRecord> {
    const found = await this.#read(RegistryKeys.gating, GatingRecordSchema);
    if (!found) throw new NotFoundError('the registry has no gating model: publish an index first');
    return found.record;
  }

  async shard(id: string): Promise<ShardRecord> {
    const found = await this.#read(RegistryKeys.shard(id), ShardRecordSchema);
    if (!found) throw new NotFoundError(`the registry has no shard '${id}'${await this.#knownShards()}`);
    return found.record;
  }

  async shards(): Promise<ShardRecord[]> {
    const out: ShardRecord[] = [];
    for (const key of await this.#kv.keys(RegistryKeys.shards)) {
      const found = await this.#read(key, ShardRecordSchema);
      if (found) out.push(found.record);
    }
    return out.sort((a, b) => a.id.localeCompare(b.id, 'en', { numeric: true }));
  }

  async putIndex(record: IndexRecord): Promise<void> {
    await this.#kv.put(RegistryKeys.index, encodeRecord(IndexRecordSchema.parse(record)));
  }

  /** Stores bytes under a name derived from their sha256 (storing the same bytes twice is a no-op). */
  upload(kind: string, bytes: Uint8Array): Promise<ObjectRef> {
    return this.#objects.upload(kind, bytes);
  }

  /** An object's bytes, refused unless they are exactly what the record says (missing, damaged or replaced objects are ArtifactErrors). */
  download(ref: ObjectRef): Promise<Uint8Array> {
    return this.#objects.download(ref);
  }

  /** A shard version's documents and queries (checked like every object). */
  async shardData(version: Pick<ShardVersion, 'data'>): Promise<ShardData> {
    const parsed = ShardDataSchema.safeParse(decode(await this.download(version.data)));
    if (!parsed.success) throw new ArtifactError(`object ${version.data.object}`, 'not shard data');
    return parsed.data;
  }

  /** Makes `next` the gating model's current version (the current one becomes the previous). */
  publishGating(next: Omit<GatingVersion, 'version'>): Promise<GatingRecord> {
    return this.#casUpdate(RegistryKeys.gating, GatingRecordSchema, (old) => ({
      current: { ...next, version: old ? Math.max(old.current.version, old.previous?.version ?? 0) + 1 : 1 },
      previous: old?.current ?? null,
    }));
  }

  /**
   * Makes `next` a shard's current version (the current one is kept as the previous, for
   * rollback). `topics` is required when the shard is new and must match when it is not.
   */
  publishShard(id: string, topics: readonly number[], next: Omit<ShardVersion, 'version'>): Promise<ShardRecord> {
    return this.#casUpdate(RegistryKeys.shard(id), ShardRecordSchema, (old) => {
      if (old && !sameTopics(old.topics, topics)) throw new BadInputError(`shard ${id} holds topics ${old.topics.join(',')}, not ${topics.join(',')}`);
      const version = old ? Math.max(old.current.version, old.previous?.version ?? 0) + 1 : 1;
      return { id, topics: [...topics], current: { ...next, version }, previous: old?.current ?? null, retrained_at: old ? next.published_at : null };
    });
  }

  /** Swaps a shard's current and previous versions; a shard with no previous version is a BadInputError. */
  rollbackShard(id: string): Promise<ShardRecord> {
    return this.#casUpdate(RegistryKeys.shard(id), ShardRecordSchema, (old) => {
      if (!old) throw new NotFoundError(`the registry has no shard '${id}'`);
      if (!old.previous) throw new BadInputError(`shard ${id} has no previous version to roll back to (it serves version ${old.current.version})`);
      return { ...old, current: old.previous, previous: old.current, retrained_at: new Date().toISOString() };
    });
  }

  async deleteShard(id: string): Promise<void> {
    await this.#kv.delete(RegistryKeys.shard(id));
  }

  /** Deletes objects no record points to any more (versions older than the previous one). */
  async pruneObjects(): Promise<string[]> {
    const wanted = new Set<string>();
    const gating = await this.#read(RegistryKeys.gating, GatingRecordSchema);
    for (const v of [gating?.record.current, gating?.record.previous]) if (v) wanted.add(v.model.object);
    for (const s of await this.shards()) for (const v of [s.current, s.previous]) if (v) wanted.add(v.model.object).add(v.data.object);
    const dropped = (await this.#objects.list()).filter((name) => !wanted.has(name));
    for (const name of dropped) await this.#objects.delete(name);
    return dropped;
  }

  /** Calls `onChange` with the current state of every key, then with every change, until stopped. */
  watch(onChange: (change: RegistryChange) => void): Promise<KeyValueWatch> {
    return this.#kv.watch('>', (entry) => {
      const shard = RegistryKeys.shardOf(entry.key);
      try {
        if (entry.key === RegistryKeys.index) onChange({ kind: 'index', record: entry.deleted ? null : decodeRecord(entry.value, IndexRecordSchema, entry.key) });
        else if (entry.key === RegistryKeys.gating) onChange({ kind: 'gating', record: entry.deleted ? null : decodeRecord(entry.value, GatingRecordSchema, entry.key) });
        else if (shard !== undefined) onChange({ kind: 'shard', shard, record: entry.deleted ? null : decodeRecord(entry.value, ShardRecordSchema, entry.key) });
      } catch (error) {
        onChange({ kind: 'invalid', key: entry.key, reason: (error as Error).message });
      }
    });
  }

  async #read<S extends z.ZodTypeAny>(key: string, schema: S): Promise<{ record: z.infer<S>; revision: number } | null> {
    const entry = await this.#kv.get(key);
    return entry ? { record: decodeRecord(entry.value, schema, key), revision: entry.revision } : null;
  }

  async #casUpdate<S extends z.ZodTypeAny>(key: string, schema: S, next: (old: z.infer<S> | null) => z.infer<S>): Promise<z.infer<S>> {
    for (let attempt = 1; ; attempt++) {
      const found = await this.#read(key, schema);
      const record = schema.parse(next(found?.record ?? null)) as z.infer<S>;
      try {
        await this.#kv.update(key, encodeRecord(record), found?.revision ?? 0);
        return record;
      } catch (error) {
        if (!(error instanceof RevisionConflictError) || attempt >= CAS_ATTEMPTS) throw error;
      }
    }
  }

  async #knownShards(): Promise<string> {
    const ids = (await this.#kv.keys(RegistryKeys.shards)).map((k) => RegistryKeys.shardOf(k)!);
    return ids.length > 0 ? ` (it has ${ids.join(', ')})` : ' (it has none)';
  }
}

/** Records are JSON, so an operator can read them with any NATS client (`nats kv get dsi_registry shard.s0`). */
function encodeRecord(record: unknown): Uint8Array {
  return new TextEncoder().encode(JSON.stringify(record));
}

function decodeRecord<S extends z.ZodTypeAny>(bytes: Uint8Array, schema: S, key: string): z.infer<S> {
  let json: unknown;
  try {
    json = JSON.parse(new TextDecoder().decode(bytes));
  } catch (cause) {
    throw new ArtifactError(`registry key ${key}`, 'not JSON', { cause });
  }
  const parsed = schema.safeParse(json);
  if (!parsed.success) throw new ArtifactError(`registry key ${key}`, `not a valid record: ${parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ')}`);
  return parsed.data as z.infer<S>;
}

function sameTopics(a: readonly number[], b: readonly number[]): boolean {
  if (a.length !== b.length) return false;
  const sortedB = [...b].sort((x, y) => x - y);
  return [...a].sort((x, y) => x - y).every((t, i) => t === sortedB[i]);
}
