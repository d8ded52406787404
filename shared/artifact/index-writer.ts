import { createWriteStream } from 'node:fs';
import { once } from 'node:events';
import { cp, mkdir, readdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { dirname, join, relative, resolve } from 'node:path';
import { z } from 'zod';
import { BadInputError } from '../errors.ts';
import { FEATURIZER_VERSION } from '../text/featurizer.ts';
import { sha256File, StreamDigest } from './checksum.ts';
import { docRecordLine, INDEX_LAYOUT, SHARD_FILES, shardDirOf, type DocRecord } from './index-artifact.ts';
import { ARTIFACT_FORMAT, MANIFEST_FILE, type Manifest } from './manifest.ts';
import type { ShardQueries } from './shard-data.ts';

/** What the caller says of a sealed index; the format, featurizer version and file checksums are the writer's. */
export type ManifestFields = Omit<Manifest, 'format' | 'featurizer' | 'files'>;

/**
 * The one way an index, or the part of one that a growth step produced, is written:
 * staged in a folder beside its destination, filled (models by their training jobs, the
 * shards' reports and queries, the document records), then sealed: every file's checksum
 * into the manifest, and the staged folder swapped into place with renames, so a reader
 * sees the old index or the new one, never half of one, and a failure leaves no trace.
 *
 * It replaces only an index: a destination that exists, is not empty and holds no index
 * manifest (someone's files, a home folder, a mistyped path) is refused before anything
 * is written.
 */
export class IndexWriter {
  /** The folder being filled; becomes `outDir` when sealed. */
  readonly dir: string;
  readonly outDir: string;
  /** Folders inside the stage that are scratch space, not part of the index: removed when sealing. */
  readonly #scratch = new Set<string>();

  private constructor(outDir: string, dir: string) {
    this.outDir = outDir;
    this.dir = dir;
  }

  static async stage(outDir: string): Promise<IndexWriter> {
    await refuseUnlessReplaceable(outDir);
    const dir = `${resolve(outDir)}.partial-${process.pid}`;
    await rm(dir, { recursive: true, force: true });
    await mkdir(dir, { recursive: true });
    return new IndexWriter(outDir, dir);
  }

  get gatingDir(): string {
    return join(this.dir, INDEX_LAYOUT.gating);
  }

  /** Where a shard's expert is written (by its training job, or copied in). */
  shardDir(id: string): string {
    return join(this.dir, shardDirOf(id));
  }

  /** A folder for intermediate files of the build (e.g. the pre-trained tower the training processes start from), removed when sealing. */
  async scratchDir(name: string): Promise<string> {
    const path = join(this.dir, name);
    await mkdir(path, { recursive: true });
    this.#scratch.add(path);
    return path;
  }

  /** The rest of a shard beside its expert's model files: its quality report and its queries. */
  async writeShard(id: string, files: { report: object; queries: ShardQueries }): Promise<void> {
    const dir = this.shardDir(id);
    await mkdir(dir, { recursive: true });
    await writeFile(join(dir, SHARD_FILES.report), JSON.stringify(files.report, null, 2));
    await writeFile(join(dir, SHARD_FILES.queries), JSON.stringify(files.queries));
  }

  /** A shard taken over unchanged from another index or a growth step's output. */
  async copyShard(id: string, from: string): Promise<void> {
    await cp(from, this.shardDir(id), { recursive: true });
  }

  async copyGating(from: string): Promise<void> {
    await cp(from, this.gatingDir, { recursive: true });
  }

  /** docs.jsonl: one record a line, streamed (the Debian collection's is ~60 MB). */
  async writeDocuments(records: Iterable<DocRecord>): Promise<void> {
    const out = createWriteStream(join(this.dir, INDEX_LAYOUT.docs));
    for (const d of records) if (!out.write(docRecordLine(d))) await once(out, 'drain');
    out.end();
    await once(out, 'finish');
  }

  /** Checksums every file, writes the manifest and swaps the stage into place of `outDir`. */
  async seal(fields: ManifestFields): Promise<Manifest> {
    for (const path of this.#scratch) await rm(path, { recursive: true, force: true });
    const files: Record<string, string> = {};
    for (const path of await listFiles(this.dir)) if (relative(this.dir, path) !== MANIFEST_FILE) files[relative(this.dir, path)] = await sha256File(path);
    const manifest: Manifest = { format: ARTIFACT_FORMAT, featurizer: FEATURIZER_VERSION, ...fields, files };
    await writeFile(join(this.dir, MANIFEST_FILE), JSON.stringify(manifest, null, 2));
    await swapInto(this.dir, this.outDir);
    return manifest;
  }

  /** Removes the stage: nothing of a failed write remains, and `outDir` is as it was. */
  async discard(): Promise<void> {
    await rm(this.dir, { recursive: true, force: true });
  }
}

/** Checksum of a collection's documents, in order: what a manifest records of the corpus it was built from. */
export function corpusDigest(docs: Iterable<Pick<DocRecord, 'id' | 'title' | 'text'>>): string {
  const digest = new StreamDigest();
  for (const d of docs) digest.add(d.id, d.title, d.text);
  return digest.hex();
}

/** Enough of a manifest to know an index when we see one, of any format version (an old index may be rebuilt). */
const IndexManifestShape = z.object({ format: z.number(), files: z.record(z.string(), z.string()) });

/** A destination an index may replace: nothing yet, an empty folder, or an index. */
async function refuseUnlessReplaceable(outDir: string): Promise<void> {
  let entries: string[];
  try {
    entries = await readdir(outDir);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') return;
    if (code === 'ENOTDIR') throw new BadInputError(`${outDir} is a file, not a folder: refusing to replace it with an index`);
    throw error;
  }
  if (entries.length === 0 || (entries.includes(MANIFEST_FILE) && (await holdsIndexManifest(outDir)))) return;
  throw new BadInputError(`${outDir} is not empty and holds no index (no index ${MANIFEST_FILE}): refusing to replace it; give a new or empty folder, or an index to rebuild`);
}

async function holdsIndexManifest(dir: string): Promise<boolean> {
  try {
    return IndexManifestShape.safeParse(JSON.parse(await readFile(join(dir, MANIFEST_FILE), 'utf8'))).success;
  } catch {
    return false;
  }
}

/** Swaps a staged folder into place of `outDir` (which may not exist) with renames, so readers see the old folder or the new one. */
async function swapInto(staging: string, outDir: string): Promise<void> {
  const target = resolve(outDir);
  await mkdir(dirname(target), { recursive: true });
  const old = `${target}.old-${process.pid}`;
  await rename(target, old).catch((e: NodeJS.ErrnoException) => {
    if (e.code !== 'ENOENT') throw e;
  });
  await rename(staging, target);
  await rm(old, { recursive: true, force: true });
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
