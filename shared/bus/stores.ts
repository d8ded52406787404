import { nanos, type KV, type KvEntry, type NatsConnection, type ObjectStore } from 'nats';
import type { Logger } from '../log.ts';
import { BusUnavailableError } from '../errors.ts';
import { NoRespondersError, toBusError } from './bus-errors.ts';

/** One key's value, as a bucket returns it. */
export interface KeyValueEntry {
  readonly key: string;
  /** Empty for a deleted key. */
  readonly value: Uint8Array;
  readonly revision: number;
  readonly deleted: boolean;
}

export interface KeyValueWatch {
  stop(): void;
}

/**
 * A JetStream key-value bucket (and below, an object store), seen through the same seam as
 * the rest of the bus: bytes in, bytes out, our typed errors, no nats.js types outside shared/bus/.
 */
export interface KeyValueBucket {
  get(key: string): Promise<KeyValueEntry | null>;
  put(key: string, value: Uint8Array): Promise<number>;
  /** Writes only if the key is still at `revision` (0: only if it does not exist); rejects with a RevisionConflictError otherwise. */
  update(key: string, value: Uint8Array, revision: number): Promise<number>;
  delete(key: string): Promise<void>;
  /** Removes the key and its history (delete keeps the history and leaves a marker). */
  purge(key: string): Promise<void>;
  keys(filter?: string): Promise<string[]>;
  /** Calls `onEntry` with the latest value of every key matching `key` (a subject-like filter), then with each change; errors inside `onEntry` are logged, never thrown. */
  watch(key: string, onEntry: (entry: KeyValueEntry) => void): Promise<KeyValueWatch>;
}

export interface ObjectBucket {
  put(name: string, data: Uint8Array): Promise<void>;
  /** The object's bytes; null when there is no such object. */
  get(name: string): Promise<Uint8Array | null>;
  delete(name: string): Promise<void>;
  list(): Promise<string[]>;
}

/** Someone else wrote the key since it was read: re-read and decide again. */
export class RevisionConflictError extends Error {
  constructor(readonly key: string) {
    super(`${key} was changed by someone else meanwhile`);
  }
}

/** How many past values a key keeps (history shows what was published and rolled back), unless a bucket asks otherwise. */
const KV_HISTORY = 10;

/** How a bucket is created when it does not exist yet (an existing bucket keeps its settings). */
export interface BucketOptions {
  /** Past values kept per key (key-value buckets). */
  history?: number;
  /** Entries older than this are removed by the server: for scratch data that a crashed writer could leave behind. */
  ttlMs?: number;
}
/** A model of hundreds of MB is put and fetched in 128 KiB chunks; the default 5 s JetStream timeout is too short for that on a busy machine. */
const OBJECT_TIMEOUT_MS = 120_000;
/** nats.js marks a failed compare-and-set with this JetStream API error code. */
const WRONG_LAST_SEQUENCE = 10071;

export async function openKeyValue(nc: NatsConnection, bucket: string, log: Logger, options: BucketOptions = {}): Promise<KeyValueBucket> {
  let kv: KV;
  try {
    kv = await nc.jetstream().views.kv(bucket, { history: options.history ?? KV_HISTORY, ...(options.ttlMs ? { ttl: options.ttlMs } : {}) });
  } catch (error) {
    throw jetStreamError(error, nc, `(kv ${bucket})`);
  }
  const wrap = <T>(what: string, op: () => Promise<T>) => asBusCall(`(kv ${bucket} ${what})`, op);
  return {
    get: (key) => wrap(key, async () => {
      const entry = await kv.get(key);
      return entry && entry.operation === 'PUT' ? toEntry(entry) : null;
    }),
    put: (key, value) => wrap(key, () => kv.put(key, value)),
    async update(key, value, revision) {
      try {
        return revision === 0 ? await kv.create(key, value) : await kv.update(key, value, revision);
      } catch (error) {
        const apiCode = (error as { api_error?: { err_code?: number } }).api_error?.err_code;
        if (apiCode === WRONG_LAST_SEQUENCE || /wrong last sequence|key exists/i.test((error as Error).message)) throw new RevisionConflictError(key);
        throw toBusError(error, `(kv ${bucket} ${key})`);
      }
    },
    delete: (key) => wrap(key, () => kv.delete(key)),
    purge: (key) => wrap(key, () => kv.purge(key)),
    keys: (filter) => wrap('keys', async () => {
      const out: string[] = [];
      for await (const k of await kv.keys(filter)) out.push(k);
      return out.sort();
    }),
    watch: (key, onEntry) => wrap(`watch ${key}`, async () => {
      const iterator = await kv.watch({ key });
      void (async () => {
        for await (const entry of iterator) {
          try {
            onEntry(toEntry(entry));
          } catch (error) {
            log.error({ err: error, key: entry.key }, 'registry watcher failed');
          }
        }
      })().catch((error: unknown) => log.warn({ err: (error as Error).message, bucket }, 'registry watch ended'));
      return { stop: () => iterator.stop() };
    }),
  };
}

export async function openObjectStore(nc: NatsConnection, bucket: string, options: BucketOptions = {}): Promise<ObjectBucket> {
  let os: ObjectStore;
  try {
    os = await nc.jetstream({ timeout: OBJECT_TIMEOUT_MS }).views.os(bucket, options.ttlMs ? { ttl: nanos(options.ttlMs) } : undefined);
  } catch (error) {
    throw jetStreamError(error, nc, `(objects ${bucket})`);
  }
  const wrap = <T>(what: string, op: () => Promise<T>) => asBusCall(`(objects ${bucket} ${what})`, op);
  return {
    put: (name, data) => wrap(name, async () => void (await os.putBlob({ name }, data))),
    get: (name) => wrap(name, () => os.getBlob(name)),
    delete: (name) => wrap(name, async () => void (await os.delete(name))),
    list: () => wrap('list', async () => (await os.list()).filter((i) => !i.deleted).map((i) => i.name).sort()),
  };
}

/** Runs one store operation, its nats.js failure turned into our typed bus error naming `label`. */
export async function asBusCall<T>(label: string, op: () => Promise<T>): Promise<T> {
  try {
    return await op();
  } catch (error) {
    throw toBusError(error, label);
  }
}

/** Nobody answers JetStream's API when the server runs without it: say so instead of "no responders". */
export function jetStreamError(error: unknown, nc: NatsConnection, what: string): Error {
  const mapped = toBusError(error, what);
  if (mapped instanceof NoRespondersError) return new BusUnavailableError(`JetStream is not enabled on the NATS server at ${nc.getServer()}: start nats-server with -js (dsi up does)`, { cause: error });
  return mapped;
}

function toEntry(entry: KvEntry): KeyValueEntry {
  return { key: entry.key, value: entry.value, revision: entry.revision, deleted: entry.operation !== 'PUT' };
}
