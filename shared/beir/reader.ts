/**
 * Streaming reader for a BEIR-layout collection directory:
 *
 *   corpus.jsonl[.gz]    {"_id", "title", "text"} per line
 *   queries.jsonl[.gz]   {"_id", "text", ...} per line
 *   qrels/<split>.tsv    header `query-id\tcorpus-id\tscore`, then one pair a line
 *
 * Files are read line by line so a large corpus never exists twice in memory (raw
 * lines are dropped as soon as they are parsed). Every defect is reported as a
 * CollectionFormatError naming the file and the 1-based line, because a user fixing
 * a collection by hand needs exactly that and nothing else.
 */
import { createReadStream } from 'node:fs';
import { readdir, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import type { Readable } from 'node:stream';
import { pipeline } from 'node:stream';
import { createGunzip } from 'node:zlib';
import { CollectionFormatError } from '../errors.ts';

export interface BeirDoc {
  id: string;
  title: string;
  text: string;
}

export interface BeirQuery {
  id: string;
  text: string;
}

export interface Qrel {
  queryId: string;
  docId: string;
  score: number;
}

export interface Collection {
  docs: BeirDoc[];
  docIndex: Map<string, number>;
  queries: Map<string, string>;
}

const QRELS_DIR = 'qrels';
const QRELS_HEADER_FIRST_FIELD = 'query-id';

/** Yields documents in file order; throws on the first malformed line or duplicate id. */
export async function* readCorpus(dir: string): AsyncGenerator<BeirDoc> {
  const file = await resolveFile(dir, 'corpus.jsonl');
  const seen = new Set<string>();
  for await (const { text, line } of readLines(file)) {
    const obj = parseObject(file, line, text);
    const id = requireId(file, line, obj, seen);
    const title = obj.title === undefined ? '' : obj.title;
    if (typeof title !== 'string') throw new CollectionFormatError(file, line, '"title" must be a string');
    yield { id, title, text: requireText(file, line, obj) };
  }
}

/** Yields queries in file order; extra fields (e.g. metadata) are ignored. */
export async function* readQueries(dir: string): AsyncGenerator<BeirQuery> {
  const file = await resolveFile(dir, 'queries.jsonl');
  const seen = new Set<string>();
  for await (const { text, line } of readLines(file)) {
    const obj = parseObject(file, line, text);
    const id = requireId(file, line, obj, seen);
    yield { id, text: requireText(file, line, obj) };
  }
}

/** Relevant pairs of a split; pairs with score <= 0 are judged non-relevant and dropped. */
export async function readQrels(dir: string, split: string): Promise<Qrel[]> {
  const qrels: Qrel[] = [];
  for await (const { qrel } of streamQrels(dir, split)) qrels.push(qrel);
  return qrels;
}

export async function loadCorpus(dir: string): Promise<{ docs: BeirDoc[]; docIndex: Map<string, number> }> {
  const docs: BeirDoc[] = [];
  const docIndex = new Map<string, number>();
  for await (const doc of readCorpus(dir)) {
    docIndex.set(doc.id, docs.length);
    docs.push(doc);
  }
  return { docs, docIndex };
}

export async function loadQueries(dir: string): Promise<Map<string, string>> {
  const queries = new Map<string, string>();
  for await (const q of readQueries(dir)) queries.set(q.id, q.text);
  return queries;
}

/** Qrels of a split grouped by query, validated against the given queries and docs. */
export async function loadSplit(
  dir: string,
  split: string,
  queries: Map<string, string>,
  docIndex: Map<string, number>,
): Promise<Map<string, Set<string>>> {
  const byQuery = new Map<string, Set<string>>();
  for await (const { qrel, file, line } of streamQrels(dir, split)) {
    if (!queries.has(qrel.queryId)) {
      throw new CollectionFormatError(file, line, `unknown query "${qrel.queryId}" (not in queries.jsonl)`);
    }
    if (!docIndex.has(qrel.docId)) {
      throw new CollectionFormatError(file, line, `unknown document "${qrel.docId}" (not in corpus.jsonl)`);
    }
    let docs = byQuery.get(qrel.queryId);
    if (docs === undefined) byQuery.set(qrel.queryId, (docs = new Set()));
    docs.add(qrel.docId);
  }
  return byQuery;
}

/** Split names (file names under qrels/ without .tsv or .tsv.gz), sorted. */
export async function listSplits(dir: string): Promise<string[]> {
  const qrelsDir = join(dir, QRELS_DIR);
  let names: string[];
  try {
    names = await readdir(qrelsDir);
  } catch (err) {
    throw new CollectionFormatError(qrelsDir, undefined, 'not found (expected a qrels/ directory of <split>.tsv files)', {
      cause: err,
    });
  }
  const splits = new Set<string>();
  for (const name of names) {
    const m = /^(.+)\.tsv(\.gz)?$/.exec(name);
    if (m) splits.add(m[1]);
  }
  return [...splits].sort();
}

async function* streamQrels(dir: string, split: string): AsyncGenerator<{ qrel: Qrel; file: string; line: number }> {
  const file = await resolveFile(join(dir, QRELS_DIR), `${split}.tsv`);
  for await (const { text, line } of readLines(file)) {
    const fields = text.split('\t');
    // The header is optional in the wild; recognise it rather than trusting line 1.
    if (line === 1 && fields[0] === QRELS_HEADER_FIRST_FIELD) continue;
    if (fields.length !== 3) {
      throw new CollectionFormatError(file, line, `expected 3 tab-separated fields (query-id, corpus-id, score), got ${fields.length}`);
    }
    const [queryId, docId, rawScore] = fields;
    if (queryId === '' || docId === '') throw new CollectionFormatError(file, line, 'empty query-id or corpus-id');
    const score = rawScore.trim() === '' ? NaN : Number(rawScore);
    if (!Number.isFinite(score)) throw new CollectionFormatError(file, line, `score "${rawScore}" is not a number`);
    if (score > 0) yield { qrel: { queryId, docId, score }, file, line };
  }
}

/** The plain file if present, else its .gz sibling; neither is a format error naming what was expected. */
async function resolveFile(dir: string, name: string): Promise<string> {
  for (const candidate of [name, `${name}.gz`]) {
    const path = join(dir, candidate);
    try {
      if ((await stat(path)).isFile()) return path;
    } catch {
      // Absent: try the next spelling.
    }
  }
  throw new CollectionFormatError(join(dir, name), undefined, `not found (expected ${name} or ${name}.gz)`);
}

/** Non-blank lines with their 1-based numbers; read and gunzip failures become format errors. */
async function* readLines(file: string): AsyncGenerator<{ text: string; line: number }> {
  const raw = createReadStream(file);
  let input: Readable = raw;
  if (file.endsWith('.gz')) {
    // pipeline forwards a read error into the gunzip stream, where readline sees it.
    input = pipeline(raw, createGunzip(), () => {});
  }
  const rl = createInterface({ input, crlfDelay: Infinity });
  let line = 0;
  try {
    for await (let text of rl) {
      line++;
      if (line === 1 && text.charCodeAt(0) === 0xfeff) text = text.slice(1);
      if (text.trim() === '') continue;
      yield { text, line };
    }
  } catch (err) {
    const code = (err as { code?: unknown }).code;
    const reason =
      typeof code === 'string' && code.startsWith('Z_')
        ? `damaged gzip data after line ${line} (${(err as Error).message})`
        : `read failed after line ${line} (${(err as Error).message})`;
    throw new CollectionFormatError(file, line + 1, reason, { cause: err });
  } finally {
    // Stopping early (a consumer's break or a thrown format error) must still release the file.
    rl.close();
    input.destroy();
    raw.destroy();
  }
}

function parseObject(file: string, line: number, text: string): Record<string, unknown> {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (err) {
    throw new CollectionFormatError(file, line, `invalid JSON (${(err as Error).message})`, { cause: err });
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new CollectionFormatError(file, line, 'expected a JSON object');
  }
  return value as Record<string, unknown>;
}

function requireId(file: string, line: number, obj: Record<string, unknown>, seen: Set<string>): string {
  const id = obj._id;
  if (id === undefined) throw new CollectionFormatError(file, line, 'missing "_id"');
  if (typeof id !== 'string' || id === '') throw new CollectionFormatError(file, line, '"_id" must be a non-empty string');
  if (seen.has(id)) throw new CollectionFormatError(file, line, `duplicate "_id" "${id}"`);
  seen.add(id);
  return id;
}

function requireText(file: string, line: number, obj: Record<string, unknown>): string {
  if (typeof obj.text !== 'string') throw new CollectionFormatError(file, line, '"text" must be a string');
  return obj.text;
}
