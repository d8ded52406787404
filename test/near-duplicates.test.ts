import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { initBackend } from '../shared/model/backend.ts';
import { mulberry32 } from '../shared/util/random.ts';
import { LocalIndex } from '../cluster/local-index.ts';
import { Bm25Baseline } from '../cluster/bm25.ts';
import { runDsi } from './helpers/cli.ts';

/**
 * Families of near-duplicate packages, as Debian has them: `foo`, `foo-doc` and
 * `libfoo-dev` share one description and differ only in their names. A query that names
 * what tells them apart ("documentation", "development files") must find each at rank 1,
 * for families the index never saw a query of: the query head learns from the other
 * families that those words point at a name part.
 */
const FAMILIES = 48;
const HELD_OUT = 6;
const NAMES = ['zorb', 'quen', 'plax', 'drov', 'mirt', 'kelp', 'vusk', 'trin', 'gost', 'brel', 'snaf', 'wopl', 'chiv', 'fant', 'yorl', 'dexo'];
const VERBS = ['renders', 'parses', 'compresses', 'schedules', 'encrypts', 'indexes', 'mirrors', 'validates', 'plots', 'streams', 'merges', 'audits'];
const OBJECTS = ['spreadsheets', 'satellite images', 'chess games', 'audio samples', 'network packets', 'genome reads', 'font outlines', 'weather maps', 'ledger entries', 'subtitles', 'star catalogues', 'circuit netlists'];
const EXTRAS = ['quickly', 'with plugins', 'from the command line', 'over HTTP', 'in parallel', 'with a small memory footprint', 'for teaching', 'on embedded boards'];

function collection(): { corpus: string[]; queries: string[]; train: string[]; test: { query: string; doc: string }[] } {
  const rand = mulberry32(5);
  const pick = <T>(list: readonly T[]) => list[Math.floor(rand() * list.length)]!;
  const corpus: string[] = [];
  const queries: string[] = [];
  const train: string[] = [];
  const test: { query: string; doc: string }[] = [];
  for (let f = 0; f < FAMILIES; f++) {
    const name = `${NAMES[f % NAMES.length]}${String.fromCharCode(97 + Math.floor(f / NAMES.length))}x`;
    const text = `${name} ${pick(VERBS)} ${pick(OBJECTS)} and ${pick(VERBS)} ${pick(OBJECTS)} ${pick(EXTRAS)}. It is written in a portable way and keeps its settings in one file.`;
    const members = [
      { id: `${name}`, title: name, query: `tool that ${text.split(' ').slice(1, 3).join(' ')} (${name})` },
      { id: `${name}-doc`, title: `${name}-doc`, query: `documentation for ${name}` },
      { id: `lib${name}-dev`, title: `lib${name}-dev`, query: `${name} library - development files` },
    ];
    for (const m of members) {
      corpus.push(JSON.stringify({ _id: m.id, title: m.title, text }));
      const qid = `q-${m.id}`;
      queries.push(JSON.stringify({ _id: qid, text: m.query }));
      if (f < FAMILIES - HELD_OUT) train.push(`${qid}\t${m.id}\t1`);
      else test.push({ query: m.query, doc: m.id });
    }
  }
  return { corpus, queries, train, test };
}

describe('near-duplicates told apart by their names', () => {
  let dir: string;
  let index: LocalIndex;
  let cases: { query: string; doc: string }[];

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'dsi-near-duplicates-'));
    const data = collection();
    cases = data.test;
    const corpus = join(dir, 'corpus');
    mkdirSync(join(corpus, 'qrels'), { recursive: true });
    writeFileSync(join(corpus, 'corpus.jsonl'), `${data.corpus.join('\n')}\n`);
    writeFileSync(join(corpus, 'queries.jsonl'), `${data.queries.join('\n')}\n`);
    writeFileSync(join(corpus, 'qrels', 'train.tsv'), `query-id\tcorpus-id\tscore\n${data.train.join('\n')}\n`);
    const result = await runDsi(['index', '--corpus', corpus, '--out', join(dir, 'index'), '--shards', '2', '--epochs', '3', '--gating-epochs', '1', '--set', '{"lexical":{"epochs":8}}']);
    expect(result.code, result.stderr.slice(-2000)).toBe(0);
    await initBackend({ prefer: 'wasm' });
    index = (await LocalIndex.open(join(dir, 'index'))).index;
  }, 120_000);

  afterAll(() => {
    index?.dispose();
    rmSync(dir, { recursive: true, force: true });
  });

  it('finds foo, foo-doc and libfoo-dev each at rank 1 by the query that names its part, in families never queried', async () => {
    expect(cases).toHaveLength(HELD_OUT * 3);
    const misses: string[] = [];
    for (const { query, doc } of cases) {
      const top = (await index.search(query, 3)).hits[0]?.id;
      if (top !== doc) misses.push(`${query} → ${top} (wanted ${doc})`);
    }
    expect(misses).toEqual([]);
  });

  it('is beyond BM25, which has only the names as written', () => {
    const bm25 = Bm25Baseline.build(collection().corpus.map((line) => {
      const d = JSON.parse(line) as { _id: string; title: string; text: string };
      return { id: d._id, title: d.title, text: d.text };
    }));
    const misses = cases.filter(({ query, doc }) => bm25.search(query, 1)[0] !== doc);
    expect(misses.length).toBeGreaterThanOrEqual(HELD_OUT);
  });

  it('could not do it from the descriptions alone: the three share one text', async () => {
    const semantic = await index.search(cases[1]!.query, 3, undefined, 'semantic');
    const lexicalOnly = await index.search(cases[1]!.query, 3, undefined, 'lexical');
    expect(lexicalOnly.hits[0]?.id).toBe(cases[1]!.doc);
    // The semantic half alone knows the family but not the member.
    expect(semantic.hits.map((h) => h.id.replace(/^lib|-doc$|-dev$/g, ''))).toContain(cases[1]!.doc.replace(/-doc$/, ''));
  });
});
