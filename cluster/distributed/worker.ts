import type { ChildProcess } from 'node:child_process';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Bus } from '../../shared/bus/connection.ts';
import { encode } from '../../shared/bus/codec.ts';
import { decodeMessage } from '../../shared/bus/decode-message.ts';
import { HEARTBEAT_INTERVAL_MS, JobQueue, JobTicketSchema, PROTOCOL_VERSION, type JobRecord, type JobTicket, type WorkerHeartbeat } from '../../shared/bus/protocol.ts';
import type { DeliverySettings, TakenMessage } from '../../shared/bus/work-queue.ts';
import type { Logger } from '../../shared/log.ts';
import { JobFailedError } from '../../shared/errors.ts';
import { trainInChild } from '../indexing/local-job-runner.ts';
import { JobStore } from './job-store.ts';
import type { QueuedJobReply } from './queued-job.ts';

export interface WorkerOptions {
  bus: Bus;
  /** This worker's id (host, pid and a random part: one subject token). */
  id: string;
  host: string;
  /** Jobs trained at once, each in its own child process. */
  slots: number;
  delivery: DeliverySettings;
  log: Logger;
  /** Environment of the training processes: backend, log level, and the bus address they fetch and store through. */
  childEnv: NodeJS.ProcessEnv;
}

/** How long one pull for a job waits before asking again (and noticing a stop). */
const TAKE_WAIT_MS = 2_000;
/** A failed job goes back to the queue after this pause, so a job that fails at once does not spin. */
const RETRY_DELAY_MS = 1_000;
/** In-progress acks per ack wait: a job is reported alive well before its ack wait runs out. */
const PROGRESS_PER_ACK_WAIT = 3;

interface Running {
  ticket: JobTicket;
  attempt: number;
  startedAt: string;
}

/**
 * `dsi worker`: takes training jobs from the job queue, at most `slots` at a time, and
 * trains each in a child process (`dsi build-job`), which fetches the job, trains it and
 * stores its output; a crash of the model code ends the child, never the worker. While a
 * job trains the worker tells JetStream it is still at it, so a long job is not handed to
 * another worker; one it stops telling (killed, hung) is delivered again after the ack
 * wait. The first completion of a job is its outcome; a later one is dropped. A job that
 * fails is handed back, and its outcome is a failure on its last allowed delivery.
 */
export class JobWorker {
  readonly #o: WorkerOptions;
  readonly #running = new Map<string, Running>();
  readonly #children = new Set<ChildProcess>();
  readonly #startedAt = new Date().toISOString();
  #stopping = false;

  constructor(options: WorkerOptions) {
    this.#o = options;
  }

  /** Takes and trains jobs until `stop` resolves; then takes no more, hands back the jobs it trains (they go to another worker at once) and resolves. */
  async run(stop: Promise<unknown>): Promise<void> {
    const { log, slots } = this.#o;
    const store = await JobStore.open(this.#o.bus, this.#o.delivery);
    const beat = setInterval(() => this.#heartbeat(), HEARTBEAT_INTERVAL_MS);
    this.#heartbeat();
    const stopped = stop.then(() => {
      this.#stopping = true;
      this.#heartbeat();
      // The children stop; each job's handler then hands its job back.
      for (const child of this.#children) child.kill('SIGTERM');
    });
    const jobs = new Set<Promise<void>>();
    log.info({ worker: this.#o.id, slots, ack_wait_ms: this.#o.delivery.ackWaitMs, max_deliver: this.#o.delivery.maxDeliver }, 'worker ready: taking training jobs');
    try {
      while (!this.#stopping) {
        if (jobs.size >= slots) {
          await Promise.race([...jobs, stopped]);
          continue;
        }
        const message = await store.take(TAKE_WAIT_MS).catch(async (error: unknown) => {
          log.warn({ err: (error as Error).message }, 'could not take a job; trying again');
          await sleep(RETRY_DELAY_MS);
          return null;
        });
        if (!message) continue;
        if (this.#stopping) {
          message.nak();
          break;
        }
        const job = this.#handle(store, message).catch((error: unknown) => log.error({ err: error }, 'job handling failed'));
        jobs.add(job);
        void job.finally(() => jobs.delete(job));
      }
      await Promise.all(jobs);
    } finally {
      clearInterval(beat);
      this.#stopping = true;
      this.#heartbeat();
    }
  }

  async #handle(store: JobStore, message: TakenMessage): Promise<void> {
    const { log, id: worker } = this.#o;
    let ticket: JobTicket;
    try {
      ticket = decodeMessage(JobTicketSchema, message.data, 'job ticket');
    } catch (error) {
      log.error({ subject: message.subject, err: (error as Error).message }, 'not a job ticket: dropped');
      message.term();
      return;
    }
    const attempt = message.deliveries;
    const jlog = log.child({ build: ticket.build, job: ticket.label, job_id: ticket.job, attempt });
    const record = await store.record(ticket.build, ticket.job);
    if (!record) {
      jlog.warn('its build is over: dropped');
      message.term();
      return;
    }
    if (await store.outcome(ticket.build, ticket.job)) {
      jlog.info('already finished on another worker: dropped');
      await message.ack();
      return;
    }
    const startedAt = new Date().toISOString();
    await store.putRecord({ ...record, state: 'running', attempts: attempt, worker, updated_at: startedAt });
    this.#running.set(ticket.job, { ticket, attempt, startedAt });
    this.#heartbeat();
    const progress = setInterval(() => message.working(), Math.max(100, this.#o.delivery.ackWaitMs / PROGRESS_PER_ACK_WAIT));
    jlog.info('training');
    try {
      const reply = await trainInChild<QueuedJobReply>({ ticket }, ticket.label, { env: this.#o.childEnv, log: jlog, running: this.#children });
      clearInterval(progress);
      if ('duplicate' in reply) {
        jlog.info('finished on another worker meanwhile: this completion is dropped');
      } else if (!(await store.record(ticket.build, ticket.job))) {
        // The build has ended (it removes its records when it does): nobody will read this.
        await store.objects.delete(reply.output.object);
        jlog.warn('its build is over: this completion is dropped');
      } else if (await store.storeOutcome(ticket.build, ticket.job, { ok: true, worker, attempts: attempt, output: reply.output, result: reply.result, finished_at: new Date().toISOString() })) {
        jlog.info({ output: reply.output.object }, 'trained; output stored');
      } else {
        // Another worker finished it first (this one was taken for dead): theirs is the outcome.
        const first = await store.outcome(ticket.build, ticket.job);
        if (first?.ok && first.output.object !== reply.output.object) await store.objects.delete(reply.output.object);
        jlog.warn({ first_worker: first?.worker }, 'finished after another worker: this completion is dropped');
      }
      await message.ack();
    } catch (error) {
      clearInterval(progress);
      await this.#failed(store, message, ticket, record, attempt, error instanceof JobFailedError ? error.reason : (error as Error).message, jlog);
    } finally {
      this.#running.delete(ticket.job);
      this.#heartbeat();
    }
  }

  /** Hands a job that did not finish back to the queue, or, on its last allowed delivery, stores its failure. */
  async #failed(store: JobStore, message: TakenMessage, ticket: JobTicket, record: JobRecord, attempt: number, error: string, log: Logger): Promise<void> {
    const { maxDeliver } = this.#o.delivery;
    if (this.#stopping) {
      message.nak();
      log.info('worker stopping: job handed back to the queue');
      return;
    }
    const now = new Date().toISOString();
    if (maxDeliver > 0 && attempt >= maxDeliver) {
      await store.storeOutcome(ticket.build, ticket.job, { ok: false, worker: this.#o.id, attempts: attempt, error, finished_at: now });
      message.term();
      log.error({ err: error }, 'training failed on its last allowed delivery: the job has failed');
      return;
    }
    await store.putRecord({ ...record, state: 'queued', attempts: attempt, worker: null, updated_at: now, last_error: error });
    message.nak(RETRY_DELAY_MS);
    log.warn({ err: error }, 'training failed: job handed back to the queue');
  }

  #heartbeat(): void {
    const heartbeat: WorkerHeartbeat = {
      v: PROTOCOL_VERSION,
      worker: this.#o.id,
      host: this.#o.host,
      pid: process.pid,
      slots: this.#o.slots,
      running: [...this.#running.values()].map((r) => ({ build: r.ticket.build, job: r.ticket.job, label: r.ticket.label, attempt: r.attempt, started_at: r.startedAt })),
      started_at: this.#startedAt,
      draining: this.#stopping,
    };
    try {
      this.#o.bus.publish(JobQueue.workerHeartbeat(this.#o.id), encode(heartbeat));
    } catch (error) {
      this.#o.log.debug({ err: (error as Error).message }, 'heartbeat not sent');
    }
  }
}
