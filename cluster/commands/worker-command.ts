import { hostname } from 'node:os';
import { connectBus } from '../../shared/bus/connection.ts';
import { newReplicaId } from '../../experts/replica-id.ts';
import { JobWorker } from '../distributed/worker.ts';
import { intFlag, parseFlags, RUNTIME_FLAGS_HELP, type Command } from './context.ts';
import { NATS_FLAGS, NATS_FLAGS_HELP, natsAddress, natsEnv } from './nats-flags.ts';
import { backendPreference, childEnvironment, commandLogger, RUNTIME_FLAGS } from './runtime.ts';
import { stopSignal } from './stop-signal.ts';

/** A job not reported alive for this long is given to another worker: three in-progress reports fit in it. */
const DEFAULT_ACK_WAIT_S = 30;
/** Deliveries of a job before it fails its build (a worker stopped by SIGTERM hands its job back, which counts as one). */
const DEFAULT_MAX_DELIVER = 3;

export const workerCommand: Command = {
  summary: 'train jobs from the job queue of a NATS server (dsi index, add-shard and retrain send them there when a worker is alive); SIGTERM hands running jobs back',
  usage: `dsi worker [--slots N] [--ack-wait S] [--max-deliver N] ${NATS_FLAGS_HELP} ${RUNTIME_FLAGS_HELP}`,
  async run(argv, ctx) {
    const { values } = parseFlags(argv, { slots: { type: 'string' }, 'ack-wait': { type: 'string' }, 'max-deliver': { type: 'string' }, ...NATS_FLAGS, ...RUNTIME_FLAGS });
    const slots = intFlag(values.slots, '--slots', 1, 256) ?? 1;
    const ackWaitS = intFlag(values['ack-wait'], '--ack-wait', 1, 3600) ?? DEFAULT_ACK_WAIT_S;
    const maxDeliver = intFlag(values['max-deliver'], '--max-deliver', 1, 100) ?? DEFAULT_MAX_DELIVER;
    const nats = natsAddress(values, ctx.env);
    // The worker trains nothing itself (its children do, with the backend asked for): no backend here.
    backendPreference(ctx, values);
    // A service: its log is its output.
    const { log, format } = commandLogger(ctx, 'dsi-worker', values, { stream: 'stdout' });
    const id = newReplicaId(hostname(), process.pid);
    const bus = await connectBus({ ...nats, name: `dsi-worker-${id}`, log });
    const stop = stopSignal();
    try {
      const worker = new JobWorker({
        bus,
        id,
        host: hostname(),
        slots,
        delivery: { ackWaitMs: ackWaitS * 1000, maxDeliver },
        log,
        // The children fetch and store through the same server, as the same user.
        childEnv: { ...childEnvironment(ctx, values, format), DSI_NATS_URL: nats.url, ...natsEnv(nats) },
      });
      await worker.run(stop.signal.then((signal) => log.info({ signal }, 'stopping: no new jobs, running ones handed back')));
      await bus.drain();
      log.info('worker stopped');
      return 0;
    } finally {
      stop.dispose();
      await bus.close();
    }
  },
};
