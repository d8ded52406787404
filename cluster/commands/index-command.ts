import { defaultIndexConfig, IndexConfigSchema, type IndexConfig } from '../../shared/config.ts';
import { BadInputError } from '../../shared/errors.ts';
import { createProgress } from '../../shared/progress.ts';
import { buildIndex } from '../indexing/build-index.ts';
import { intFlag, parseFlags, requireFlag, RUNTIME_FLAGS_HELP, type Command } from './context.ts';
import { childEnvironment, RUNTIME_FLAGS, startRuntime } from './runtime.ts';
import { availableParallelism } from 'node:os';
import { connectBus, type Bus } from '../../shared/bus/connection.ts';
import { chooseJobRunner } from './job-runner-choice.ts';
import { NATS_FLAGS, NATS_FLAGS_HELP, natsAddress, natsUrlGiven } from './nats-flags.ts';

export const indexCommand: Command = {
  summary: 'build an index (semantic DocIDs, gating model, one expert per shard) from a BEIR collection',
  usage: `dsi index --corpus DIR --out DIR [--shards N] [--seed S] [--epochs N] [--gating-epochs N] [--dim D] [--topics T] [--parallel P] [--no-train-queries] [--set JSON] ${NATS_FLAGS_HELP} ${RUNTIME_FLAGS_HELP}`,
  async run(argv, ctx) {
    const { values } = parseFlags(argv, {
      corpus: { type: 'string' },
      out: { type: 'string' },
      shards: { type: 'string' },
      seed: { type: 'string' },
      epochs: { type: 'string' },
      'gating-epochs': { type: 'string' },
      dim: { type: 'string' },
      topics: { type: 'string' },
      parallel: { type: 'string' },
      set: { type: 'string' },
      'no-train-queries': { type: 'boolean' },
      ...NATS_FLAGS,
      ...RUNTIME_FLAGS,
    });
    const corpusDir = requireFlag(values.corpus, '--corpus');
    const outDir = requireFlag(values.out, '--out');
    const shards = intFlag(values.shards, '--shards', 1, 1024) ?? 4;
    const seed = intFlag(values.seed, '--seed', 0, 2 ** 31 - 1) ?? 1;
    const { log, format } = await startRuntime(ctx, 'dsi-index', values);
    const overrides = {
      topics: intFlag(values.topics, '--topics', 1, 100_000),
      dim: intFlag(values.dim, '--dim', 8, 1024),
      epochs: intFlag(values.epochs, '--epochs', 0, 1000),
      gatingEpochs: intFlag(values['gating-epochs'], '--gating-epochs', 0, 1000),
    };
    if (overrides.topics !== undefined && overrides.topics < shards) throw new BadInputError(`--topics (${overrides.topics}) must be at least --shards (${shards})`);
    const settings = parseSettings(values.set);
    const configFor = (documents: number) => {
      const base = deepMerge(defaultIndexConfig(documents, shards, seed), settings) as IndexConfig;
      const parsed = IndexConfigSchema.safeParse(base);
      if (!parsed.success) throw new BadInputError(`--set: ${parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ')}`);
      return IndexConfigSchema.parse({
        ...base,
        dim: overrides.dim ?? base.dim,
        docids: { ...base.docids, topics: overrides.topics ?? base.docids.topics },
        expert: { ...base.expert, epochs: overrides.epochs ?? base.expert.epochs },
        gating: { ...base.gating, epochs: overrides.gatingEpochs ?? base.gating.epochs },
        // From documents alone, as a user with a fresh collection and no query log would build it.
        ...(values['no-train-queries'] ? { trainSplit: null } : {}),
      });
    };
    const progress = createProgress({ tty: ctx.isTTY, log });
    const parallel = intFlag(values.parallel, '--parallel', 1, 256) ?? availableParallelism();
    // With a NATS server named, its dsi workers train the models (if any is alive).
    const url = natsUrlGiven(values, ctx.env);
    const bus: Bus | undefined = url ? await connectBus({ ...natsAddress(values, ctx.env), name: 'dsi-index', log }) : undefined;
    let result: Awaited<ReturnType<typeof buildIndex>>;
    try {
      const runner = await chooseJobRunner({ bus, url, parallel, childEnv: childEnvironment(ctx, values, format), log });
      result = await buildIndex({ corpusDir, outDir, configFor, log, progress, runner });
    } finally {
      await bus?.drain().catch(() => bus.close());
    }
    for (const r of result.reports) {
      ctx.stdout.write(
        `${r.id}  topics ${r.topics.join(',')}  docs ${r.docs}  index_recall@1 ${r['index_recall@1'].toFixed(3)}  collision_rate ${r.collision_rate.toFixed(3)}  hits@10 ${r['hits@10']?.toFixed(3) ?? 'n/a'}\n`,
      );
    }
    ctx.stdout.write(`index written to ${outDir} in ${result.seconds.toFixed(1)} s\n`);
    return 0;
  },
};

/** --set '{"expert":{"epochs":6}}': any index setting, deep-merged over the defaults (for sweeps). */
function parseSettings(json: string | undefined): Record<string, unknown> {
  if (json === undefined) return {};
  try {
    const value: unknown = JSON.parse(json);
    if (value && typeof value === 'object' && !Array.isArray(value)) return value as Record<string, unknown>;
  } catch {
    // Reported below with the flag's name.
  }
  throw new BadInputError(`--set must be a JSON object, got '${json}'`);
}

function deepMerge(base: unknown, over: unknown): unknown {
  if (!over || typeof over !== 'object' || Array.isArray(over) || !base || typeof base !== 'object') return over;
  const out: Record<string, unknown> = { ...(base as Record<string, unknown>) };
  for (const [k, v] of Object.entries(over)) out[k] = deepMerge(out[k], v);
  return out;
}
