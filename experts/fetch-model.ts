import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { streamDocRecords, type DocRecord } from '../shared/artifact/index-artifact.ts';
import { ArtifactError } from '../shared/errors.ts';
import { unpackFolder } from '../shared/registry/bundle.ts';
import type { BusAddress } from '../shared/bus/address.ts';
import { fetchToFolder } from '../shared/registry/fetch-to-folder.ts';
import type { ShardVersion } from '../shared/registry/records.ts';
import type { Registry } from '../shared/registry/registry.ts';
import { loadExpert } from '../shared/model/expert/expert-store.ts';
import { ShardDocuments, type ServedExpert } from '../shared/model/expert/shard-documents.ts';

/**
 * Fetches a shard version from the registry and loads it with its documents: what an
 * expert does at start and on every new version. The model and the documents come from
 * the same version's objects, so a swap changes both at once.
 */
export type ShardModelFetch = (registry: Registry, shard: string, version: ShardVersion) => Promise<ServedExpert>;

/** Where the worker thread writes a version's documents, beside its model's files. */
const DOCUMENTS_FILE = 'documents.jsonl';

/**
 * Downloads one version of a shard's model and data in this thread, checks them against
 * the sha256 the registry gives (Registry.download refuses anything else), and loads them:
 * for start-up, when nothing is being served yet.
 */
export const fetchShardModel: ShardModelFetch = (registry, shard, version) =>
  loadThroughFolder(shard, version, async (dir) => {
    await unpackFolder(await registry.download(version.model), dir, `object ${version.model.object}`);
    return (await registry.shardData(version)).docs;
  });

/**
 * The same for a process that is serving: the downloads, their checks and the decoding of
 * the data run in a worker thread, and only the load of the checked files (which yields
 * between files, and between chunks of the documents) happens on the serving thread.
 */
export function fetchShardModelInWorker(nats: BusAddress): ShardModelFetch {
  return (_registry, shard, version) =>
    loadThroughFolder(shard, version, async (dir) => {
      const file = join(dir, DOCUMENTS_FILE);
      await fetchToFolder(nats, version.model, dir, { ref: version.data, file });
      return streamDocRecords(file);
    });
}

/** The files only pass through a private temporary folder: the model and its documents live in memory. */
async function loadThroughFolder(shard: string, version: ShardVersion, fill: (dir: string) => Promise<AsyncIterable<DocRecord> | Iterable<DocRecord>>): Promise<ServedExpert> {
  const dir = await mkdtemp(join(tmpdir(), `dsi-${shard}-v${version.version}-`));
  try {
    const records = await fill(dir);
    const expert = await loadExpert(dir);
    try {
      if (expert.shard !== shard) throw new ArtifactError(`object ${version.model.object}`, `holds shard ${expert.shard}, not ${shard}`);
      return await ShardDocuments.attach(expert, records, `object ${version.data.object}`);
    } catch (error) {
      expert.model.dispose();
      throw error;
    }
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}
