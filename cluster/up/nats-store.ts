import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Logger } from '../../shared/log.ts';
import { processExists } from './process-exists.ts';

/**
 * The temporary folders of the nats-servers `dsi up` starts (JetStream data, the server's
 * auth config, the bus token). A folder names its owners, the `dsi up` process and its
 * nats-server, in owners.json; a `dsi up` that was killed cannot remove its folder, so the
 * next one to start removes every folder whose owners are all gone. A folder without
 * owners.json is not ours to judge and is left alone.
 */
const PREFIX = 'dsi-up-nats-';
const OWNERS_FILE = 'owners.json';

export interface StoreOwners {
  readonly supervisor: number;
  readonly server: number;
}

export function newStoreDir(): Promise<string> {
  return mkdtemp(join(tmpdir(), PREFIX));
}

export async function recordOwners(dir: string, owners: StoreOwners): Promise<void> {
  await writeFile(join(dir, OWNERS_FILE), `${JSON.stringify(owners)}\n`);
}

/** Removes the folders left by `dsi up`s that died with their nats-server; returns the ones removed. */
export async function removeStaleStores(log: Logger, isRunning: (pid: number) => boolean = processExists): Promise<string[]> {
  const removed: string[] = [];
  for (const name of await readdir(tmpdir()).catch(() => [] as string[])) {
    if (!name.startsWith(PREFIX)) continue;
    const dir = join(tmpdir(), name);
    const owners = await readOwners(dir);
    if (!owners || isRunning(owners.supervisor) || isRunning(owners.server)) continue;
    await rm(dir, { recursive: true, force: true });
    removed.push(dir);
  }
  if (removed.length > 0) log.info({ removed }, 'removed the NATS folders of dsi up processes that died');
  return removed;
}

async function readOwners(dir: string): Promise<StoreOwners | undefined> {
  try {
    const owners = JSON.parse(await readFile(join(dir, OWNERS_FILE), 'utf8')) as Partial<StoreOwners>;
    return Number.isInteger(owners.supervisor) && Number.isInteger(owners.server) ? (owners as StoreOwners) : undefined;
  } catch {
    return undefined;
  }
}
