import { Worker } from 'node:worker_threads';
import type { BusAddress } from '../bus/address.ts';
import { ArtifactError } from '../errors.ts';
import type { FetchTask, FetchTaskResult } from './fetch-task.ts';
import type { ObjectRef } from './records.ts';

const WORKER_URL = new URL('./fetch-worker.mjs', import.meta.url);

/**
 * Downloads a model object, checks it against its sha256 and writes its files into
 * `dir`, all in a worker thread with its own NATS connection: for processes that serve
 * while a new model arrives (experts, the router), whose thread must keep answering.
 * With `documents`, a shard's data object too, its document records written to a file
 * (see FetchTask). A missing or damaged object is an ArtifactError naming it, as with
 * Registry.download.
 */
export async function fetchToFolder(nats: BusAddress, ref: ObjectRef, dir: string, documents?: FetchTask['documents']): Promise<void> {
  const result = await new Promise<FetchTaskResult>((resolve) => {
    const worker = new Worker(WORKER_URL, { workerData: { nats, ref, dir, documents } satisfies FetchTask });
    let settled = false;
    const settle = (r: FetchTaskResult) => {
      if (settled) return;
      settled = true;
      resolve(r);
    };
    worker.once('message', settle);
    worker.once('error', (error) => settle({ ok: false, message: error.message }));
    worker.once('exit', (code) => settle({ ok: false, message: `model fetch worker exited (${code}) without an answer` }));
  });
  if (!result.ok) {
    // Keep the object the worker's error names (the model's or the data's); else it is the model's.
    const named = /^(object \S+): ([\s\S]*)$/.exec(result.message);
    throw new ArtifactError(named?.[1] ?? `object ${ref.object}`, named?.[2] ?? result.message);
  }
}
