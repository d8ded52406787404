import { setTimeout as sleep } from 'node:timers/promises';
import type { Bus, BusSubscription } from '../../shared/bus/connection.ts';
import { decodeMessage } from '../../shared/bus/decode-message.ts';
import { HEARTBEAT_INTERVAL_MS, HEARTBEAT_TIMEOUT_MS, JobQueue, WorkerHeartbeatSchema, type WorkerHeartbeat } from '../../shared/bus/protocol.ts';
import type { Logger } from '../../shared/log.ts';

/** Heartbeats come every second: listening a little longer than that hears every live worker once. */
export const WORKER_LISTEN_MS = HEARTBEAT_INTERVAL_MS + 500;

/** Which `dsi worker` processes are alive, from their heartbeats: one heard within the timeout, and not stopping. */
export class LiveWorkers {
  readonly #seen = new Map<string, { heartbeat: WorkerHeartbeat; at: number }>();
  readonly #sub: BusSubscription;

  constructor(bus: Pick<Bus, 'subscribe'>, log: Logger) {
    this.#sub = bus.subscribe(JobQueue.workerHeartbeatWildcard, {}, (message) => {
      try {
        const heartbeat = decodeMessage(WorkerHeartbeatSchema, message.data, 'worker heartbeat');
        this.#seen.set(heartbeat.worker, { heartbeat, at: performance.now() });
      } catch (error) {
        log.debug({ subject: message.subject, err: (error as Error).message }, 'invalid worker heartbeat dropped');
      }
    });
  }

  /** Live workers, by id. */
  alive(): WorkerHeartbeat[] {
    const now = performance.now();
    return [...this.#seen.values()].filter((w) => now - w.at <= HEARTBEAT_TIMEOUT_MS && !w.heartbeat.draining).map((w) => w.heartbeat).sort((a, b) => a.worker.localeCompare(b.worker));
  }

  stop(): Promise<void> {
    return this.#sub.drain();
  }
}

/** The workers alive now: listens for one heartbeat interval. */
export async function listLiveWorkers(bus: Pick<Bus, 'subscribe' | 'flush'>, log: Logger): Promise<WorkerHeartbeat[]> {
  const view = new LiveWorkers(bus, log);
  try {
    await bus.flush();
    await sleep(WORKER_LISTEN_MS);
    return view.alive();
  } finally {
    await view.stop();
  }
}
