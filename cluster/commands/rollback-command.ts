import { parseFlags, requireFlag, RUNTIME_FLAGS_HELP, type Command } from './context.ts';
import { NATS_FLAGS, NATS_FLAGS_HELP, natsAddress } from './nats-flags.ts';
import { withRegistry } from './registry-connection.ts';
import { createLogger } from '../../shared/log.ts';

export const rollbackCommand: Command = {
  summary: "make a shard's previous model version current again (its experts swap back without a restart)",
  usage: `dsi rollback --shard ID ${NATS_FLAGS_HELP} ${RUNTIME_FLAGS_HELP}`,
  async run(argv, ctx) {
    const { values } = parseFlags(argv, { shard: { type: 'string' }, ...NATS_FLAGS, backend: { type: 'string' }, 'log-level': { type: 'string' } });
    const shard = requireFlag(values.shard, '--shard');
    const nats = natsAddress(values, ctx.env);
    const log = createLogger({ name: 'dsi-rollback', level: values['log-level'] ?? ctx.env.DSI_LOG_LEVEL ?? 'warn', pretty: ctx.isTTY && !ctx.env.DSI_LOG_JSON });
    const record = await withRegistry(nats, 'dsi-rollback', log, (registry) => registry.rollbackShard(shard));
    ctx.stdout.write(`shard ${shard}: version ${record.current.version} is current again (was ${record.previous?.version}); ${record.current.note}\n`);
    return 0;
  },
};
