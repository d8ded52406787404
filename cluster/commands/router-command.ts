import { routerConfig, ROUTER_DEFAULTS } from '../../router/config.ts';
import { startRouter } from '../../router/server.ts';
import { graceFor, stopSignal } from './stop-signal.ts';
import { intFlag, parseFlags, RUNTIME_FLAGS_HELP, type Command } from './context.ts';
import { NATS_FLAGS, NATS_FLAGS_HELP, natsAddress } from './nats-flags.ts';
import { RUNTIME_FLAGS, startRuntime } from './runtime.ts';
import { ACCESS_FLAGS, ACCESS_FLAGS_HELP, accessSettings } from './access-flags.ts';

/** In-flight requests get this long to finish when the router is told to stop. */
const ROUTER_CLOSE_GRACE_MS = 5000;

export const routerCommand: Command = {
  summary: 'serve the HTTP search API, asking the experts over NATS; the index comes from the registry (followed) or from --index DIR (runs until SIGTERM or SIGINT)',
  usage: `dsi router [--index DIR] [--port ${ROUTER_DEFAULTS.port}] [--host ${ROUTER_DEFAULTS.host}] [--deadline-ms ${ROUTER_DEFAULTS.deadlineMs}] ${ACCESS_FLAGS_HELP} ${NATS_FLAGS_HELP} ${RUNTIME_FLAGS_HELP}`,
  async run(argv, ctx) {
    const { values } = parseFlags(argv, { index: { type: 'string' }, port: { type: 'string' }, host: { type: 'string' }, 'deadline-ms': { type: 'string' }, ...ACCESS_FLAGS, ...NATS_FLAGS, ...RUNTIME_FLAGS });
    const nats = natsAddress(values, ctx.env);
    const config = routerConfig({
      indexDir: values.index,
      host: values.host,
      port: intFlag(values.port, '--port', 0, 65_535),
      deadlineMs: intFlag(values['deadline-ms'], '--deadline-ms', 1, 600_000),
      nats,
      access: accessSettings(values, ctx.env),
    });
    const { log } = await startRuntime(ctx, 'dsi-router', values, { stream: 'stdout' });
    const stop = stopSignal(ctx.env);
    try {
      const router = await startRouter(config, log);
      const signal = await stop.signal;
      log.info({ signal }, 'stopping');
      await router.close(graceFor(signal, ROUTER_CLOSE_GRACE_MS));
      return 0;
    } finally {
      stop.dispose();
    }
  },
};
