import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { BadInputError } from '../../shared/errors.ts';
import { createProgress } from '../../shared/progress.ts';
import { loadAddedCollection } from '../ops/added-collection.ts';
import { retrainShard } from '../ops/retrain-shard.ts';
import type { ShardChecks } from '../ops/types.ts';
import { checkoutHead, checkoutShard, publishShardFolder } from '../registry/checkout.ts';
import { intFlag, parseFlags, requireFlag, RUNTIME_FLAGS_HELP, type Command } from './context.ts';
import { NATS_FLAGS, NATS_FLAGS_HELP, natsAddress } from './nats-flags.ts';
import { withRegistry } from './registry-connection.ts';
import { chooseJobRunner } from './job-runner-choice.ts';
import { childEnvironment, RUNTIME_FLAGS, startRuntime } from './runtime.ts';

export const retrainCommand: Command = {
  summary: "retrain one shard's expert (optionally with added documents), check it, and publish it as the next version if it is not worse",
  usage: `dsi retrain --shard ID [--add DIR] [--epochs N] [--scratch] [--force] [--json] ${NATS_FLAGS_HELP} ${RUNTIME_FLAGS_HELP}`,
  async run(argv, ctx) {
    const { values } = parseFlags(argv, {
      shard: { type: 'string' },
      add: { type: 'string' },
      epochs: { type: 'string' },
      scratch: { type: 'boolean' },
      force: { type: 'boolean' },
      json: { type: 'boolean' },
      ...NATS_FLAGS,
      ...RUNTIME_FLAGS,
    });
    const shardId = requireFlag(values.shard, '--shard');
    const epochs = intFlag(values.epochs, '--epochs', 1, 1000);
    const nats = natsAddress(values, ctx.env);
    const { log, format } = await startRuntime(ctx, 'dsi-retrain', values);
    const work = await mkdtemp(join(tmpdir(), `dsi-retrain-${shardId}-`));
    try {
      return await withRegistry(nats, 'dsi-retrain', log, async (registry, bus) => {
        const index = await registry.index();
        const record = await registry.shard(shardId);
        const added = values.add === undefined ? undefined : await loadAddedCollection(values.add, { train: index.config.trainSplit, heldout: index.config.reportSplit });
        if (added && added.docs.length === 0) throw new BadInputError(`${values.add}: the corpus has no documents`);
        const shard = await checkoutShard(registry, record, join(work, 'current'));
        const head = await checkoutHead(registry, join(work, 'gating'));
        const mode = values.scratch ? 'scratch' : 'continue';
        const progress = createProgress({ tty: ctx.isTTY, log });
        const runner = await chooseJobRunner({ bus, url: nats.url, parallel: 1, childEnv: childEnvironment(ctx, values, format), log });
        const result = await retrainShard({ config: index.config, topicCount: index.topics, shard, head, added, epochs, mode, outDir: join(work, 'candidate'), log, progress, runner });
        const publish = result.notWorse || values.force === true;
        let version: number | null = null;
        if (publish) {
          const note = `retrained (${mode}${epochs ? `, ${epochs} epoch(s)` : ''}${added ? `, +${added.docs.length} docs from ${values.add}` : ''})${result.notWorse ? '' : ', forced although worse'}`;
          version = (await publishShardFolder(registry, { id: shardId, topics: record.topics, dir: result.dir, data: result.data, figures: result.report }, note)).record.current.version;
          // Versions older than the one kept for rollback are no longer needed.
          await registry.pruneObjects();
        }
        const summary = { shard: shardId, from_version: record.current.version, published_version: version, not_worse: result.notWorse, tolerance: result.tolerance, current: result.current, candidate: result.candidate, seconds: +result.seconds.toFixed(1) };
        if (values.json) ctx.stdout.write(`${JSON.stringify(summary)}\n`);
        else ctx.stdout.write(formatRetrain(summary));
        // Refusing a worse model is the check doing its job, but the caller asked for a new version and did not get one.
        return publish ? 0 : 1;
      });
    } finally {
      await rm(work, { recursive: true, force: true });
    }
  },
};

function formatRetrain(s: { shard: string; from_version: number; published_version: number | null; not_worse: boolean; tolerance: number; current: ShardChecks; candidate: ShardChecks; seconds: number }): string {
  const fmt = (v: unknown) => (typeof v === 'number' ? v.toFixed(3) : String(v));
  const keys = ['index_recall@1', 'collision_rate', 'hits@10', 'heldout_queries'] as const;
  let out = `shard ${s.shard}: retrained in ${s.seconds} s\n\ncheck             current  candidate\n`;
  for (const k of keys) out += `${k.padEnd(16)} ${fmt(s.current[k]).padStart(8)} ${fmt(s.candidate[k]).padStart(10)}\n`;
  out += s.published_version === null
    ? `\nnot published: the candidate is worse than version ${s.from_version} by more than ${s.tolerance} on a held-out check (--force publishes it anyway)\n`
    : `\npublished as version ${s.published_version} (version ${s.from_version} kept for dsi rollback)\n`;
  return out;
}
