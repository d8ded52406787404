import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { CollectionFormatError } from '../errors.ts';
import {
  listSplits,
  loadCorpus,
  loadQueries,
  loadSplit,
  readCorpus,
  readQrels,
  readQueries,
  type BeirDoc,
  type BeirQuery,
} from './reader.ts';

const CORPUS = [
  '{"_id": "d1", "title": "0ad", "text": "A real-time strategy game."}',
  '',
  '{"_id": "d2", "text": "No title here."}',
  '{"_id": "d3", "title": "0ad-data", "text": "Data files, with unicode: é"}',
].join('\n');
const QUERIES = [
  '{"_id": "q1", "text": "strategy game", "metadata": {"package": "0ad"}}',
  '{"_id": "q2", "text": "untitled"}',
  '{"_id": "q3", "text": "game data"}',
].join('\n');
const HEADER = 'query-id\tcorpus-id\tscore';
const TEST_QRELS = [HEADER, 'q1\td1\t1', 'q2\td2\t0', 'q3\td3\t2', 'q3\td1\t1'].join('\n') + '\n';

let dir: string;

beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'beir-reader-'));
  await mkdir(join(dir, 'qrels'));
});

afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

async function put(name: string, content: string, gzip = false): Promise<void> {
  await writeFile(join(dir, gzip ? `${name}.gz` : name), gzip ? gzipSync(content) : content);
}

async function collect<T>(gen: AsyncGenerator<T>): Promise<T[]> {
  const out: T[] = [];
  for await (const item of gen) out.push(item);
  return out;
}

/** Runs fn, requires a CollectionFormatError, and checks the message names the file and line. */
async function expectFormatError(fn: () => Promise<unknown>, file: string, line?: number): Promise<CollectionFormatError> {
  let caught: unknown;
  try {
    await fn();
  } catch (err) {
    caught = err;
  }
  expect(caught).toBeInstanceOf(CollectionFormatError);
  const err = caught as CollectionFormatError;
  expect(err.message).toContain(file);
  if (line !== undefined) {
    expect(err.message).toContain(`${file}:${line}:`);
    expect(err.line).toBe(line);
  }
  return err;
}

describe('reading a well-formed collection', () => {
  const expectedDocs: BeirDoc[] = [
    { id: 'd1', title: '0ad', text: 'A real-time strategy game.' },
    { id: 'd2', title: '', text: 'No title here.' },
    { id: 'd3', title: '0ad-data', text: 'Data files, with unicode: é' },
  ];
  const expectedQueries: BeirQuery[] = [
    { id: 'q1', text: 'strategy game' },
    { id: 'q2', text: 'untitled' },
    { id: 'q3', text: 'game data' },
  ];

  it.each([
    ['plain', false],
    ['gzipped', true],
  ])('reads %s corpus and queries identically', async (_label, gzip) => {
    await put('corpus.jsonl', CORPUS, gzip);
    await put('queries.jsonl', QUERIES, gzip);
    expect(await collect(readCorpus(dir))).toEqual(expectedDocs);
    expect(await collect(readQueries(dir))).toEqual(expectedQueries);
  });

  it('prefers the plain file when both exist', async () => {
    await put('corpus.jsonl', CORPUS);
    await put('corpus.jsonl', '{"_id": "other", "text": "x"}', true);
    expect((await collect(readCorpus(dir))).map((d) => d.id)).toEqual(['d1', 'd2', 'd3']);
  });

  it('accepts CRLF line endings', async () => {
    await put('queries.jsonl', QUERIES.replaceAll('\n', '\r\n'));
    expect(await collect(readQueries(dir))).toEqual(expectedQueries);
  });

  it('loads corpus with an index by id and queries as a map', async () => {
    await put('corpus.jsonl', CORPUS);
    await put('queries.jsonl', QUERIES, true);
    const { docs, docIndex } = await loadCorpus(dir);
    expect(docs).toEqual(expectedDocs);
    expect([...docIndex]).toEqual([
      ['d1', 0],
      ['d2', 1],
      ['d3', 2],
    ]);
    expect(await loadQueries(dir)).toEqual(new Map(expectedQueries.map((q) => [q.id, q.text])));
  });

  it('skips the qrels header and drops score 0 pairs', async () => {
    await writeFile(join(dir, 'qrels', 'test.tsv'), TEST_QRELS);
    expect(await readQrels(dir, 'test')).toEqual([
      { queryId: 'q1', docId: 'd1', score: 1 },
      { queryId: 'q3', docId: 'd3', score: 2 },
      { queryId: 'q3', docId: 'd1', score: 1 },
    ]);
  });

  it('reads qrels without a header too', async () => {
    await writeFile(join(dir, 'qrels', 'dev.tsv'), 'q1\td1\t1\n');
    expect(await readQrels(dir, 'dev')).toEqual([{ queryId: 'q1', docId: 'd1', score: 1 }]);
  });

  it('groups a split by query', async () => {
    await put('corpus.jsonl', CORPUS);
    await put('queries.jsonl', QUERIES);
    await writeFile(join(dir, 'qrels', 'test.tsv'), TEST_QRELS);
    const { docIndex } = await loadCorpus(dir);
    const split = await loadSplit(dir, 'test', await loadQueries(dir), docIndex);
    expect(split).toEqual(
      new Map([
        ['q1', new Set(['d1'])],
        ['q3', new Set(['d3', 'd1'])],
      ]),
    );
  });

  it('lists splits from qrels file names', async () => {
    await writeFile(join(dir, 'qrels', 'test.tsv'), HEADER);
    await writeFile(join(dir, 'qrels', 'train.tsv'), HEADER);
    await writeFile(join(dir, 'qrels', 'dev.tsv.gz'), gzipSync(HEADER));
    await writeFile(join(dir, 'qrels', 'notes.txt'), 'ignored');
    expect(await listSplits(dir)).toEqual(['dev', 'test', 'train']);
  });

  it('stops cleanly when the consumer breaks early', async () => {
    await put('corpus.jsonl', CORPUS, true);
    for await (const doc of readCorpus(dir)) {
      expect(doc.id).toBe('d1');
      break;
    }
    // A second full read proves nothing was left half-consumed or locked.
    expect(await collect(readCorpus(dir))).toHaveLength(3);
  });
});

describe('format errors', () => {
  it.each([
    ['invalid JSON', '{"_id": "d1", "text": "ok"}\n{"_id": "d2", "text": '],
    ['a JSON value that is not an object', '{"_id": "d1", "text": "ok"}\n["d2", "text"]'],
    ['a missing _id', '{"_id": "d1", "text": "ok"}\n{"title": "t", "text": "x"}'],
    ['a non-string _id', '{"_id": "d1", "text": "ok"}\n{"_id": 2, "text": "x"}'],
    ['a non-string text', '{"_id": "d1", "text": "ok"}\n{"_id": "d2", "text": null}'],
    ['a missing text', '{"_id": "d1", "text": "ok"}\n{"_id": "d2", "title": "t"}'],
    ['a non-string title', '{"_id": "d1", "text": "ok"}\n{"_id": "d2", "title": 5, "text": "x"}'],
    ['a duplicate _id', '{"_id": "d1", "text": "ok"}\n{"_id": "d1", "text": "again"}'],
  ])('reports %s in the corpus with file and line', async (_label, content) => {
    await put('corpus.jsonl', content);
    await expectFormatError(() => loadCorpus(dir), 'corpus.jsonl', 2);
  });

  it('counts skipped blank lines in line numbers (gzipped file)', async () => {
    await put('queries.jsonl', '{"_id": "q1", "text": "ok"}\n\n\n{"_id": "q1", "text": "dup"}\n', true);
    await expectFormatError(() => loadQueries(dir), 'queries.jsonl.gz', 4);
  });

  it('reports a query without text', async () => {
    await put('queries.jsonl', '{"_id": "q1"}');
    await expectFormatError(() => loadQueries(dir), 'queries.jsonl', 1);
  });

  it.each([
    ['too few fields', 'q1\td1'],
    ['too many fields', 'q1\td1\t1\textra'],
    ['a non-numeric score', 'q1\td1\tyes'],
    ['an empty score', 'q1\td1\t'],
  ])('reports a qrels line with %s', async (_label, bad) => {
    await writeFile(join(dir, 'qrels', 'test.tsv'), `${HEADER}\nq1\td1\t1\n${bad}\n`);
    await expectFormatError(() => readQrels(dir, 'test'), 'test.tsv', 3);
  });

  it.each([
    ['query', 'q9\td1\t1'],
    ['document', 'q1\td9\t1'],
  ])('reports a qrel naming an unknown %s at its line', async (kind, bad) => {
    await put('corpus.jsonl', CORPUS);
    await put('queries.jsonl', QUERIES);
    await writeFile(join(dir, 'qrels', 'dev.tsv'), `${HEADER}\nq1\td1\t1\nq3\td3\t1\n${bad}\n`);
    const { docIndex } = await loadCorpus(dir);
    const err = await expectFormatError(() => loadSplit(dir, 'dev', new Map([['q1', 'a'], ['q3', 'b']]), docIndex), 'dev.tsv', 4);
    expect(err.message).toContain(`unknown ${kind}`);
  });

  it.each([
    ['corpus', () => loadCorpus(dir), 'corpus.jsonl: not found (expected corpus.jsonl or corpus.jsonl.gz)'],
    ['queries', () => loadQueries(dir), 'queries.jsonl: not found (expected queries.jsonl or queries.jsonl.gz)'],
    ['qrels', () => readQrels(dir, 'test'), 'test.tsv: not found (expected test.tsv or test.tsv.gz)'],
  ])('reports a missing %s file with the path it looked for', async (_label, fn, message) => {
    const err = await expectFormatError(fn, dir);
    expect(err.message).toContain(message);
    expect(err.line).toBeUndefined();
  });

  it('reports a missing qrels directory', async () => {
    await rm(join(dir, 'qrels'), { recursive: true });
    const err = await expectFormatError(() => listSplits(dir), join(dir, 'qrels'));
    expect(err.message).toContain('not found');
  });

  it('reports a truncated gzip stream after the lines it could read', async () => {
    const lines = Array.from({ length: 2000 }, (_, i) => JSON.stringify({ _id: `d${i}`, text: `document number ${i} ${'x'.repeat(i % 50)}` }));
    const gz = gzipSync(lines.join('\n'));
    await writeFile(join(dir, 'corpus.jsonl.gz'), gz.subarray(0, gz.length - 200));
    const err = await expectFormatError(() => loadCorpus(dir), 'corpus.jsonl.gz');
    expect(err.message).toContain('damaged gzip data');
    expect(err.line).toBeGreaterThan(1);
  });

  it('reports a .gz file that is not gzip at all', async () => {
    await writeFile(join(dir, 'queries.jsonl.gz'), '{"_id": "q1", "text": "plain text in disguise"}\n');
    const err = await expectFormatError(() => loadQueries(dir), 'queries.jsonl.gz', 1);
    expect(err.message).toContain('damaged gzip data');
  });
});
