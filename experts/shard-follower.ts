import type { KeyValueWatch } from '../shared/bus/stores.ts';
import type { Logger } from '../shared/log.ts';
import type { ShardRecord, ShardVersion } from '../shared/registry/records.ts';
import type { Registry } from '../shared/registry/registry.ts';
import type { ServedExpert } from '../shared/model/expert/shard-documents.ts';
import { fetchShardModel, type ShardModelFetch } from './fetch-model.ts';
import type { Rotation } from './rotation.ts';

export interface ShardFollowerOptions {
  readonly registry: Registry;
  readonly shard: string;
  /** What serves the shard: swap() installs a new model and hands back the old one. */
  readonly target: { swap(expert: ServedExpert, version: number, docs: number): ServedExpert };
  /** The version being served at start. */
  readonly serving: ShardVersion;
  readonly log: Logger;
  /** How often the record is also read directly, in case a watch missed a change (e.g. across a NATS restart). */
  readonly reconcileMs?: number;
  /** Takes this process out of rotation while a new version loads (when not given, it loads while serving). */
  readonly rotation?: Pick<Rotation, 'aside'>;
  /** Tests replace the fetch to observe or delay it. */
  readonly fetch?: ShardModelFetch;
}

const DEFAULT_RECONCILE_MS = 5_000;

/**
 * Keeps an expert on its shard's current version in the registry. A new version is
 * fetched, checked and loaded beside the one being served, then swapped in; only then is
 * the old one freed. A version that cannot be fetched or loaded (missing object, digest
 * mismatch, damaged files) is refused with a logged reason and the current model keeps
 * serving; it is not retried until the registry names another version.
 */
export class ShardFollower {
  readonly #o: ShardFollowerOptions;
  readonly #log: Logger;
  #served: ShardVersion;
  #refused: string | undefined;
  /** Loads happen one at a time, newest wins: a change that arrives mid-load is looked at after it. */
  #busy: Promise<void> = Promise.resolve();
  #latest: ShardRecord | undefined;
  #watch: KeyValueWatch | undefined;
  #timer: NodeJS.Timeout | undefined;
  #stopped = false;

  constructor(options: ShardFollowerOptions) {
    this.#o = options;
    this.#served = options.serving;
    this.#log = options.log.child({ shard: options.shard });
  }

  get servedVersion(): number {
    return this.#served.version;
  }

  async start(): Promise<void> {
    const { registry, shard } = this.#o;
    this.#watch = await registry.watch((change) => {
      if (change.kind === 'shard' && change.shard === shard && change.record) this.#consider(change.record);
      else if (change.kind === 'invalid' && change.key.endsWith(`.${shard}`)) this.#log.error({ key: change.key, reason: change.reason }, 'registry record unreadable; still serving the current model');
    });
    this.#timer = setInterval(() => {
      registry.shard(shard).then(
        (record) => this.#consider(record),
        (error: unknown) => this.#log.debug({ err: (error as Error).message }, 'registry not readable now'),
      );
    }, this.#o.reconcileMs ?? DEFAULT_RECONCILE_MS);
    this.#timer.unref();
  }

  /** Stops following and waits for a load in progress to finish (its model is swapped in or freed). */
  async stop(): Promise<void> {
    this.#stopped = true;
    this.#watch?.stop();
    clearInterval(this.#timer);
    await this.#busy;
  }

  #consider(record: ShardRecord): void {
    this.#latest = record;
    this.#busy = this.#busy.then(() => this.#catchUp());
  }

  async #catchUp(): Promise<void> {
    const record = this.#latest;
    if (!record || this.#stopped) return;
    const wanted = record.current;
    if (wanted.model.sha256 === this.#served.model.sha256 && wanted.version === this.#served.version) return;
    if (versionKey(wanted) === this.#refused) return;
    const load = () => this.#load(wanted);
    await (this.#o.rotation ? this.#o.rotation.aside(this.#o.shard, wanted.version, load) : load());
  }

  /** Fetches, checks and loads a version, and swaps it in; a version that fails is refused until the registry names another. */
  async #load(wanted: ShardVersion): Promise<void> {
    const started = performance.now();
    let expert: ServedExpert;
    try {
      expert = await (this.#o.fetch ?? fetchShardModel)(this.#o.registry, this.#o.shard, wanted);
    } catch (error) {
      this.#refused = versionKey(wanted);
      this.#log.error({ version: wanted.version, object: wanted.model.object, reason: (error as Error).message, serving: this.#served.version }, 'new model refused; still serving the current one');
      return;
    }
    if (this.#stopped) {
      expert.model.dispose();
      return;
    }
    let old: ServedExpert;
    try {
      old = this.#o.target.swap(expert, wanted.version, wanted.docs);
    } catch (error) {
      expert.model.dispose();
      this.#refused = versionKey(wanted);
      this.#log.error({ version: wanted.version, object: wanted.model.object, reason: `its search fails: ${(error as Error).message}`, serving: this.#served.version }, 'new model refused; still serving the current one');
      return;
    }
    old.model.dispose();
    this.#log.info({ from: this.#served.version, to: wanted.version, note: wanted.note, load_ms: Math.round(performance.now() - started) }, 'model swapped');
    this.#served = wanted;
    this.#refused = undefined;
  }
}

function versionKey(v: ShardVersion): string {
  return `${v.version}:${v.model.object}:${v.model.sha256}`;
}
