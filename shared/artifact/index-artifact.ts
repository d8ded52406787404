import { createReadStream } from 'node:fs';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { z } from 'zod';
import { ArtifactError } from '../errors.ts';
import { FEATURIZER_VERSION } from '../text/featurizer.ts';
import { sha256File } from './checksum.ts';
import { readJsonFile } from './json-file.ts';
import { ARTIFACT_FORMAT, MANIFEST_FILE, ManifestSchema, type Manifest } from './manifest.ts';

/**
 * An index on disk (written by IndexWriter, read here):
 *   manifest.json          format version, featurizer version, config, corpus checksum, topic → shard map, file checksums
 *   docs.jsonl             {id, docid, title, text} per document (what results display)
 *   gating/                what routes a query: the gating model, and the lexical half's query head (head.json, head.bin)
 *   shards/<id>/           one expert: model.json, weights.bin, trie.json, its lexical half lexicon.json + lexicon.bin, report.json, queries.json
 */
export const INDEX_LAYOUT = { docs: 'docs.jsonl', gating: 'gating', shards: 'shards' } as const;

/** Files of one shard's folder: the expert's model (written by its store), its lexical half and fusion (lexical-store.ts), its quality report and its queries (shard-data.ts). */
export const SHARD_FILES = { model: 'model.json', weights: 'weights.bin', trie: 'trie.json', lexicon: 'lexicon.json', lexiconWeights: 'lexicon.bin', report: 'report.json', queries: 'queries.json' } as const;

/** Files a shard's folder may lack: indexes built before shards kept their queries have no queries.json. */
export const OPTIONAL_SHARD_FILES: ReadonlySet<string> = new Set([SHARD_FILES.queries]);

/** An index folder holds one version of each model: served from the folder, every shard and the gating model are version 1. */
export const LOCAL_INDEX_VERSION = 1;

export function shardDirOf(shard: string): string {
  return `${INDEX_LAYOUT.shards}/${shard}`;
}

export const DocRecordSchema = z.object({ id: z.string(), docid: z.string(), title: z.string(), text: z.string() });
export type DocRecord = z.infer<typeof DocRecordSchema>;

/** A record as a line of docs.jsonl (its fields alone, in their order). */
export function docRecordLine(d: DocRecord): string {
  return `${JSON.stringify({ id: d.id, docid: d.docid, title: d.title, text: d.text })}\n`;
}

/**
 * Reads and validates the manifest; refuses another format version, or models that read
 * text through another featurizer than this build's, with a clear reason.
 */
export async function openIndex(dir: string): Promise<Manifest> {
  const path = join(dir, MANIFEST_FILE);
  const raw = await readJsonFile(path, z.object({ format: z.number() }).passthrough());
  if (raw.format !== ARTIFACT_FORMAT) throw new ArtifactError(path, `format ${raw.format}, this build reads format ${ARTIFACT_FORMAT}: rebuild the index`);
  const manifest = await readJsonFile(path, ManifestSchema);
  if (manifest.featurizer !== FEATURIZER_VERSION) throw new ArtifactError(path, `its models read text with featurizer version ${manifest.featurizer}, this build featurizes with version ${FEATURIZER_VERSION}: rebuild the index`);
  return manifest;
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
  const out: DocRecord[] = [];
  for await (const record of streamDocRecords(join(dir, INDEX_LAYOUT.docs))) out.push(record);
  return out;
}

/**
 * The document records of a JSON-lines file, one at a time: a reader that keeps only some
 * (an expert its shard's) never holds the others. A bad line fails naming file and line.
 */
export async function* streamDocRecords(path: string): AsyncGenerator<DocRecord> {
  const lines = createInterface({ input: createReadStream(path), crlfDelay: Infinity });
  let line = 0;
  try {
    for await (const text of lines) {
      line++;
      const parsed = DocRecordSchema.safeParse(JSON.parse(text));
      if (!parsed.success) throw new ArtifactError(`${path}:${line}`, 'not a document record');
      yield parsed.data;
    }
  } catch (cause) {
    if (cause instanceof ArtifactError) throw cause;
    throw new ArtifactError(`${path}:${line}`, 'unreadable', { cause });
  } finally {
    lines.close();
  }
}
