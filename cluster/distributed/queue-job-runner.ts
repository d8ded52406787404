import { randomBytes } from 'node:crypto';
import { rm } from 'node:fs/promises';
import type { Bus } from '../../shared/bus/connection.ts';
import { decodeMessage } from '../../shared/bus/decode-message.ts';
import { JobQueue, MaxDeliveriesAdvisorySchema, PROTOCOL_VERSION, type JobOutcome, type JobTicket, type StoredObject } from '../../shared/bus/protocol.ts';
import { encode } from '../../shared/bus/codec.ts';
import { JobFailedError } from '../../shared/errors.ts';
import type { Logger } from '../../shared/log.ts';
import type { Progress } from '../../shared/progress.ts';
import { packTree, sha256Hex, unpackTree } from '../../shared/registry/bundle.ts';
import type { JobRunner } from '../indexing/job-runner.ts';
import { TrainingProgress } from '../indexing/job-progress.ts';
import { jobLabel, jobSize, type BuildJob, type JobResult } from '../indexing/jobs.ts';
import { encodeJob, inputFolders } from './job-payload.ts';
import { JobStore } from './job-store.ts';
import { LiveWorkers } from './live-workers.ts';

/** How often a build waiting on jobs that no live worker could take says so. */
const NO_WORKER_WARNING_MS = 30_000;

export interface QueueJobRunnerOptions {
  bus: Bus;
  /** The NATS server's URL, for the log. */
  url: string;
  log: Logger;
}

interface Planned {
  job: BuildJob;
  index: number;
  ticket: JobTicket;
}

/**
 * Trains jobs on `dsi worker` processes, wherever they run: each job is stored whole in the
 * jobs' object store (its input folders as bundles beside it) and a ticket for it is put on
 * the JetStream work queue; the workers take tickets, train, and store each job's output
 * folder and outcome. Every output is downloaded, checked against its sha256, and unpacked
 * where a local job would have written it. A job whose every delivery fails, or whose
 * workers all died before it finished, fails the run naming it. Whatever the run leaves in
 * JetStream (tickets, records, objects) is removed when it ends, however it ends.
 */
export class QueueJobRunner implements JobRunner {
  readonly where: string;
  readonly #o: QueueJobRunnerOptions;

  constructor(options: QueueJobRunnerOptions) {
    this.#o = options;
    this.where = `dsi workers, through the job queue on ${options.url}`;
  }

  async run(jobs: readonly BuildJob[], progress?: Progress): Promise<JobResult[]> {
    if (jobs.length === 0) return [];
    // Shown as jobs finish: a worker's progress stays on its machine.
    const shown = progress ? new TrainingProgress(progress, jobs.map(jobLabel)) : undefined;
    shown?.begin();
    const { bus } = this.#o;
    const build = newBuildId();
    const log = this.#o.log.child({ build });
    const store = await JobStore.open(bus);
    const workers = new LiveWorkers(bus, log);
    log.info({ jobs: jobs.length }, `training in ${this.where}`);
    try {
      const planned = await plan(store, build, jobs);
      return await this.#await(store, build, planned, workers, log, shown);
    } finally {
      shown?.end();
      await workers.stop();
      await store.removeBuild(build).catch((error: unknown) => log.warn({ err: (error as Error).message }, 'could not remove the build from the job queue (its leftovers expire)'));
    }
  }

  /** Enqueues every ticket, then resolves once every job's output is in place; rejects on the first failed job. */
  async #await(store: JobStore, build: string, planned: Planned[], workers: LiveWorkers, log: Logger, shown: TrainingProgress | undefined): Promise<JobResult[]> {
    const byJob = new Map(planned.map((p) => [p.ticket.job, p]));
    const bySeq = new Map<number, Planned>();
    const results = new Array<JobResult>(planned.length);
    const done = new Set<string>();
    let settle!: { resolve: () => void; reject: (error: Error) => void };
    const finished = new Promise<void>((resolve, reject) => (settle = { resolve, reject }));
    // A failure may come while tickets are still being queued, before anyone awaits `finished`.
    finished.catch(() => {});
    // Outputs are fetched one at a time, in the order they finish: a build of many shards
    // must not hold every model in memory at once.
    let fetching = Promise.resolve();

    const onOutcome = (job: string, outcome: JobOutcome) => {
      const p = byJob.get(job);
      if (!p || done.has(job)) return;
      done.add(job);
      if (!outcome.ok) {
        settle.reject(new JobFailedError(p.ticket.label, `${outcome.error} (attempt ${outcome.attempts}, the last allowed; on worker ${outcome.worker})`));
        return;
      }
      fetching = fetching.then(async () => {
        await rm(p.job.outDir, { recursive: true, force: true });
        await unpackTree(await store.objects.download(outcome.output), p.job.outDir, `output of ${p.ticket.label}`);
        results[p.index] = outcome.result as JobResult;
        shown?.finish(p.index);
        log.info({ job: p.ticket.label, worker: outcome.worker, attempts: outcome.attempts }, 'trained on a worker; output in place');
        if (results.filter(Boolean).length === planned.length) settle.resolve();
      }).catch((error: unknown) => settle.reject(error as Error));
    };
    const watch = await store.watchOutcomes(build, onOutcome, (job, reason) => settle.reject(new JobFailedError(byJob.get(job)?.ticket.label ?? job, `unreadable outcome: ${reason}`)));
    // A ticket that used up its deliveries with no outcome stored: its last worker died or hung.
    const advisories = this.#o.bus.subscribe(JobQueue.maxDeliveriesAdvisory, {}, async (message) => {
      const advisory = MaxDeliveriesAdvisorySchema.safeParse(safeJson(message.data));
      if (!advisory.success) return;
      const p = bySeq.get(advisory.data.stream_seq);
      if (!p || done.has(p.ticket.job)) return;
      // Its last worker may have stored the outcome and died before acking.
      const outcome = await store.outcome(build, p.ticket.job);
      if (outcome) return onOutcome(p.ticket.job, outcome);
      done.add(p.ticket.job);
      settle.reject(new JobFailedError(p.ticket.label, `delivered ${advisory.data.deliveries} times and never finished (its workers died or stopped before the end)`));
    });
    const warning = setInterval(() => {
      if (workers.alive().length === 0) log.warn({ waiting: planned.length - done.size }, 'jobs are waiting and no dsi worker is alive: start one (dsi worker --nats URL)');
    }, NO_WORKER_WARNING_MS);
    try {
      await this.#o.bus.flush();
      const now = new Date().toISOString();
      for (const p of planned) {
        await store.putRecord({ build, job: p.ticket.job, label: p.ticket.label, state: 'queued', attempts: 0, worker: null, enqueued_at: now, updated_at: now, last_error: null });
        bySeq.set(await store.queue.publish(JobQueue.ticket(build, p.ticket.job), encode(p.ticket)), p);
      }
      log.info({ jobs: planned.map((p) => p.ticket.label) }, 'jobs queued');
      await finished;
      await fetching;
      return results;
    } finally {
      clearInterval(warning);
      watch.stop();
      await advisories.drain();
      // An output still being unpacked must not land after the caller has cleaned up.
      await fetching.catch(() => {});
    }
  }
}

/** Stores every job and its input folders (each distinct folder once) and makes its ticket; largest jobs first, so they are taken first. */
async function plan(store: JobStore, build: string, jobs: readonly BuildJob[]): Promise<Planned[]> {
  const folders = new Map<string, StoredObject>();
  const planned: Planned[] = [];
  const order = jobs.map((job, index) => ({ job, index })).sort((a, b) => jobSize(b.job) - jobSize(a.job));
  for (const { job, index } of order) {
    const inputs: Record<string, StoredObject> = {};
    for (const [field, dir] of Object.entries(inputFolders(job))) {
      let ref = folders.get(dir);
      if (!ref) folders.set(dir, (ref = await store.upload(build, 'input', await packTree(dir))));
      inputs[field] = ref;
    }
    const bytes = encodeJob(job);
    // The job's id is its content's hash: two tickets for one job share one outcome.
    const id = sha256Hex(bytes).slice(0, 24);
    const payload = await store.upload(build, 'job', bytes);
    planned.push({ job, index, ticket: { v: PROTOCOL_VERSION, build, job: id, label: jobLabel(job), payload, inputs } });
  }
  return planned;
}

function newBuildId(): string {
  return `b${Date.now().toString(36)}${randomBytes(3).toString('hex')}`;
}

function safeJson(bytes: Uint8Array): unknown {
  try {
    return JSON.parse(new TextDecoder().decode(bytes));
  } catch {
    return undefined;
  }
}
