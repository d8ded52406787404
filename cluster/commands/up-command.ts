import { randomBytes } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import { ROUTER_DEFAULTS } from '../../router/config.ts';
import type { BusAddress } from '../../shared/bus/address.ts';
import { BadInputError } from '../../shared/errors.ts';
import { describeExit } from '../up/children.ts';
import { LocalCluster } from '../up/cluster.ts';
import { stopSignal } from './stop-signal.ts';
import { intFlag, parseFlags, RUNTIME_FLAGS_HELP, type Command } from './context.ts';
import { NATS_FLAGS, NATS_FLAGS_HELP, natsAddress, natsEnv, natsUrlGiven } from './nats-flags.ts';
import { childEnvironment, RUNTIME_FLAGS, startRuntime } from './runtime.ts';
import { ACCESS_FLAGS, ACCESS_FLAGS_HELP, accessEnv, accessSettings } from './access-flags.ts';

const DSI_BIN = fileURLToPath(new URL('../../bin/dsi.js', import.meta.url));
const READY_TIMEOUT_MS = 120_000;

export const upCommand: Command = {
  summary: 'run a whole cluster on this machine: NATS with JetStream (unless --nats), the index published to its registry, experts, router; until SIGTERM or SIGINT',
  usage: `dsi up [--index DIR] [--port ${ROUTER_DEFAULTS.port}] [--host ${ROUTER_DEFAULTS.host}] [--replicas 1] [--shards-per-expert 1] [--deadline-ms ${ROUTER_DEFAULTS.deadlineMs}] [--demo] ${ACCESS_FLAGS_HELP} ${NATS_FLAGS_HELP} ${RUNTIME_FLAGS_HELP}`,
  async run(argv, ctx) {
    const { values } = parseFlags(argv, {
      index: { type: 'string' },
      port: { type: 'string' },
      host: { type: 'string' },
      replicas: { type: 'string' },
      'shards-per-expert': { type: 'string' },
      'deadline-ms': { type: 'string' },
      demo: { type: 'boolean' },
      ...ACCESS_FLAGS,
      ...NATS_FLAGS,
      ...RUNTIME_FLAGS,
    });
    // --demo may name no index: the demo's own; without --demo, --index is required.
    const demo = values.demo ? await import('../up/demo.ts') : undefined;
    const indexDir = values.index ?? (demo ? (await import('./demo-command.ts')).DEMO_INDEX : undefined);
    const joinNats = natsUrlGiven(values, ctx.env);
    // Without an index to publish, the cluster serves what the registry of a running NATS holds.
    if (!indexDir && joinNats === undefined) throw new BadInputError('--index is required (or --demo, or --nats URL to serve what its registry holds)');
    const port = intFlag(values.port, '--port', 0, 65_535) ?? ROUTER_DEFAULTS.port;
    const replicas = intFlag(values.replicas, '--replicas', 1, 64) ?? 1;
    const shardsPerExpert = intFlag(values['shards-per-expert'], '--shards-per-expert', 1, 1024) ?? 1;
    const deadlineMs = intFlag(values['deadline-ms'], '--deadline-ms', 1, 600_000);
    const given = natsAddress(values, ctx.env);
    // The bus of a NATS server started here is closed by default: with no credentials given,
    // it requires a random token, which every process started here gets (and nobody else).
    const generatedToken = joinNats === undefined && !given.token && !given.user ? randomBytes(24).toString('base64url') : undefined;
    const nats: BusAddress = generatedToken ? { ...given, token: generatedToken } : given;
    const access = accessSettings(values, ctx.env);
    const { log, format } = await startRuntime(ctx, 'dsi-up', values, { stream: 'stdout' });

    // Children find their NATS credentials and runtime settings in the environment, which
    // keeps secrets out of `ps`, and log in this process's format.
    const childEnv = { ...childEnvironment(ctx, values, format), ...natsEnv(nats) };
    // The router reads its tokens and rate limit from here (a file named by a flag is read once, above).
    delete childEnv.DSI_AUTH_TOKENS_FILE;
    Object.assign(childEnv, accessEnv(access));

    // Before the signal handler: Ctrl-C during the one-off build ends it the ordinary way.
    if (demo && indexDir) await demo.ensureDemoIndex(indexDir, { log, tty: ctx.isTTY, childEnv });
    const stop = stopSignal();
    const cluster = new LocalCluster({
      indexDir,
      host: values.host ?? ROUTER_DEFAULTS.host,
      port,
      replicas,
      shardsPerExpert,
      natsUrl: joinNats === undefined ? undefined : nats.url,
      deadlineMs,
      readyTimeoutMs: READY_TIMEOUT_MS,
      node: process.execPath,
      // To profile a running cluster: DSI_CHILD_NODE_ARGS='--cpu-prof --cpu-prof-dir=DIR' (NODE_OPTIONS refuses --cpu-prof).
      nodeArgs: (ctx.env.DSI_CHILD_NODE_ARGS ?? '').split(/\s+/).filter(Boolean),
      dsiBin: DSI_BIN,
      childEnv,
      // With credentials given, a NATS server started here requires them.
      credentials: { token: nats.token, user: nats.user, pass: nats.pass },
      // The router's probes carry a token when it needs one.
      authToken: access.tokens[0],
      path: ctx.env.PATH ?? '',
      log,
    });
    try {
      const started = performance.now();
      const ready = cluster.start().then(() => 'ready' as const);
      // When a signal wins the race, a later start-up failure has nobody to report to: it must not become an unhandled rejection.
      ready.catch(() => {});
      const first = await Promise.race([ready, stop.signal]);
      if (first !== 'ready') {
        log.info({ signal: first }, 'stopping before the cluster was ready');
        return 0;
      }
      ctx.stdout.write(`dsi up: ready at ${cluster.url} in ${((performance.now() - started) / 1000).toFixed(1)} s (${replicas} replica(s) per shard, NATS ${cluster.natsUrl}); Ctrl-C stops it\n`);
      if (generatedToken && cluster.natsTokenFile) ctx.stdout.write(`        the bus requires a token: DSI_NATS_TOKEN=$(cat ${cluster.natsTokenFile}) dsi status --nats ${cluster.natsUrl}\n`);
      // Last of these lines: tools that start dsi up read up to it.
      ctx.stdout.write(`        status page: ${cluster.url}/${access.tokens.length > 0 ? ' (it asks for one of the auth tokens)' : ''}\n`);
      if (demo) await demo.showSampleQueries(cluster.url, ctx.stdout, access.tokens[0]);
      const reason = await Promise.race([stop.signal, cluster.failure]);
      if (typeof reason === 'string') {
        log.info({ signal: reason }, 'stopping');
        return 0;
      }
      ctx.stderr.write(`dsi up: ${describeExit(reason)}; stopping the cluster\n`);
      return 1;
    } finally {
      await cluster.stop();
      stop.dispose();
    }
  },
};
