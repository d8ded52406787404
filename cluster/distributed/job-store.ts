import type { Bus } from '../../shared/bus/connection.ts';
import { JobKeys, JobOutcomeSchema, JobQueue, JobRecordSchema, type JobOutcome, type JobRecord, type StoredObject } from '../../shared/bus/protocol.ts';
import { RevisionConflictError, type KeyValueBucket, type KeyValueWatch } from '../../shared/bus/stores.ts';
import type { DeliverySettings, TakenMessage, WorkQueue } from '../../shared/bus/work-queue.ts';
import { CheckedObjects } from '../../shared/registry/checked-objects.ts';
import { ArtifactError } from '../../shared/errors.ts';
import type { z } from 'zod';

/**
 * How long a build's records, outcomes and objects may outlive it: a build removes its own
 * when it ends, this only clears what a killed build left behind. Longer than any build.
 */
const LEFTOVER_TTL_MS = 7 * 24 * 3600 * 1000;

/**
 * Everything distributed training keeps in JetStream, for the build that enqueues jobs, the
 * workers that train them and `dsi status`: the work queue of job tickets, the jobs bucket
 * (one record per job in flight, one outcome per finished job) and the objects (payloads,
 * input and output folders; every name starts with its build's id).
 */
export class JobStore {
  readonly queue: WorkQueue;
  readonly objects: CheckedObjects;
  readonly #kv: KeyValueBucket;

  private constructor(queue: WorkQueue, kv: KeyValueBucket, objects: CheckedObjects) {
    this.queue = queue;
    this.#kv = kv;
    this.objects = objects;
  }

  /** With delivery settings, opens the queue as a worker (creating or updating the shared consumer). */
  static async open(bus: Pick<Bus, 'keyValue' | 'objectStore' | 'workQueue'>, delivery?: DeliverySettings): Promise<JobStore> {
    const queue = await bus.workQueue({ stream: JobQueue.stream, subjects: JobQueue.streamSubjects, consumer: JobQueue.consumer }, delivery);
    const kv = await bus.keyValue(JobQueue.bucket, { history: 1, ttlMs: LEFTOVER_TTL_MS });
    const objects = await bus.objectStore(JobQueue.objects, { ttlMs: LEFTOVER_TTL_MS });
    return new JobStore(queue, kv, new CheckedObjects(objects, 'the jobs object store'));
  }

  take(expiresMs: number): Promise<TakenMessage | null> {
    return this.queue.take(expiresMs);
  }

  async putRecord(record: JobRecord): Promise<void> {
    await this.#kv.put(JobKeys.record(record.build, record.job), json(JobRecordSchema.parse(record)));
  }

  async record(build: string, job: string): Promise<JobRecord | null> {
    const entry = await this.#kv.get(JobKeys.record(build, job));
    return entry ? parse(entry.value, JobRecordSchema, entry.key) : null;
  }

  /** Every job in flight, of every build (records whose value no longer parses are skipped). */
  async records(): Promise<JobRecord[]> {
    const out: JobRecord[] = [];
    for (const key of await this.#kv.keys(JobKeys.records)) {
      const entry = await this.#kv.get(key);
      const parsed = entry ? JobRecordSchema.safeParse(safeJson(entry.value)) : undefined;
      if (parsed?.success) out.push(parsed.data);
    }
    return out;
  }

  async outcome(build: string, job: string): Promise<JobOutcome | null> {
    const entry = await this.#kv.get(JobKeys.outcome(build, job));
    return entry ? parse(entry.value, JobOutcomeSchema, entry.key) : null;
  }

  /** Stores a job's outcome unless one is stored already: true if this one was stored, false if another completion came first. */
  async storeOutcome(build: string, job: string, outcome: JobOutcome): Promise<boolean> {
    try {
      await this.#kv.update(JobKeys.outcome(build, job), json(JobOutcomeSchema.parse(outcome)), 0);
      return true;
    } catch (error) {
      if (error instanceof RevisionConflictError) return false;
      throw error;
    }
  }

  /** Calls `onOutcome` with every outcome of the build already stored, then with each new one. */
  watchOutcomes(build: string, onOutcome: (job: string, outcome: JobOutcome) => void, onInvalid: (job: string, reason: string) => void): Promise<KeyValueWatch> {
    return this.#kv.watch(JobKeys.buildOutcomes(build), (entry) => {
      if (entry.deleted) return;
      const job = JobKeys.jobOf(entry.key);
      try {
        onOutcome(job, parse(entry.value, JobOutcomeSchema, entry.key));
      } catch (error) {
        onInvalid(job, (error as Error).message);
      }
    });
  }

  /** Removes what a build left in JetStream: its tickets still queued, its records and outcomes, its objects. */
  async removeBuild(build: string): Promise<void> {
    await this.queue.purge(JobQueue.buildTickets(build));
    for (const key of [...(await this.#kv.keys(JobKeys.buildRecords(build))), ...(await this.#kv.keys(JobKeys.buildOutcomes(build)))]) await this.#kv.purge(key);
    for (const name of await this.objects.list()) if (name.startsWith(`${build}-`)) await this.objects.delete(name);
  }

  /** Stores a build's object (named `<build>-<kind>-<sha256 prefix>`, so the same bytes are stored once). */
  upload(build: string, kind: string, bytes: Uint8Array): Promise<StoredObject> {
    return this.objects.upload(`${build}-${kind}`, bytes);
  }
}

function json(record: unknown): Uint8Array {
  return new TextEncoder().encode(JSON.stringify(record));
}

function safeJson(bytes: Uint8Array): unknown {
  try {
    return JSON.parse(new TextDecoder().decode(bytes));
  } catch {
    return undefined;
  }
}

function parse<S extends z.ZodTypeAny>(bytes: Uint8Array, schema: S, key: string): z.infer<S> {
  const parsed = schema.safeParse(safeJson(bytes));
  if (!parsed.success) throw new ArtifactError(`jobs key ${key}`, `not a valid value: ${parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ')}`);
  return parsed.data as z.infer<S>;
}
