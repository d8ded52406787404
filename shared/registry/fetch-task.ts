import { writeFile } from 'node:fs/promises';
import { parentPort, workerData } from 'node:worker_threads';
import { docRecordLine } from '../artifact/index-artifact.ts';
import type { BusAddress } from '../bus/address.ts';
import { connectBus } from '../bus/connection.ts';
import { createLogger } from '../log.ts';
import { unpackFolder } from './bundle.ts';
import type { ObjectRef } from './records.ts';
import { Registry } from './registry.ts';

/**
 * What the worker is asked to do: fetch one model object, check it, and write its files
 * into `dir`; with `documents`, also a shard's data object, whose document records it
 * writes to `documents.file` as JSON lines (its queries are not wanted where it is served).
 */
export interface FetchTask {
  nats: BusAddress;
  ref: ObjectRef;
  dir: string;
  documents?: { ref: ObjectRef; file: string };
}

export type FetchTaskResult = { ok: true } | { ok: false; message: string };

/**
 * Runs in a worker thread (see fetch-to-folder.ts): a model download is hundreds of chunk
 * messages, a sha256 over the whole object and a decode, none of which may hold up the
 * thread that answers searches.
 */
async function run(task: FetchTask): Promise<FetchTaskResult> {
  const log = createLogger({ name: 'dsi-model-fetch', level: 'warn' });
  const bus = await connectBus({ ...task.nats, name: 'dsi-model-fetch', log });
  try {
    const registry = await Registry.open(bus);
    await unpackFolder(await registry.download(task.ref), task.dir, `object ${task.ref.object}`);
    if (task.documents) {
      const { docs } = await registry.shardData({ data: task.documents.ref });
      await writeFile(task.documents.file, docs.map(docRecordLine).join(''));
    }
    return { ok: true };
  } finally {
    await bus.close();
  }
}

run(workerData as FetchTask).then(
  (result) => parentPort?.postMessage(result),
  (error: unknown) => parentPort?.postMessage({ ok: false, message: error instanceof Error ? error.message : String(error) } satisfies FetchTaskResult),
);
