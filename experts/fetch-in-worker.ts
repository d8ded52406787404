import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ArtifactError } from '../shared/errors.ts';
import { fetchToFolder, type NatsAddress } from '../shared/registry/fetch-to-folder.ts';
import type { ShardVersion } from '../shared/registry/records.ts';
import type { Registry } from '../shared/registry/registry.ts';
import { loadExpert, type LoadedExpert } from './expert-store.ts';

/**
 * fetchShardModel for a process that is serving: the download and its checks run in a
 * worker thread, and only the load of the checked files (which yields between files)
 * happens on the serving thread. Same errors as fetchShardModel.
 */
export function fetchInWorker(nats: NatsAddress) {
  return async (_registry: Registry, shard: string, version: ShardVersion): Promise<LoadedExpert> => {
    const dir = await mkdtemp(join(tmpdir(), `dsi-${shard}-v${version.version}-`));
    try {
      await fetchToFolder(nats, version.model, dir);
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
