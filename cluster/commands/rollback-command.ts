import { parseFlags, requireFlag, RUNTIME_FLAGS_HELP, type Command } from './context.ts';
import { NATS_FLAGS, NATS_FLAGS_HELP, natsAddress } from './nats-flags.ts';
import { withRegistry } from './registry-connection.ts';
import { commandLogger, RUNTIME_FLAGS } from './runtime.ts';

export const rollbackCommand: Command = {
  summary: "make a shard's previous model version current again (its experts swap back without a restart)",
  usage: `dsi rollback --shard ID ${NATS_FLAGS_HELP} ${RUNTIME_FLAGS_HELP}`,
  async run(argv, ctx) {
    const { values } = parseFlags(argv, { shard: { type: 'string' }, ...NATS_FLAGS, ...RUNTIME_FLAGS });
    const shard = requireFlag(values.shard, '--shard');
    const nats = natsAddress(values, ctx.env);
    const { log } = commandLogger(ctx, 'dsi-rollback', values, { level: 'warn' });
    const record = await withRegistry(nats, 'dsi-rollback', log, (registry) => registry.rollbackShard(shard));
    ctx.stdout.write(`shard ${shard}: version ${record.current.version} is current again (was ${record.previous?.version}); ${record.current.note}\n`);
    return 0;
  },
};
