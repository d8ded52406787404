import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ArtifactError } from '../shared/errors.ts';
import { unpackFolder } from '../shared/registry/bundle.ts';
import type { BusAddress } from '../shared/bus/address.ts';
import { fetchToFolder } from '../shared/registry/fetch-to-folder.ts';
import type { ShardVersion } from '../shared/registry/records.ts';
import type { Registry } from '../shared/registry/registry.ts';
import { loadExpert, type LoadedExpert } from '../shared/model/expert/expert-store.ts';

/** Fetches a shard version from the registry and loads it: what an expert does at start and on every new version. */
export type ShardModelFetch = (registry: Registry, shard: string, version: ShardVersion) => Promise<LoadedExpert>;

/**
 * Downloads one version of a shard's model in this thread, checks it against the sha256
 * the registry gives (Registry.download refuses anything else), and loads it: for start-up,
 * when nothing is being served yet.
 */
export const fetchShardModel: ShardModelFetch = (registry, shard, version) =>
  loadThroughFolder(shard, version, async (dir) => unpackFolder(await registry.download(version.model), dir, `object ${version.model.object}`));

/**
 * The same for a process that is serving: the download and its checks run in a worker
 * thread, and only the load of the checked files (which yields between files) happens on
 * the serving thread.
 */
export function fetchShardModelInWorker(nats: BusAddress): ShardModelFetch {
  return (_registry, shard, version) => loadThroughFolder(shard, version, (dir) => fetchToFolder(nats, version.model, dir));
}

/** The files only pass through a private temporary folder: the model lives in memory. */
async function loadThroughFolder(shard: string, version: ShardVersion, fill: (dir: string) => Promise<unknown>): Promise<LoadedExpert> {
  const dir = await mkdtemp(join(tmpdir(), `dsi-${shard}-v${version.version}-`));
  try {
    await fill(dir);
    const expert = await loadExpert(dir);
    if (expert.shard !== shard) {
      expert.model.dispose();
      throw new ArtifactError(`object ${version.model.object}`, `holds shard ${expert.shard}, not ${shard}`);
    }
    return expert;
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}
