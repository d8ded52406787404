/**
 * What an index costs and gives as the collection grows: for each size, a sample of the
 * collection (every core document plus evenly spaced distractors,
 * cluster/tools/distractor-sample.ts) indexed with `dsi index` at the default settings,
 * then measured:
 *   build        wall time of `dsi index`, and the peak memory of each kind of process
 *                (the build itself, its `dsi build-job` training children), read from /proc
 *                every 200 ms
 *   index        bytes on disk per document
 *   quality      test-split Hits@1/@10 of the index and of BM25 on the same sample, and
 *                the index's in-process p50/p99 (one query at a time, the whole search),
 *                all from `dsi eval --split test --json`
 *   serving      the router's memory while it serves the index: `dsi up --index` on a
 *                free port, --searches test queries sent to it one at a time, then the
 *                router's VmRSS (and its experts') read, and the cluster stopped
 *
 *   npm run bench:scale -- --corpus DIR --sizes 60k,200k,400k,800k [--out DIR]
 *                          [--shards-per-100k 6.67 | --shards N] [--shards-per-expert 8]
 *                          [--searches 200] [--seed 1] [--reuse]
 *
 * --reuse takes each size's index already in OUT (a finished build: its manifest written)
 * instead of building it again, and its evaluation from OUT/N-eval.log when that holds
 * one; the build's figures are then those of OUT/scale.json's row of that size, if any.
 *
 * `dsi index` builds 4 shards at any size unless told otherwise; here each size gets
 * about one shard per 15,000 documents (--shards-per-100k), printed with its row. Every
 * core document is kept, so a size below the core is the core alone: `60k` of
 * debian-plus-registries is Debian's 60,514 documents, and a collection with no
 * distractors (data/demo) has one size, its own. Prints one markdown row per size as it
 * is measured and rewrites OUT/scale.json with every figure after each; samples, indexes
 * and every process's log stay in OUT. Sizes run one after the other, each process using
 * every core.
 */
import { spawn } from 'node:child_process';
import { createWriteStream, existsSync, mkdtempSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import { cpus, tmpdir, totalmem } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { readQrels, loadQueries } from '../../shared/beir/reader.ts';
import { BadInputError, CollectionFormatError } from '../../shared/errors.ts';
import { LatencyRecorder } from '../../shared/eval/metrics.ts';
import { startLocalUp } from '../../loadtest/node/local-up.ts';
import type { EvalReport } from '../eval/evaluate.ts';
import { countCollection, writeDistractorSample, type SampleSummary } from '../tools/distractor-sample.ts';
import { peaksByKind, readTreeMemory, watchPeakMemory, type KindPeak, type TreePeak } from './process-memory.ts';
import { parseScaleOptions, sampleSizes, SCALE_USAGE, shardsFor, type ScaleOptions } from './scale-options.ts';

const DSI_BIN = fileURLToPath(new URL('../../bin/dsi.js', import.meta.url));
/** Publishing a large index into the registry and loading every expert takes a while on 2 cores. */
const UP_READY_TIMEOUT_MS = 30 * 60_000;
const MB = 2 ** 20;
const TABLE_HEADER = [
  '| documents | shards | build s | peak RSS MB: dsi index / largest build-job | index MB | bytes / doc | in-process p50 / p99 ms | DSI Hits@1 / @10 | BM25 Hits@1 / @10 | router RSS MB | experts RSS MB (processes) |',
  '| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |',
].join('\n');

interface SizeFigures {
  /** As asked (--sizes); the sample's documents are in `sample`. */
  size: number;
  sample: SampleSummary;
  shards: number;
  /** null: the index was reused (--reuse) and no earlier figures of its build were found. */
  build: { seconds: number; memory: TreePeak } | null;
  index: { bytes: number; bytes_per_document: number };
  /** memory null: the evaluation was read back from its log (--reuse), its memory not measured. */
  eval: Pick<EvalReport, 'queries' | 'dsi' | 'bm25' | 'lexical_only' | 'semantic_only' | 'routing'> & { memory: TreePeak | null };
  serving: Serving;
}

interface Serving {
  searches: number;
  failed: number;
  degraded: number;
  http_p50_ms: number;
  http_p99_ms: number;
  router_rss_bytes: number;
  router_peak_rss_bytes: number;
  experts: number;
  experts_rss_bytes: number;
  /** Every process of the cluster by kind, its peak (VmHWM) since it started. */
  kinds: Record<string, KindPeak>;
}

const options = readOptions();
const collection = await countCollection(options.corpus).catch(exitOnBadInput);
const samples = readSampleSizes();
const out = options.out ?? mkdtempSync(join(tmpdir(), 'dsi-bench-scale-'));
await mkdir(out, { recursive: true });
note(`bench:scale  ${options.corpus}: ${collection.core} core documents, ${collection.distractors} distractors; samples, indexes and logs in ${out}`);

const measured: SizeFigures[] = [];
say(TABLE_HEADER);
for (const [i, size] of options.sizes.entries()) {
  measured.push(await measureSize(size, samples[i]!));
  say(tableRow(measured.at(-1)!));
  writeReport(measured);
}
note(`every figure in ${join(out, 'scale.json')}`);

/** One size, step after step: sample, build, size on disk, evaluation, serving. */
async function measureSize(size: number, documents: number): Promise<SizeFigures> {
  const sampleDir = join(out, `sample-${documents}`);
  const indexDir = join(out, `index-${documents}`);
  const earlier = options.reuse ? await reusable(documents, sampleDir, indexDir) : undefined;
  const sample = earlier?.sample ?? (await writeDistractorSample({ from: options.corpus, out: sampleDir, size: documents }));
  const shards = shardsFor(sample.documents, options);
  note(`${size}: ${sample.documents} documents (${sample.core} core, ${sample.distractors} distractors); ${shards} shards (${options.shards === undefined ? `${options.shardsPer100k} per 100K documents` : '--shards'})`);
  let build: SizeFigures['build'];
  if (earlier) {
    build = earlier.build;
    note(`${size}: reusing the index in ${indexDir}`);
  } else {
    const built = await runDsi(['index', '--corpus', sampleDir, '--out', indexDir, '--shards', String(shards), '--seed', String(options.seed)], `${documents}-index`);
    build = { seconds: round(built.seconds, 1), memory: built.memory };
    note(`${size}: built in ${built.seconds.toFixed(0)} s; evaluating`);
  }
  const bytes = directoryBytes(indexDir);
  const evaluation = earlier?.eval ?? (await evaluate(indexDir, sampleDir, `${documents}-eval`));
  note(`${size}: serving ${options.searches} searches through dsi up, ${options.shardsPerExpert} shard(s) per expert process`);
  const serving = await measureServing(indexDir, sampleDir);
  return {
    size,
    sample,
    shards,
    build,
    index: { bytes, bytes_per_document: Math.round(bytes / sample.documents) },
    eval: evaluation,
    serving,
  };
}

/** Runs `dsi args` to its end with its output in OUT/NAME.log, watching its process tree's memory; throws unless it exits 0. */
async function runDsi(args: string[], name: string): Promise<{ seconds: number; memory: TreePeak; stdout: string }> {
  const logFile = join(out, `${name}.log`);
  const log = createWriteStream(logFile);
  const started = performance.now();
  const child = spawn(process.execPath, [DSI_BIN, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  const memory = watchPeakMemory(child.pid!);
  let stdout = '';
  child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
  // Both streams into one file, which is closed once both have ended.
  child.stdout.pipe(log, { end: false });
  child.stderr.pipe(log, { end: false });
  const code = await new Promise<number | null>((resolve, reject) => {
    child.once('error', reject);
    child.once('close', resolve);
  });
  const peak = memory.stop();
  log.end();
  if (code !== 0) throw new Error(`dsi ${args[0]} exited with ${code}: see ${logFile}`);
  return { seconds: (performance.now() - started) / 1000, memory: peak, stdout };
}

async function evaluate(indexDir: string, corpusDir: string, name: string): Promise<SizeFigures['eval']> {
  const { stdout, memory } = await runDsi(['eval', '--index', indexDir, '--corpus', corpusDir, '--split', 'test', '--json'], name);
  return { ...evalFigures(JSON.parse(stdout.trim().split('\n').at(-1)!) as EvalReport), memory };
}

function evalFigures(report: EvalReport): Omit<SizeFigures['eval'], 'memory'> {
  return { queries: report.queries, dsi: report.dsi, bm25: report.bm25, lexical_only: report.lexical_only, semantic_only: report.semantic_only, routing: report.routing };
}

/**
 * What --reuse finds of a size in OUT: undefined when its index is not finished (no
 * manifest); else the sample's counts, the build's figures from OUT/scale.json (null when
 * it has no row of this size) and the evaluation from the last JSON line of OUT/N-eval.log
 * (undefined when there is none: it is run again; taken from the log, its memory is not known).
 */
async function reusable(documents: number, sampleDir: string, indexDir: string): Promise<(Pick<SizeFigures, 'sample' | 'build'> & { eval: SizeFigures['eval'] | undefined }) | undefined> {
  if (!existsSync(join(indexDir, 'manifest.json'))) return undefined;
  const previous = readJson<{ sizes: SizeFigures[] }>(join(out, 'scale.json'))?.sizes.find((f) => f.sample.documents === documents);
  const lastLine = existsSync(join(out, `${documents}-eval.log`)) ? readFileSync(join(out, `${documents}-eval.log`), 'utf8').trim().split('\n').at(-1) : undefined;
  const report = lastLine?.startsWith('{') ? (JSON.parse(lastLine) as EvalReport) : undefined;
  const counted = previous ? undefined : await countCollection(sampleDir);
  const sample = previous?.sample ?? { documents: counted!.core + counted!.distractors, core: counted!.core, distractors: counted!.distractors, distractorsAvailable: collection.distractors };
  return { sample, build: previous?.build ?? null, eval: previous?.eval ?? (report && { ...evalFigures(report), memory: null }) };
}

function readJson<T>(file: string): T | undefined {
  return existsSync(file) ? (JSON.parse(readFileSync(file, 'utf8')) as T) : undefined;
}

/** The index served by `dsi up` (one replica a shard): test queries sent one at a time, then each process's memory read. */
async function measureServing(indexDir: string, corpusDir: string): Promise<Serving> {
  const queries = await testQueries(corpusDir);
  const up = await startLocalUp({ indexDir, replicas: 1, shardsPerExpert: options.shardsPerExpert, env: process.env, log: note, readyTimeoutMs: UP_READY_TIMEOUT_MS });
  try {
    const latency = new LatencyRecorder();
    let failed = 0;
    let degraded = 0;
    for (let i = 0; i < options.searches; i++) {
      const answer = await timedSearch(up.url, queries[i % queries.length]!);
      latency.record(answer.ms);
      if (!answer.ok) failed++;
      else if (answer.degraded) degraded++;
    }
    const tree = readTreeMemory(up.pid);
    const router = tree.find((p) => p.kind === 'dsi router');
    if (!router) throw new Error(`no router process under dsi up (pid ${up.pid})`);
    const experts = tree.filter((p) => p.kind === 'dsi expert');
    const { p50_ms, p99_ms } = latency.summary();
    return {
      searches: options.searches,
      failed,
      degraded,
      http_p50_ms: round(p50_ms, 2),
      http_p99_ms: round(p99_ms, 2),
      router_rss_bytes: router.rssBytes,
      router_peak_rss_bytes: router.peakBytes,
      experts: experts.length,
      experts_rss_bytes: experts.reduce((sum, p) => sum + p.rssBytes, 0),
      kinds: peaksByKind(tree),
    };
  } finally {
    await up.stop();
  }
}

async function timedSearch(url: string, query: string): Promise<{ ms: number; ok: boolean; degraded: boolean }> {
  const started = performance.now();
  try {
    const response = await fetch(`${url}/v1/search`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ query, k: 10 }) });
    const body = await response.text();
    return { ms: performance.now() - started, ok: response.ok, degraded: body.includes('"degraded":true') };
  } catch {
    return { ms: performance.now() - started, ok: false, degraded: false };
  }
}

/** The texts of the test split's queries, in the order of its qrels, each once. */
async function testQueries(corpusDir: string): Promise<string[]> {
  const texts = await loadQueries(corpusDir);
  const ids = new Set((await readQrels(corpusDir, 'test')).map((q) => q.queryId));
  return [...ids].map((id) => texts.get(id)).filter((text): text is string => text !== undefined);
}

function directoryBytes(dir: string): number {
  return readdirSync(dir, { withFileTypes: true }).reduce((n, e) => n + (e.isDirectory() ? directoryBytes(join(dir, e.name)) : statSync(join(dir, e.name)).size), 0);
}

function tableRow(f: SizeFigures): string {
  const mb = (bytes: number | undefined) => (bytes === undefined ? '–' : Math.round(bytes / MB).toLocaleString('en-US'));
  const hits = (s: EvalReport['dsi'] | null) => (s ? `${s['hits@1'].toFixed(3)} / ${s['hits@10'].toFixed(3)}` : '–');
  const kinds = f.build?.memory.kinds ?? {};
  return `| ${[
    f.sample.documents.toLocaleString('en-US'),
    f.shards,
    f.build ? f.build.seconds.toFixed(0) : 'reused',
    `${mb(kinds['dsi index']?.peak_rss_bytes)} / ${mb(kinds['dsi build-job']?.peak_rss_bytes)}`,
    mb(f.index.bytes),
    f.index.bytes_per_document.toLocaleString('en-US'),
    `${f.eval.dsi.p50_ms.toFixed(2)} / ${f.eval.dsi.p99_ms.toFixed(2)}`,
    hits(f.eval.dsi),
    hits(f.eval.bm25),
    mb(f.serving.router_rss_bytes),
    `${mb(f.serving.experts_rss_bytes)} (${f.serving.experts})`,
  ].join(' | ')} |`;
}

function writeReport(sizes: SizeFigures[]): void {
  const report = {
    corpus: options.corpus,
    at: new Date().toISOString(),
    machine: { cpus: cpus().length, memory_bytes: totalmem() },
    options: { shards: options.shards ?? null, shards_per_100k: options.shardsPer100k, shards_per_expert: options.shardsPerExpert, searches: options.searches, seed: options.seed, reuse: options.reuse },
    sizes,
  };
  writeFileSync(join(out, 'scale.json'), `${JSON.stringify(report, null, 2)}\n`);
}

function readSampleSizes(): number[] {
  try {
    return sampleSizes(options.sizes, collection);
  } catch (error) {
    return exitOnBadInput(error);
  }
}

function readOptions(): ScaleOptions {
  if (process.argv.length <= 2) {
    process.stderr.write(`${SCALE_USAGE}\n`);
    process.exit(2);
  }
  try {
    return parseScaleOptions(process.argv.slice(2));
  } catch (error) {
    return exitOnBadInput(error);
  }
}

/** Bad flags or an unreadable collection: one line and exit code 2; anything else is thrown on. */
function exitOnBadInput(error: unknown): never {
  if (!(error instanceof BadInputError || error instanceof CollectionFormatError)) throw error;
  process.stderr.write(`bench:scale: ${error.message}\n`);
  process.exit(2);
}

function round(x: number, digits: number): number {
  return Number(x.toFixed(digits));
}

/** The table on stdout; progress on stderr. */
function say(line: string): void {
  process.stdout.write(`${line}\n`);
}

function note(line: string): void {
  process.stderr.write(`${line}\n`);
}
