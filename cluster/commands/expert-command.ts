import { stopSignal } from './stop-signal.ts';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { openIndex, shardDirOf, verifyIndex } from '../../shared/artifact/index-artifact.ts';
import { connectBus } from '../../shared/bus/connection.ts';
import { BadInputError, BusUnavailableError } from '../../shared/errors.ts';
import { loadExpert } from '../../experts/expert-store.ts';
import { newReplicaId } from '../../experts/replica-id.ts';
import { ExpertService } from '../../experts/service.ts';
import { parseFlags, requireFlag, RUNTIME_FLAGS_HELP, type Command } from './context.ts';
import { RUNTIME_FLAGS, startRuntime } from './runtime.ts';

export const DEFAULT_NATS_URL = 'nats://127.0.0.1:4222';

/** One model per index until models can be swapped in a running cluster. */
const SERVED_VERSION = 1;

export const NATS_FLAGS = {
  nats: { type: 'string' },
  token: { type: 'string' },
  user: { type: 'string' },
  pass: { type: 'string' },
} as const;

export const NATS_FLAGS_HELP = '[--nats URL] [--token T | --user U --pass P]';

export interface NatsSettings {
  readonly url: string;
  readonly token?: string;
  readonly user?: string;
  readonly pass?: string;
}

/** Where and as whom to connect: flags first, then DSI_NATS_URL / _TOKEN / _USER / _PASS, then the local default. */
export function natsSettings(flags: { nats?: string; token?: string; user?: string; pass?: string }, env: NodeJS.ProcessEnv): NatsSettings {
  const url = flags.nats ?? env.DSI_NATS_URL ?? DEFAULT_NATS_URL;
  const token = flags.token ?? env.DSI_NATS_TOKEN;
  const user = flags.user ?? env.DSI_NATS_USER;
  const pass = flags.pass ?? env.DSI_NATS_PASS;
  if (token && (user || pass)) throw new BadInputError('give either --token or --user/--pass, not both (flags or DSI_NATS_* variables)');
  if (Boolean(user) !== Boolean(pass)) throw new BadInputError('--user and --pass go together');
  return Object.freeze({ url, ...(token ? { token } : {}), ...(user && pass ? { user, pass } : {}) });
}

export const expertCommand: Command = {
  summary: 'serve one shard of an index over NATS (runs until SIGTERM or SIGINT, then drains)',
  usage: `dsi expert --index DIR --shard ID ${NATS_FLAGS_HELP} ${RUNTIME_FLAGS_HELP}`,
  async run(argv, ctx) {
    const { values } = parseFlags(argv, { index: { type: 'string' }, shard: { type: 'string' }, ...NATS_FLAGS, ...RUNTIME_FLAGS });
    const indexDir = requireFlag(values.index, '--index');
    const shardId = requireFlag(values.shard, '--shard');
    const nats = natsSettings(values, ctx.env);

    // The manifest alone says whether the shard exists: a typo fails before the backend starts.
    const manifest = await openIndex(indexDir);
    const shard = manifest.shards.find((s) => s.id === shardId);
    if (!shard) throw new BadInputError(`unknown shard '${shardId}': ${indexDir} has ${manifest.shards.map((s) => s.id).join(', ')}`);

    const { log, backend } = await startRuntime(ctx, 'dsi-expert', values);
    const shardDir = shardDirOf(shard.id);
    await verifyIndex(indexDir, manifest, [shardDir]);
    const expert = await loadExpert(join(indexDir, shardDir));
    try {
      const replica = newReplicaId(hostname(), process.pid);
      const bus = await connectBus({ ...nats, name: `dsi-expert-${shard.id}-${replica}`, log });
      const service = new ExpertService({ expert, shard, config: manifest.config, bus, replica, version: SERVED_VERSION, log });
      const stop = stopSignal();
      try {
        await service.start();
        log.info({ shard: shard.id, replica, docs: shard.docs, topics: shard.topics, version: SERVED_VERSION, backend }, 'expert ready');
        const reason = await Promise.race([stop.signal, bus.closed().then((error) => ({ closed: error }))]);
        if (typeof reason === 'string') log.info({ signal: reason }, 'stopping');
        await service.stop();
        if (typeof reason !== 'string') throw new BusUnavailableError(`NATS connection closed${reason.closed ? `: ${reason.closed.message}` : ''}`, { cause: reason.closed });
        await bus.drain();
        log.info({ served: service.stats().served }, 'expert stopped');
        return 0;
      } finally {
        stop.dispose();
        await bus.close();
      }
    } finally {
      expert.model.dispose();
    }
  },
};
