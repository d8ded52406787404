import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Bus } from '../../shared/bus/connection.ts';
import { BadInputError } from '../../shared/errors.ts';
import type { Logger } from '../../shared/log.ts';
import { createProgress } from '../../shared/progress.ts';
import { REGISTRY_FORMAT } from '../../shared/registry/records.ts';
import type { Registry } from '../../shared/registry/registry.ts';
import { waitForLiveReplica } from '../../shared/bus/shard-view.ts';
import { loadAddedCollection } from '../ops/added-collection.ts';
import { addShard, type AddShardGating, type AddShardResult } from '../ops/add-shard.ts';
import { checkoutCluster, publishGatingFolder, publishShardFolder } from '../registry/checkout.ts';
import { addShardToIndex, nextShardId } from '../ops/add-shard-local.ts';
import { checkNewShardId } from '../ops/added-data.ts';
import { intFlag, parseFlags, requireFlag, RUNTIME_FLAGS_HELP, type Command } from './context.ts';
import { NATS_FLAGS, NATS_FLAGS_HELP, natsAddress } from './nats-flags.ts';
import { withRegistry } from './registry-connection.ts';
import { chooseJobRunner } from './job-runner-choice.ts';
import { childEnvironment, RUNTIME_FLAGS, startRuntime } from './runtime.ts';

const DEFAULT_WAIT_MS = 120_000;

export const addShardCommand: Command = {
  summary: 'add documents as a new shard under new topics: train its expert, teach the gating model the new topics, publish (existing experts are not retrained)',
  usage: `dsi add-shard --corpus DIR [--id ID] [--retrain-gating] [--wait-ms ${DEFAULT_WAIT_MS}] [--json] (${NATS_FLAGS_HELP} | --index DIR) ${RUNTIME_FLAGS_HELP}`,
  async run(argv, ctx) {
    const { values } = parseFlags(argv, {
      corpus: { type: 'string' },
      index: { type: 'string' },
      id: { type: 'string' },
      'wait-ms': { type: 'string' },
      parallel: { type: 'string' },
      json: { type: 'boolean' },
      'retrain-gating': { type: 'boolean' },
      ...NATS_FLAGS,
      ...RUNTIME_FLAGS,
    });
    const corpusDir = requireFlag(values.corpus, '--corpus');
    if (values.id !== undefined && !/^[a-z0-9-]+$/.test(values.id)) throw new BadInputError(`--id must be lower-case letters, digits and dashes, got '${values.id}'`);
    if (values.index !== undefined && values.nats !== undefined) throw new BadInputError('give --nats URL (a running cluster) or --index DIR (a local index), not both');
    const waitMs = intFlag(values['wait-ms'], '--wait-ms', 0, 3_600_000) ?? DEFAULT_WAIT_MS;
    const parallel = intFlag(values.parallel, '--parallel', 1, 64) ?? 2;
    const { log, format } = await startRuntime(ctx, 'dsi-add-shard', values);
    const progress = createProgress({ tty: ctx.isTTY, log });
    const childEnv = childEnvironment(ctx, values, format);
    // Growing the gating model costs what is added; retraining it costs the whole collection.
    const gating: AddShardGating = values['retrain-gating'] ? 'retrain' : 'grow';
    const work = await mkdtemp(join(tmpdir(), 'dsi-add-shard-'));
    try {
      let result: AddShardResult;
      if (values.index !== undefined) {
        result = await addShardToIndex({ indexDir: values.index, corpusDir, shardId: values.id, gating, work, log, progress, runner: await chooseJobRunner({ parallel, childEnv, log }) });
      } else {
        const nats = natsAddress(values, ctx.env);
        result = await withRegistry(nats, 'dsi-add-shard', log, async (registry, bus) => {
          const current = await checkoutCluster(registry, join(work, 'current'));
          const added = await loadAddedCollection(corpusDir, { train: current.config.trainSplit, heldout: current.config.reportSplit });
          const shardId = values.id ?? nextShardId(current.shards.map((s) => s.id));
          checkNewShardId(shardId, current.shards.map((s) => s.id));
          const runner = await chooseJobRunner({ bus, url: nats.url, parallel, childEnv, log });
          const trained = await addShard({ current, added, shardId, gating, outDir: join(work, 'new'), log, progress, runner });
          await publishAddition(registry, bus, trained, { corpusDir, waitMs, log });
          return trained;
        });
      }
      ctx.stdout.write(values.json ? `${JSON.stringify(summaryOf(result))}\n` : formatAddition(result));
      return 0;
    } finally {
      await rm(work, { recursive: true, force: true });
    }
  },
};

/**
 * Publishes in the order that keeps every search answerable: the index record (topic
 * count) and the new shard first, then, once a replica of the shard is heard from, the
 * gating model that routes to its topics. Until then no query is sent to the new shard.
 */
async function publishAddition(registry: Registry, bus: Bus, result: AddShardResult, o: { corpusDir: string; waitMs: number; log: Logger }): Promise<void> {
  const index = await registry.index();
  // The index record carries the fan-out the grown cluster routes with (routers pick it up with the record).
  const config = { ...index.config, routing: { ...index.config.routing, maxFanout: result.fanout.to } };
  await registry.putIndex({ ...index, format: REGISTRY_FORMAT, config, topics: Math.max(index.topics, result.topicCount), corpus: { documents: index.corpus.documents + result.shard.docs, sha256: index.corpus.sha256 } });
  const note = `added from ${o.corpusDir}`;
  await publishShardFolder(registry, { id: result.shard.id, topics: result.shard.topics, dir: result.shardDir, data: result.data, figures: result.report }, note);
  o.log.info({ shard: result.shard.id, wait_ms: o.waitMs }, `shard published; waiting for a replica of it (start one with: dsi expert --shard ${result.shard.id} --nats URL; dsi up starts them itself)`);
  const live = (await waitForLiveReplica(bus, result.shard.id, o.waitMs, o.log)) !== undefined;
  if (!live) o.log.warn({ shard: result.shard.id }, 'no replica of the new shard within the wait: publishing the gating model anyway; queries for the new topics are answered degraded until one starts');
  const gatingVersion = await publishGatingFolder(registry, result.gatingDir, `${note}: learns topics ${result.shard.topics.join(',')}`);
  o.log.info({ gating_version: gatingVersion }, 'gating model published');
  await registry.pruneObjects();
}

function summaryOf(r: AddShardResult) {
  return { shard: r.shard, report: r.report, old_shards: r.oldShards, tolerance: r.tolerance, within_tolerance: r.withinTolerance, fanout: r.fanout, seconds: +r.seconds.toFixed(1) };
}

function formatAddition(r: AddShardResult): string {
  const f = (v: number | null) => (v === null ? '-' : v.toFixed(3));
  let out = `new shard ${r.shard.id}: ${r.shard.docs} documents, topics ${r.shard.topics.join(',')}; trained in ${r.seconds.toFixed(1)} s\n`;
  out += `  index_recall@1 ${f(r.report['index_recall@1'])}  collision_rate ${f(r.report.collision_rate)}  hits@10 ${f(r.report['hits@10'])}\n\n`;
  out += `old shards, Hits@10 of their held-out queries through the whole search (tolerance ${r.tolerance}, or one query of a shard with fewer than ${Math.round(1 / r.tolerance)}):\nshard  before  after\n`;
  for (const s of r.oldShards) out += `${s.id.padEnd(6)} ${f(s.before['hits@10']).padStart(6)} ${f(s.after['hits@10']).padStart(6)}\n`;
  if (r.fanout.to !== r.fanout.from) out += `routing fan-out raised from ${r.fanout.from} to ${r.fanout.to} topics to keep the old shards within the tolerance\n`;
  out += r.withinTolerance ? 'every old shard within tolerance\n' : 'WARNING: an old shard lost more than the tolerance, even with a wider fan-out\n';
  return out;
}
