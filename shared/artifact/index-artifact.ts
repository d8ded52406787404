import { createReadStream } from 'node:fs';
import { mkdir, readdir, rename, rm, writeFile } from 'node:fs/promises';
import { dirname, join, relative, resolve } from 'node:path';
import { createInterface } from 'node:readline';
import { z } from 'zod';
import { ArtifactError } from '../errors.ts';
import { sha256File } from './checksum.ts';
import { readJsonFile } from './json-file.ts';
import { ARTIFACT_FORMAT, MANIFEST_FILE, ManifestSchema, type Manifest } from './manifest.ts';

/**
 * An index on disk:
 *   manifest.json          format version, config, corpus checksum, topic → shard map, file checksums
 *   docs.jsonl             {id, docid, title, text} per document (what results display)
 *   gating/                the gating model
 *   shards/<id>/           one expert: model.json, weights.bin, trie.json, report.json, queries.json
 */
export const INDEX_LAYOUT = { docs: 'docs.jsonl', gating: 'gating', shards: 'shards' } as const;

/** An index folder holds one version of each model: served from the folder, every shard and the gating model are version 1. */
export const LOCAL_INDEX_VERSION = 1;

export function shardDirOf(shard: string): string {
  return `${INDEX_LAYOUT.shards}/${shard}`;
}

export const DocRecordSchema = z.object({ id: z.string(), docid: z.string(), title: z.string(), text: z.string() });
export type DocRecord = z.infer<typeof DocRecordSchema>;

/** A folder beside the target where an index is assembled before it replaces the target in one rename. */
export async function stagingDirFor(outDir: string): Promise<string> {
  const staging = `${resolve(outDir)}.partial-${process.pid}`;
  await rm(staging, { recursive: true, force: true });
  await mkdir(staging, { recursive: true });
  return staging;
}

/**
 * Seals a staged index: checksums every file, writes the manifest, then swaps the staged
 * folder into place, so a crash or a failure leaves either the old index or none, never half.
 */
export async function commitIndex(staging: string, outDir: string, manifest: Omit<Manifest, 'files' | 'format'>): Promise<Manifest> {
  const files: Record<string, string> = {};
  for (const path of await listFiles(staging)) files[relative(staging, path)] = await sha256File(path);
  const sealed: Manifest = { format: ARTIFACT_FORMAT, ...manifest, files };
  await writeFile(join(staging, MANIFEST_FILE), JSON.stringify(sealed, null, 2));
  await replaceDir(staging, outDir);
  return sealed;
}

/** Swaps a staged folder into place of `outDir` (which may not exist) with renames, so readers see the old folder or the new one. */
export async function replaceDir(staging: string, outDir: string): Promise<void> {
  const target = resolve(outDir);
  await mkdir(dirname(target), { recursive: true });
  const old = `${target}.old-${process.pid}`;
  await rename(target, old).catch((e: NodeJS.ErrnoException) => {
    if (e.code !== 'ENOENT') throw e;
  });
  await rename(staging, target);
  await rm(old, { recursive: true, force: true });
}

/** Reads and validates the manifest; refuses another format version with a clear reason. */
export async function openIndex(dir: string): Promise<Manifest> {
  const path = join(dir, MANIFEST_FILE);
  const raw = await readJsonFile(path, z.object({ format: z.number() }).passthrough());
  if (raw.format !== ARTIFACT_FORMAT) throw new ArtifactError(path, `format ${raw.format}, this build reads format ${ARTIFACT_FORMAT}: rebuild the index`);
  return readJsonFile(path, ManifestSchema);
}

/** Checks the checksums of the files under the given folders of the index (all files when none given). */
export async function verifyIndex(dir: string, manifest: Manifest, folders?: readonly string[]): Promise<void> {
  const wanted = Object.entries(manifest.files).filter(([path]) => !folders || folders.some((f) => path === f || path.startsWith(`${f}/`)));
  if (folders && wanted.length === 0) throw new ArtifactError(join(dir, MANIFEST_FILE), `lists no files under ${folders.join(', ')}`);
  for (const [path, expected] of wanted) {
    const full = join(dir, path);
    let actual: string;
    try {
      actual = await sha256File(full);
    } catch (cause) {
      throw new ArtifactError(full, 'missing', { cause });
    }
    if (actual !== expected) throw new ArtifactError(full, 'checksum mismatch: the file is damaged or was changed after the index was built');
  }
}

export async function readDocRecords(dir: string): Promise<DocRecord[]> {
  const path = join(dir, INDEX_LAYOUT.docs);
  const out: DocRecord[] = [];
  const lines = createInterface({ input: createReadStream(path), crlfDelay: Infinity });
  let line = 0;
  try {
    for await (const text of lines) {
      line++;
      const parsed = DocRecordSchema.safeParse(JSON.parse(text));
      if (!parsed.success) throw new ArtifactError(`${path}:${line}`, 'not a document record');
      out.push(parsed.data);
    }
  } catch (cause) {
    if (cause instanceof ArtifactError) throw cause;
    throw new ArtifactError(`${path}:${line}`, 'unreadable', { cause });
  }
  return out;
}

async function listFiles(dir: string): Promise<string[]> {
  const out: string[] = [];
  for (const entry of await readdir(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) out.push(...(await listFiles(path)));
    else out.push(path);
  }
  return out.sort();
}
