/**
 * A smaller sample of a collection made of core documents and distractors, for scale runs:
 * every core document (by default, any whose id has no registry prefix: Debian's) and an
 * evenly spaced, deterministic selection of the distractors (`pypi:…`, `npm:…`), so the
 * sample has `--size` documents (or, with `--every K`, every K-th distractor). Queries and
 * qrels are copied unchanged: they point at core documents, which are all kept.
 *
 *   node --import tsx cluster/tools/distractor-sample.ts --from DIR --out DIR --size 120k
 *   node --import tsx cluster/tools/distractor-sample.ts --from DIR --out DIR --every 12
 *
 * Streamed: one pass counts the distractors, a second writes the sample, one document in
 * memory at a time (and the ids seen, to refuse duplicates), so it runs on the 798K
 * collection in a few hundred MB.
 */
import { once } from 'node:events';
import { createWriteStream, existsSync } from 'node:fs';
import { copyFile, mkdir, readdir } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { readCorpus } from '../../shared/beir/reader.ts';
import { BadInputError } from '../../shared/errors.ts';

/** Ids of the distractors of debian-plus-registries: a registry name and a colon. */
export const REGISTRY_DISTRACTOR = /^(pypi|npm):/;

export interface SampleOptions {
  from: string;
  out: string;
  /** Documents wanted in all (core documents always in): exactly this many distractors are kept, evenly spaced. */
  size?: number;
  /** Or: keep the distractors at positions K-1, 2K-1, … among them (every K-th). */
  every?: number;
  distractor?: RegExp;
}

export interface SampleSummary {
  documents: number;
  core: number;
  distractors: number;
  /** Distractors in the collection sampled from. */
  distractorsAvailable: number;
}

export async function writeDistractorSample(opts: SampleOptions): Promise<SampleSummary> {
  if ((opts.size === undefined) === (opts.every === undefined)) throw new BadInputError('give exactly one of --size N and --every K');
  if (resolve(opts.from) === resolve(opts.out)) throw new BadInputError('--out must differ from --from');
  const isDistractor = (id: string) => (opts.distractor ?? REGISTRY_DISTRACTOR).test(id);

  const { core, distractors: available } = await countCollection(opts.from, opts.distractor);
  const keep = distractorChoice(core, available, opts);

  await mkdir(join(opts.out, 'qrels'), { recursive: true });
  const out = createWriteStream(join(opts.out, 'corpus.jsonl'));
  let d = 0;
  let kept = 0;
  for await (const doc of readCorpus(opts.from)) {
    if (isDistractor(doc.id) && !keep(d++)) continue;
    if (isDistractor(doc.id)) kept++;
    if (!out.write(`${JSON.stringify({ _id: doc.id, title: doc.title, text: doc.text })}\n`)) await once(out, 'drain');
  }
  out.end();
  await once(out, 'finish');
  await copyQueriesAndQrels(opts.from, opts.out);
  return { documents: core + kept, core, distractors: kept, distractorsAvailable: available };
}

/** Core documents and distractors of a collection (one streamed pass): the sizes a sample of it can have. */
export async function countCollection(from: string, distractor: RegExp = REGISTRY_DISTRACTOR): Promise<{ core: number; distractors: number }> {
  let core = 0;
  let distractors = 0;
  for await (const doc of readCorpus(from)) {
    if (distractor.test(doc.id)) distractors++;
    else core++;
  }
  return { core, distractors };
}

/** Which distractors (by position among them) the sample keeps. */
export function distractorChoice(core: number, available: number, opts: SampleOptions): (i: number) => boolean {
  if (opts.every !== undefined) {
    const k = opts.every;
    if (!Number.isInteger(k) || k < 1) throw new BadInputError(`--every must be a positive integer, got ${k}`);
    return (i) => i % k === k - 1;
  }
  const size = opts.size!;
  if (!Number.isInteger(size) || size < core) throw new BadInputError(`--size ${size} is smaller than the ${core} core documents, which are always kept`);
  const wanted = Math.min(available, size - core);
  // Position i is kept when it crosses a multiple of available/wanted: exactly `wanted`, evenly spread.
  return (i) => Math.floor(((i + 1) * wanted) / available) > Math.floor((i * wanted) / available);
}

async function copyQueriesAndQrels(from: string, to: string): Promise<void> {
  const queries = ['queries.jsonl', 'queries.jsonl.gz'].find((name) => existsSync(join(from, name)));
  if (!queries) throw new BadInputError(`${from}: no queries.jsonl(.gz)`);
  await copyFile(join(from, queries), join(to, queries));
  for (const name of await readdir(join(from, 'qrels'))) await copyFile(join(from, 'qrels', name), join(to, 'qrels', name));
}

/** "120k", "1.2m", "120000" → a document count. */
export function parseSize(text: string): number {
  const m = /^(\d+(?:\.\d+)?)([km]?)$/i.exec(text.trim());
  if (!m) throw new BadInputError(`not a size: '${text}' (e.g. 120k, 1.2m, 120000)`);
  return Math.round(Number(m[1]) * (m[2]!.toLowerCase() === 'k' ? 1e3 : m[2]!.toLowerCase() === 'm' ? 1e6 : 1));
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const { values } = parseArgs({ options: { from: { type: 'string' }, out: { type: 'string' }, size: { type: 'string' }, every: { type: 'string' } } });
  if (!values.from || !values.out) {
    process.stderr.write('usage: distractor-sample.ts --from DIR --out DIR (--size N | --every K)\n');
    process.exit(2);
  }
  const summary = await writeDistractorSample({ from: values.from, out: values.out, size: values.size === undefined ? undefined : parseSize(values.size), every: values.every === undefined ? undefined : Number(values.every) });
  process.stdout.write(`${JSON.stringify(summary)}\n`);
}
