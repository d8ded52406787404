import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { KeyValueWatch } from '../shared/bus/stores.ts';
import type { Logger } from '../shared/log.ts';
import type { GatingModel } from '../shared/model/gating/gating-model.ts';
import { loadRoutingModels, type RoutingModels } from '../shared/model/gating/gating-store.ts';
import { unpackFolder } from '../shared/registry/bundle.ts';
import type { BusAddress } from '../shared/bus/address.ts';
import { fetchToFolder } from '../shared/registry/fetch-to-folder.ts';
import type { GatingVersion, IndexRecord, ShardRecord } from '../shared/registry/records.ts';
import type { Registry, RegistryChange } from '../shared/registry/registry.ts';
import type { Catalog, CatalogSource, ShardInfo } from './catalog.ts';

const RECONCILE_MS = 5_000;

/**
 * The router's catalog when the registry is the source of truth: built from the records
 * and the gating model's object at start-up, then kept current by watching the registry.
 * A shard is its record alone (topics, versions, document count, figures): its documents
 * stay with its experts. A new gating model is fetched and checked beside the catalog in
 * use and swapped in with one assignment; a search in flight keeps the snapshot it started
 * with. Anything that cannot be fetched or checked is logged and the catalog stays as it was.
 */
export class RegistryCatalog implements CatalogSource {
  readonly #registry: Registry;
  readonly #log: Logger;
  #index: IndexRecord;
  #gating: { version: GatingVersion; model: RoutingModels };
  readonly #shards = new Map<string, ShardRecord>();
  #current: Catalog;
  /** Changes are applied one at a time, in order. */
  #queue: Promise<void> = Promise.resolve();
  #watch: KeyValueWatch | undefined;
  #timer: NodeJS.Timeout | undefined;
  readonly #listeners: ((catalog: Catalog) => void)[] = [];
  #closed = false;

  /** Where a worker thread fetches new gating models from (the router's thread keeps routing meanwhile). */
  readonly #nats: BusAddress | undefined;

  private constructor(registry: Registry, nats: BusAddress | undefined, log: Logger, index: IndexRecord, gating: { version: GatingVersion; model: RoutingModels }) {
    this.#registry = registry;
    this.#nats = nats;
    this.#log = log;
    this.#index = index;
    this.#gating = gating;
    this.#current = this.#compose();
  }

  static async open(registry: Registry, log: Logger, nats?: BusAddress): Promise<RegistryCatalog> {
    const index = await registry.index();
    const gatingRecord = await registry.gating();
    const catalog = new RegistryCatalog(registry, nats, log, index, { version: gatingRecord.current, model: await fetchGating(registry, nats, gatingRecord.current) });
    try {
      for (const record of await registry.shards()) catalog.#shards.set(record.id, record);
      catalog.#current = catalog.#compose();
    } catch (error) {
      catalog.#gating.model.gating.dispose();
      throw error;
    }
    return catalog;
  }

  get current(): Catalog {
    return this.#current;
  }

  /** Called with every new catalog once it is in place (the shard view and metrics follow the shard list). */
  onChange(listener: (catalog: Catalog) => void): void {
    this.#listeners.push(listener);
  }

  async follow(): Promise<void> {
    this.#watch = await this.#registry.watch((change) => this.#enqueue(() => this.#apply(change)));
    this.#timer = setInterval(() => this.#enqueue(() => this.#reconcile()), RECONCILE_MS);
    this.#timer.unref();
  }

  async close(): Promise<void> {
    this.#closed = true;
    this.#watch?.stop();
    clearInterval(this.#timer);
    await this.#queue;
    this.#gating.model.gating.dispose();
  }

  #enqueue(step: () => Promise<void>): void {
    this.#queue = this.#queue.then(step).catch((error: unknown) => this.#log.error({ err: error }, 'registry change not applied; the catalog stays as it was'));
  }

  async #apply(change: RegistryChange): Promise<void> {
    if (this.#closed) return;
    switch (change.kind) {
      case 'invalid':
        this.#log.error({ key: change.key, reason: change.reason }, 'registry record unreadable; ignored');
        return;
      case 'index':
        if (change.record) this.#index = change.record;
        break;
      case 'gating':
        if (!change.record || change.record.current.model.sha256 === this.#gating.version.model.sha256) return;
        await this.#installGating(change.record.current);
        return;
      case 'shard':
        if (!change.record) {
          if (!this.#shards.delete(change.shard)) return;
        } else {
          const known = this.#shards.get(change.shard);
          if (known && sameVersion(known, change.record)) return;
          this.#shards.set(change.shard, change.record);
        }
        break;
    }
    this.#publish();
  }

  /** Reads every record again: a watch may miss changes while NATS restarts. */
  async #reconcile(): Promise<void> {
    if (this.#closed) return;
    let records: ShardRecord[];
    try {
      records = await this.#registry.shards();
    } catch (error) {
      this.#log.debug({ err: (error as Error).message }, 'registry not readable now');
      return;
    }
    for (const record of records) await this.#apply({ kind: 'shard', shard: record.id, record });
    for (const id of [...this.#shards.keys()]) if (!records.some((r) => r.id === id)) await this.#apply({ kind: 'shard', shard: id, record: null });
    const gating = await this.#registry.gating().catch(() => undefined);
    if (gating) await this.#apply({ kind: 'gating', record: gating });
  }

  async #installGating(version: GatingVersion): Promise<void> {
    const model = await fetchGating(this.#registry, this.#nats, version);
    const old = this.#gating;
    this.#gating = { version, model };
    this.#publish();
    // planRoute uses the gating model synchronously: once the catalog is replaced no search can still be using the old one.
    old.model.gating.dispose();
    this.#log.info({ from: old.version.version, to: version.version, topics: model.gating.topicIds.length }, 'gating model swapped');
  }

  #publish(): void {
    this.#current = this.#compose();
    this.#log.info({ shards: this.#current.shards.map((s) => `${s.id}@v${s.version}`), gating: this.#gating.version.version }, 'catalog updated from the registry');
    for (const listener of this.#listeners) listener(this.#current);
  }

  #compose(): Catalog {
    const shards: ShardInfo[] = [];
    const shardOfTopic = new Map<number, string>();
    for (const record of [...this.#shards.values()].sort((a, b) => a.id.localeCompare(b.id, 'en', { numeric: true }))) {
      shards.push(Object.freeze({
        id: record.id,
        topics: Object.freeze([...record.topics]),
        docs: record.current.docs,
        version: record.current.version,
        previous_version: record.previous?.version ?? null,
        retrained_at: record.retrained_at,
        previous_figures: record.previous ? Object.freeze({ ...record.previous.figures }) : null,
        ...record.current.figures,
      }));
      for (const t of record.topics) shardOfTopic.set(t, record.id);
    }
    return Object.freeze({ source: 'registry', gatingVersion: this.#gating.version.version, config: this.#index.config, gating: this.#gating.model.gating, head: this.#gating.model.head, shardOfTopic, shards: Object.freeze(shards) });
  }
}

function sameVersion(a: ShardRecord, b: ShardRecord): boolean {
  return a.current.version === b.current.version && a.current.model.sha256 === b.current.model.sha256 && a.current.data.sha256 === b.current.data.sha256 && (a.previous?.version ?? null) === (b.previous?.version ?? null);
}

/**
 * A gating model from the registry: fetched in a worker thread when `nats` is given, else in
 * this thread. The worker keeps serving threads answering while a new model arrives, and at
 * start-up keeps the download's transient buffers (the object's chunks, its bytes whole,
 * the bundle decoded) out of this process's heap: they go with the worker.
 */
async function fetchGating(registry: Registry, nats: BusAddress | undefined, version: GatingVersion): Promise<RoutingModels> {
  const dir = await mkdtemp(join(tmpdir(), `dsi-gating-v${version.version}-`));
  try {
    if (nats) await fetchToFolder(nats, version.model, dir);
    else await unpackFolder(await registry.download(version.model), dir, `object ${version.model.object}`);
    return await loadRoutingModels(dir);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}
