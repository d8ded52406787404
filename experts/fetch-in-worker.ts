import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Worker } from 'node:worker_threads';
import { ArtifactError } from '../shared/errors.ts';
import type { ShardVersion } from '../shared/registry/records.ts';
import type { Registry } from '../shared/registry/registry.ts';
import { loadExpert, type LoadedExpert } from './expert-store.ts';
import type { FetchTask, FetchTaskResult } from './fetch-task.ts';

const WORKER_URL = new URL('./fetch-worker.mjs', import.meta.url);

/**
 * fetchShardModel for a process that is serving: the download and its checks run in a
 * worker thread with its own NATS connection, and only the load of the checked files
 * (which yields between files) happens on the serving thread. Same errors as fetchShardModel.
 */
export function fetchInWorker(nats: FetchTask['nats']) {
  return async (_registry: Registry, shard: string, version: ShardVersion): Promise<LoadedExpert> => {
    const dir = await mkdtemp(join(tmpdir(), `dsi-${shard}-v${version.version}-`));
    try {
      const result = await runWorker({ nats, ref: version.model, dir });
      if (!result.ok) throw new ArtifactError(`object ${version.model.object}`, result.message.replace(/^object \S+: /, ''));
      const expert = await loadExpert(dir);
      if (expert.shard !== shard) {
        expert.model.dispose();
        throw new ArtifactError(`object ${version.model.object}`, `holds shard ${expert.shard}, not ${shard}`);
      }
      return expert;
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  };
}

function runWorker(task: FetchTask): Promise<FetchTaskResult> {
  return new Promise((resolve) => {
    const worker = new Worker(WORKER_URL, { workerData: task });
    let settled = false;
    const settle = (result: FetchTaskResult) => {
      if (settled) return;
      settled = true;
      resolve(result);
    };
    worker.once('message', (result: FetchTaskResult) => settle(result));
    worker.once('error', (error) => settle({ ok: false, message: error.message }));
    worker.once('exit', (code) => settle({ ok: false, message: `model fetch worker exited (${code}) without an answer` }));
  });
}
