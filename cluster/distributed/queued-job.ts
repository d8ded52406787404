import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { BusAddress } from '../../shared/bus/address.ts';
import { connectBus } from '../../shared/bus/connection.ts';
import { JobTicketSchema, type StoredObject } from '../../shared/bus/protocol.ts';
import type { Logger } from '../../shared/log.ts';
import type { Progress } from '../../shared/progress.ts';
import { packTree, unpackTree } from '../../shared/registry/bundle.ts';
import { runJob, type JobResult } from '../indexing/jobs.ts';
import { decodeJob, relocateJob } from './job-payload.ts';
import { JobStore } from './job-store.ts';

/** What a worker's child answers: the output stored (not yet the outcome: the worker stores that), or that the job was finished elsewhere meanwhile. */
export type QueuedJobReply = { output: StoredObject; result: JobResult } | { duplicate: true };

/**
 * The child side of a worker's job (a `dsi build-job` process): fetches the job and its
 * input folders from the jobs' object store (each checked against its sha256), trains it
 * with its folders pointed at local copies, and stores its output folder as an object
 * named by the job and its content. The download, the job and its upload all live in
 * this process, so the worker's own memory stays small however large a job is.
 */
export async function trainQueuedJob(ticketData: unknown, nats: BusAddress, log: Logger, progress: Progress): Promise<QueuedJobReply> {
  const ticket = JobTicketSchema.parse(ticketData);
  const bus = await connectBus({ ...nats, name: `dsi-build-job-${ticket.job}`, log });
  const work = await mkdtemp(join(tmpdir(), 'dsi-job-'));
  try {
    const store = await JobStore.open(bus);
    const job = decodeJob(await store.objects.download(ticket.payload), `payload of ${ticket.label}`);
    const inputs: Record<string, string> = {};
    for (const [field, ref] of Object.entries(ticket.inputs)) {
      inputs[field] = join(work, 'in', field);
      await unpackTree(await store.objects.download(ref), inputs[field], `input ${field} of ${ticket.label}`);
    }
    const outDir = join(work, 'out');
    const result = await runJob(relocateJob(job, inputs, outDir), progress);
    if (await store.outcome(ticket.build, ticket.job)) return { duplicate: true };
    const output = await store.upload(ticket.build, `out-${ticket.job}`, await packTree(outDir));
    return { output, result };
  } finally {
    await rm(work, { recursive: true, force: true });
    await bus.close();
  }
}
