import type { Bus } from '../../shared/bus/connection.ts';
import type { Logger } from '../../shared/log.ts';
import { listLiveWorkers } from '../distributed/live-workers.ts';
import { QueueJobRunner } from '../distributed/queue-job-runner.ts';
import type { JobRunner } from '../indexing/job-runner.ts';
import { LocalJobRunner } from '../indexing/local-job-runner.ts';

export interface JobRunnerChoice {
  /** The bus of the cluster the command was pointed at (--nats), if any. */
  bus?: Bus;
  url?: string;
  /** For local training: processes at once and their environment. */
  parallel: number;
  childEnv: NodeJS.ProcessEnv;
  log: Logger;
}

/**
 * Where a command's training jobs run. One rule for `dsi index`, `add-shard` and `retrain`:
 * given a NATS server with at least one `dsi worker` alive on it, the jobs go to the workers
 * through its job queue; otherwise (no server, or no worker heard within a heartbeat
 * interval) they train in local processes. The log says which, and why.
 */
export async function chooseJobRunner(o: JobRunnerChoice): Promise<JobRunner> {
  const local = () => new LocalJobRunner({ parallel: o.parallel, log: o.log, env: o.childEnv });
  if (!o.bus) return local();
  const workers = await listLiveWorkers(o.bus, o.log);
  if (workers.length === 0) {
    o.log.warn({ nats: o.url }, 'no dsi worker is alive on the NATS server: training runs in local processes (start workers with dsi worker --nats URL to spread it)');
    return local();
  }
  o.log.info({ nats: o.url, workers: workers.map((w) => w.worker), slots: workers.reduce((n, w) => n + w.slots, 0) }, 'dsi workers are alive: training goes to them through the job queue');
  return new QueueJobRunner({ bus: o.bus, url: o.url ?? '', log: o.log });
}
