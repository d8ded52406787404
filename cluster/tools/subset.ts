/**
 * Cuts a small, self-contained BEIR collection out of a large one, so the repository
 * can ship a demo that does not depend on data outside the clone.
 *
 *   node --import tsx cluster/tools/subset.ts --from DIR --out DIR --docs N --seed S
 *
 * A uniform sample of documents would destroy what makes the Debian collection hard:
 * families of near-duplicates (0ad, 0ad-data, 0ad-data-common; libfoo-dev, libfoo1)
 * that a retriever must tell apart. So the corpus is cut into families (runs of
 * neighbouring documents in corpus order, which is sorted by package name, whose
 * titles share a prefix and whose texts overlap), and whole families are drawn at
 * random until the subset has N documents. Drawing families rather than single
 * anchor documents keeps the share of documents living in families the same as in
 * the full collection (anchoring on a random document would favour big families).
 */
import { createWriteStream } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { once } from 'node:events';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { BadInputError } from '../../shared/errors.ts';
import { listSplits, readCorpus, readQrels, readQueries, type Qrel } from '../../shared/beir/reader.ts';

export interface SubsetOptions {
  from: string;
  out: string;
  docs: number;
  seed: number;
}

export interface SubsetSummary {
  docs: number;
  queries: number;
  /** Relevant pairs written per split. */
  qrels: Record<string, number>;
}

/** Neighbours whose titles share fewer characters than this are never one family. */
const MIN_TITLE_PREFIX = 3;
/** Word-set Jaccard at or above which neighbouring texts count as near-duplicates. */
const MIN_TEXT_JACCARD = 0.3;
/** Huge families (a library built in 40 variants) are cut so one draw cannot eat the budget. */
const MAX_FAMILY = 16;
/**
 * Packages with identical descriptions share one document and bring all their queries
 * (one Objective-C runtime document has 56 test queries): capped per document and split,
 * so one document cannot dominate a small split's figures.
 */
const MAX_QUERIES_PER_DOC = 3;

export async function writeSubset(opts: SubsetOptions): Promise<SubsetSummary> {
  if (!Number.isInteger(opts.docs) || opts.docs < 1) throw new BadInputError(`docs must be a positive integer, got ${opts.docs}`);
  if (!Number.isInteger(opts.seed)) throw new BadInputError(`seed must be an integer, got ${opts.seed}`);

  const { ids, familyStarts } = await scanFamilies(opts.from);
  const chosen = chooseDocs(ids.length, familyStarts, opts.docs, mulberry32(opts.seed));
  const keptDocs = new Set<string>();
  for (const i of chosen) keptDocs.add(ids[i]);

  await mkdir(join(opts.out, 'qrels'), { recursive: true });

  // Second streaming pass: the corpus is never held in memory, only its ids.
  await writeLines(join(opts.out, 'corpus.jsonl'), mapAsync(filterAsync(readCorpus(opts.from), (d) => keptDocs.has(d.id)), (d) =>
    JSON.stringify({ _id: d.id, title: d.title, text: d.text }),
  ));

  const keptQueries = new Set<string>();
  const qrels: Record<string, number> = {};
  for (const split of await listSplits(opts.from)) {
    const perDoc = new Map<string, number>();
    const pairs = (await readQrels(opts.from, split)).filter((q) => {
      if (!keptDocs.has(q.docId)) return false;
      const seen = perDoc.get(q.docId) ?? 0;
      perDoc.set(q.docId, seen + 1);
      return seen < MAX_QUERIES_PER_DOC;
    });
    for (const q of pairs) keptQueries.add(q.queryId);
    await writeLines(join(opts.out, 'qrels', `${split}.tsv`), qrelLines(pairs));
    qrels[split] = pairs.length;
  }

  await writeLines(join(opts.out, 'queries.jsonl'), mapAsync(filterAsync(readQueries(opts.from), (q) => keptQueries.has(q.id)), (q) =>
    JSON.stringify({ _id: q.id, text: q.text }),
  ));

  return { docs: keptDocs.size, queries: keptQueries.size, qrels };
}

/**
 * One pass over the corpus: ids in order plus the index where each family starts.
 * Only the previous document's title and word set are kept, so the scan is cheap.
 */
async function scanFamilies(dir: string): Promise<{ ids: string[]; familyStarts: number[] }> {
  const ids: string[] = [];
  const familyStarts: number[] = [];
  let prev: { title: string; words: Set<string> } | undefined;
  let familySize = 0;
  for await (const doc of readCorpus(dir)) {
    const words = wordSet(doc.text);
    const joins =
      prev !== undefined &&
      familySize < MAX_FAMILY &&
      commonPrefixLength(prev.title, doc.title) >= MIN_TITLE_PREFIX &&
      jaccard(prev.words, words) >= MIN_TEXT_JACCARD;
    if (joins) {
      familySize++;
    } else {
      familyStarts.push(ids.length);
      familySize = 1;
    }
    ids.push(doc.id);
    prev = { title: doc.title, words };
  }
  return { ids, familyStarts };
}

/** Shuffles families and takes them whole until the budget is met; the last one is trimmed. */
function chooseDocs(total: number, familyStarts: number[], budget: number, random: () => number): number[] {
  const order = familyStarts.map((_, f) => f);
  for (let i = order.length - 1; i > 0; i--) {
    const j = Math.floor(random() * (i + 1));
    [order[i], order[j]] = [order[j], order[i]];
  }
  const chosen: number[] = [];
  for (const f of order) {
    if (chosen.length >= budget) break;
    const end = f + 1 < familyStarts.length ? familyStarts[f + 1] : total;
    for (let i = familyStarts[f]; i < end && chosen.length < budget; i++) chosen.push(i);
  }
  return chosen.sort((a, b) => a - b);
}

/** Small seeded PRNG (mulberry32): the same seed must give the same subset on every machine. */
function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function wordSet(text: string): Set<string> {
  return new Set(text.toLowerCase().match(/[\p{L}\p{N}]+/gu) ?? []);
}

function jaccard(a: Set<string>, b: Set<string>): number {
  let shared = 0;
  for (const w of a) if (b.has(w)) shared++;
  const union = a.size + b.size - shared;
  return union === 0 ? 1 : shared / union;
}

function commonPrefixLength(a: string, b: string): number {
  const n = Math.min(a.length, b.length);
  let i = 0;
  while (i < n && a[i] === b[i]) i++;
  return i;
}

async function* qrelLines(pairs: Qrel[]): AsyncGenerator<string> {
  yield 'query-id\tcorpus-id\tscore';
  for (const q of pairs) yield `${q.queryId}\t${q.docId}\t${q.score}`;
}

async function* filterAsync<T>(items: AsyncIterable<T>, keep: (item: T) => boolean): AsyncGenerator<T> {
  for await (const item of items) if (keep(item)) yield item;
}

async function* mapAsync<T, U>(items: AsyncIterable<T>, fn: (item: T) => U): AsyncGenerator<U> {
  for await (const item of items) yield fn(item);
}

/** Writes one line per item, honouring backpressure, and resolves once the file is flushed. */
async function writeLines(path: string, lines: AsyncIterable<string>): Promise<void> {
  const out = createWriteStream(path);
  const failed = once(out, 'error').then(([err]) => {
    throw err;
  });
  failed.catch(() => {}); // observed below; avoid an unhandled rejection meanwhile
  for await (const line of lines) {
    if (!out.write(`${line}\n`)) await Promise.race([once(out, 'drain'), failed]);
  }
  out.end();
  await Promise.race([once(out, 'finish'), failed]);
}

function parseCli(argv: string[]): SubsetOptions {
  const { values } = parseArgs({
    args: argv,
    strict: true,
    allowPositionals: false,
    options: {
      from: { type: 'string' },
      out: { type: 'string' },
      docs: { type: 'string' },
      seed: { type: 'string' },
    },
  });
  for (const flag of ['from', 'out', 'docs', 'seed'] as const) {
    if (values[flag] === undefined || values[flag] === '') throw new BadInputError(`missing --${flag}`);
  }
  const docs = Number(values.docs);
  const seed = Number(values.seed);
  if (!/^\d+$/.test(values.docs!) || docs < 1) throw new BadInputError(`--docs must be a positive integer, got "${values.docs}"`);
  if (!/^\d+$/.test(values.seed!) || seed > 0xffffffff) throw new BadInputError(`--seed must be an integer 0..4294967295, got "${values.seed}"`);
  return { from: values.from!, out: values.out!, docs, seed };
}

async function main(): Promise<void> {
  let opts: SubsetOptions;
  try {
    opts = parseCli(process.argv.slice(2));
  } catch (err) {
    process.stderr.write(`subset: ${(err as Error).message}\n`);
    process.exitCode = 2;
    return;
  }
  try {
    const s = await writeSubset(opts);
    const perSplit = Object.entries(s.qrels)
      .map(([split, n]) => `${split}=${n}`)
      .join(' ');
    process.stdout.write(`subset: wrote ${s.docs} docs, ${s.queries} queries, qrels ${perSplit} to ${opts.out}\n`);
  } catch (err) {
    process.stderr.write(`subset: ${(err as Error).message}\n`);
    process.exitCode = 1;
  }
}

if (process.argv[1] !== undefined && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  await main();
}
