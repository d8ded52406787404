import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ArtifactError } from '../shared/errors.ts';
import { unpackFolder } from '../shared/registry/bundle.ts';
import type { ShardVersion } from '../shared/registry/records.ts';
import type { Registry } from '../shared/registry/registry.ts';
import { loadExpert, type LoadedExpert } from './expert-store.ts';

/**
 * Downloads one version of a shard's model from the registry's object store, checks it
 * against the sha256 the registry gives (Registry.download refuses anything else), and
 * loads it. The files only pass through a private temporary folder: the model lives in memory.
 */
export async function fetchShardModel(registry: Registry, shard: string, version: ShardVersion): Promise<LoadedExpert> {
  const bytes = await registry.download(version.model);
  const dir = await mkdtemp(join(tmpdir(), `dsi-${shard}-v${version.version}-`));
  try {
    await unpackFolder(bytes, dir, `object ${version.model.object}`);
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
