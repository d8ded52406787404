import { publishIndex } from '../registry/publish-index.ts';
import { parseFlags, requireFlag, RUNTIME_FLAGS_HELP, type Command } from './context.ts';
import { NATS_FLAGS, NATS_FLAGS_HELP, natsAddress } from './nats-flags.ts';
import { withRegistry } from './registry-connection.ts';
import { RUNTIME_FLAGS, startRuntime } from './runtime.ts';

export const publishCommand: Command = {
  summary: 'publish a local index into the registry of a NATS server (running experts and routers pick it up)',
  usage: `dsi publish --index DIR ${NATS_FLAGS_HELP} ${RUNTIME_FLAGS_HELP}`,
  async run(argv, ctx) {
    const { values } = parseFlags(argv, { index: { type: 'string' }, ...NATS_FLAGS, ...RUNTIME_FLAGS });
    const indexDir = requireFlag(values.index, '--index');
    const nats = natsAddress(values, ctx.env);
    const { log } = await startRuntime(ctx, 'dsi-publish', values);
    const summary = await withRegistry(nats, 'dsi-publish', log, (registry) => publishIndex(registry, indexDir, log));
    ctx.stdout.write(`published ${indexDir} to ${nats.url}: gating v${summary.gatingVersion}; ${summary.shards.map((s) => `${s.id} v${s.version}${s.unchanged ? ' (unchanged)' : ''}`).join(', ')}${summary.removed.length ? `; removed ${summary.removed.join(', ')}` : ''}\n`);
    return 0;
  },
};
