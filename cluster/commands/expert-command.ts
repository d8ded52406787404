import { settleWithin, stopSignal, SUPERVISOR_GONE_GRACE_MS } from './stop-signal.ts';
import { hostname } from 'node:os';
import { LOCAL_INDEX_VERSION, openIndex } from '../../shared/artifact/index-artifact.ts';
import { connectBus } from '../../shared/bus/connection.ts';
import { BadInputError, BusUnavailableError } from '../../shared/errors.ts';
import type { ServedExpert } from '../../shared/model/expert/shard-documents.ts';
import { fetchShardModel, fetchShardModelInWorker } from '../../experts/fetch-model.ts';
import { loadLocalShardModel } from '../../experts/local-model.ts';
import { ShardFollower } from '../../experts/shard-follower.ts';
import type { Manifest, ShardEntry } from '../../shared/artifact/manifest.ts';
import type { BusAddress } from '../../shared/bus/address.ts';
import type { Bus } from '../../shared/bus/connection.ts';
import type { IndexConfig } from '../../shared/config.ts';
import type { Logger } from '../../shared/log.ts';
import { Registry } from '../../shared/registry/registry.ts';
import { newReplicaId } from '../../experts/replica-id.ts';
import { ExpertService } from '../../experts/service.ts';
import { Rotation } from '../../experts/rotation.ts';
import { BatchResponder } from '../../experts/batch-responder.ts';
import { parseFlags, requireFlag, RUNTIME_FLAGS_HELP, type Command } from './context.ts';
import { NATS_FLAGS, NATS_FLAGS_HELP, natsAddress } from './nats-flags.ts';
import { RUNTIME_FLAGS, startRuntime } from './runtime.ts';

/** How long each step of a drain may take once dsi up is gone (see stop-signal.ts). */
const SUPERVISOR_DRAIN_MS = 3 * SUPERVISOR_GONE_GRACE_MS;

export const expertCommand: Command = {
  summary: 'serve shards over NATS, one or several per process: from the registry (follows new versions) or from a local index (runs until SIGTERM or SIGINT, then drains)',
  usage: `dsi expert --shard ID [--shard ID]... [--index DIR] ${NATS_FLAGS_HELP} ${RUNTIME_FLAGS_HELP}`,
  async run(argv, ctx) {
    const { values } = parseFlags(argv, { index: { type: 'string' }, shard: { type: 'string', multiple: true }, ...NATS_FLAGS, ...RUNTIME_FLAGS });
    const shardIds = [...new Set(values.shard ?? [])];
    if (shardIds.length === 0 || shardIds.some((id) => id === '')) throw new BadInputError('--shard is required');
    const nats = natsAddress(values, ctx.env);
    // With --index the manifest alone says whether the shards exist: a typo fails before the backend starts.
    const locals = values.index === undefined ? undefined : await Promise.all(shardIds.map((id) => localShardEntry(values.index!, id)));

    const { log, backend } = await startRuntime(ctx, 'dsi-expert', values, { stream: 'stdout' });
    const replica = newReplicaId(hostname(), process.pid);
    // One connection for the searches of every shard served here: their requests share one thread anyway.
    const bus = await connectBus({ ...nats, name: `dsi-expert-${shardIds.join('+')}-${replica}`, log });
    // Models are fetched on a connection of their own: on the search connection, the
    // hundreds of chunk messages of a model download would queue ahead of searches.
    const modelBus = locals ? undefined : await connectBus({ ...nats, name: `dsi-expert-${shardIds.join('+')}-${replica}-models`, log });
    const stop = stopSignal(ctx.env);
    const serving: { served: ServedShard; service: ExpertService; follower?: ShardFollower }[] = [];
    // Registry mode: new versions load with this process out of rotation, its replicas taking turns with their peers'.
    const rotation = locals ? undefined : new Rotation({ bus, replica, shards: shardIds, members: () => serving.map((s) => s.service), log });
    rotation?.start();
    // One subject for the whole process: a search asks it once for all the shards it wants from here.
    const byShard = new Map<string, ExpertService>();
    const batches = new BatchResponder({ bus, replica, members: byShard, log });
    try {
      batches.start();
      for (const [i, shardId] of shardIds.entries()) {
        const served = locals ? await loadLocalShard(locals[i]!) : await loadRegistryShard(modelBus!, nats, shardId, log);
        const service = new ExpertService({ expert: served.expert, shard: served.entry, config: served.config, bus, replica, version: served.version, log, batch: true });
        const follower = served.follow?.(service, rotation);
        serving.push({ served, service, follower });
        byShard.set(served.entry.id, service);
        await service.start();
        await follower?.start();
      }
      const shards = serving.map(({ served }) => ({ shard: served.entry.id, docs: served.entry.docs, topics: served.entry.topics, version: served.version }));
      const source = locals ? locals[0]!.indexDir : 'registry';
      log.info({ ...(shards.length === 1 ? shards[0] : { shards }), replica, source, backend }, 'expert ready');
      const reason = await Promise.race([stop.signal, bus.closed().then((error) => ({ closed: error }))]);
      if (typeof reason === 'string') log.info({ signal: reason }, 'stopping');
      const draining = Promise.all([
        batches.stop(),
        ...serving.map(async ({ service, follower }) => {
          await follower?.stop();
          await service.stop();
        }),
      ]).then(() => rotation?.stop());
      // With dsi up gone its nats-server is going too: drain what still can be, without waiting on a server that will not answer.
      if (reason === 'supervisor gone') await settleWithin(draining, SUPERVISOR_DRAIN_MS);
      else await draining;
      if (typeof reason !== 'string') throw new BusUnavailableError(`NATS connection closed${reason.closed ? `: ${reason.closed.message}` : ''}`, { cause: reason.closed });
      if (reason === 'supervisor gone') await settleWithin(bus.drain(), SUPERVISOR_DRAIN_MS);
      else await bus.drain();
      log.info({ served: serving.reduce((n, { service }) => n + service.stats().served, 0) }, 'expert stopped');
      return 0;
    } finally {
      stop.dispose();
      await modelBus?.close();
      await bus.close();
      // The models served last: the first ones, or whatever the registry swapped in since.
      for (const { service } of serving) service.expert.model.dispose();
    }
  },
};

interface ServedShard {
  expert: ServedExpert;
  entry: Pick<ShardEntry, 'id' | 'topics' | 'docs'>;
  config: IndexConfig;
  version: number;
  /** Registry mode: what keeps the service on the shard's current version. */
  follow?: (service: ExpertService, rotation?: Rotation) => ShardFollower;
}

async function localShardEntry(indexDir: string, shardId: string): Promise<{ indexDir: string; manifest: Manifest; shard: ShardEntry }> {
  const manifest = await openIndex(indexDir);
  const shard = manifest.shards.find((s) => s.id === shardId);
  if (!shard) throw new BadInputError(`unknown shard '${shardId}': ${indexDir} has ${manifest.shards.map((s) => s.id).join(', ')}`);
  return { indexDir, manifest, shard };
}

async function loadLocalShard({ indexDir, manifest, shard }: Awaited<ReturnType<typeof localShardEntry>>): Promise<ServedShard> {
  const expert = await loadLocalShardModel(indexDir, manifest, shard.id);
  return { expert, entry: shard, config: manifest.config, version: LOCAL_INDEX_VERSION };
}

/** Everything from NATS: the index record (how to featurize and decode), the shard record, and the model and documents it names. */
async function loadRegistryShard(bus: Bus, nats: BusAddress, shardId: string, log: Logger): Promise<ServedShard> {
  const registry = await Registry.open(bus);
  const index = await registry.index();
  const record = await registry.shard(shardId);
  const expert = await fetchShardModel(registry, shardId, record.current);
  return {
    expert,
    entry: { id: shardId, topics: record.topics, docs: record.current.docs },
    config: index.config,
    version: record.current.version,
    // Later versions arrive while serving: they are fetched and checked in a worker thread.
    follow: (service, rotation) => new ShardFollower({ registry, shard: shardId, target: service, serving: record.current, log, rotation, fetch: fetchShardModelInWorker(nats) }),
  };
}
