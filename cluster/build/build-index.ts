import { createWriteStream } from 'node:fs';
import { join } from 'node:path';
import { once } from 'node:events';
import { mkdir, rm, writeFile } from 'node:fs/promises';
import { listSplits, loadCorpus, loadQueries, loadSplit, type BeirDoc } from '../../shared/beir/reader.ts';
import { StreamDigest } from '../../shared/artifact/checksum.ts';
import { INDEX_LAYOUT, commitIndex, shardDirOf, stagingDirFor } from '../../shared/artifact/index-artifact.ts';
import type { Manifest } from '../../shared/artifact/manifest.ts';
import type { IndexConfig } from '../../shared/config.ts';
import { assignTopicsToShards, buildSemanticDocIds, formatDocId } from '../../shared/docids/build.ts';
import { loadGating } from '../../shared/model/gating-store.ts';
import type { TrainingCorpus } from '../../shared/model/examples.ts';
import { fullView, tokenizeDoc, type TokenizedDoc } from '../../shared/model/views.ts';
import { SparseTable } from '../../shared/model/sparse-table.ts';
import { packFeatures } from '../../shared/model/encoder.ts';
import { normalizeRows } from '../../shared/model/heads.ts';
import type { Logger } from '../../shared/log.ts';
import type { Progress } from '../../shared/progress.ts';
import { featurize } from '../../shared/text/featurizer.ts';
import type { Vocabulary } from '../../shared/text/vocabulary.ts';
import { BadInputError } from '../../shared/errors.ts';
import { mulberry32 } from '../../shared/util/random.ts';
import { loadExpert, SHARD_FILES, type LoadedExpert } from '../../experts/expert-store.ts';
import { buildVocabulary } from '../../experts/train-expert.ts';
import { LocalPipeline } from '../pipeline.ts';
import { evaluateShardHits } from '../eval/shard-hits.ts';
import { runJobs } from './job-runner.ts';
import type { ExpertJob, GatingJob } from './jobs.ts';

export interface BuildOptions {
  corpusDir: string;
  outDir: string;
  /** The index configuration, given the collection's size (defaults are sized from it). */
  configFor: (documents: number) => Readonly<IndexConfig>;
  log: Logger;
  progress: Progress;
  /** Models trained at once, each in its own process. */
  parallel: number;
  /** Environment of the training processes. */
  childEnv: NodeJS.ProcessEnv;
}

export interface ShardReport {
  id: string;
  topics: number[];
  docs: number;
  collision_rate: number;
  'index_recall@1': number;
  /** Hits@10 over the report split's queries whose relevant document is in this shard; null without that split. */
  'hits@10': number | null;
  report_split: string | null;
  report_queries: number;
  training: { examples: number; seconds: number; examples_per_s: number; losses: number[] };
  built_at: string;
}

export interface BuildResult {
  manifest: Manifest;
  reports: ShardReport[];
  seconds: number;
  /** Peak resident memory of the largest process of the build (the builder or a training process). */
  peakRssBytes: number;
}

/**
 * dsi index: collection → semantic DocIDs → gating model + one expert per shard → a
 * sealed artifact. Everything is staged beside the output and swapped in at the end.
 */
export async function buildIndex(options: BuildOptions): Promise<BuildResult> {
  const { log, progress } = options;
  const started = performance.now();
  const phase = (name: string, since: number) => log.info({ phase: name, seconds: +((performance.now() - since) / 1000).toFixed(1) }, `${name} done`);

  let t = performance.now();
  const { docs } = await loadCorpus(options.corpusDir);
  if (docs.length === 0) throw new BadInputError(`${options.corpusDir}: the corpus has no documents`);
  const config = options.configFor(docs.length);
  const trainPairs = await loadTrainingPairs(options.corpusDir, config.trainSplit, docs);
  const tokenized = docs.map((d) => tokenizeDoc(d, config.featurizer.maxTokens));
  log.info({ documents: docs.length, training_queries: trainPairs.length }, 'collection loaded');
  phase('load', t);

  t = performance.now();
  const everything: TrainingCorpus = { docs: tokenized, queries: trainPairs };
  const globalVocabulary = buildVocabulary(everything, config);
  const paths = semanticDocIds(tokenized, globalVocabulary, config);
  const topicCount = paths.reduce((m, p) => Math.max(m, p[0]! + 1), 0);
  const topicSizes = new Array<number>(topicCount).fill(0);
  for (const p of paths) topicSizes[p[0]!]!++;
  const shardTopics = assignTopicsToShards(topicSizes, config.shards);
  log.info({ topics: topicCount, vocabulary: globalVocabulary.size, levels: paths.reduce((m, p) => Math.max(m, p.length), 0) }, 'semantic DocIDs built');
  phase('docids', t);

  const staging = await stagingDirFor(options.outDir);
  try {
    const { manifest, reports, peakRssBytes } = await trainAndSeal(staging, options.outDir, { config, docs, tokenized, trainPairs, paths, shardTopics, topicCount, everything, globalVocabulary }, options);
    const seconds = (performance.now() - started) / 1000;
    log.info({ seconds: +seconds.toFixed(1), out: options.outDir }, 'index written');
    return { manifest, reports, seconds, peakRssBytes: Math.max(peakRssBytes, process.resourceUsage().maxRSS * 1024) };
  } catch (error) {
    // A failed build leaves the previous index (if any) untouched and no half-written one.
    await rm(staging, { recursive: true, force: true });
    throw error;
  }
}

interface Prepared {
  config: Readonly<IndexConfig>;
  docs: BeirDoc[];
  tokenized: TokenizedDoc[];
  trainPairs: { doc: number; bag: ReturnType<typeof featurize> }[];
  paths: number[][];
  shardTopics: number[][];
  topicCount: number;
  everything: TrainingCorpus;
  globalVocabulary: Vocabulary;
}

/** Trains the gating model and every expert into the staging folder (in parallel processes), then seals it in place of the output. */
async function trainAndSeal(staging: string, outDir: string, prepared: Prepared, options: BuildOptions): Promise<{ manifest: Manifest; reports: ShardReport[]; peakRssBytes: number }> {
  const { config, docs, trainPairs, paths, shardTopics, topicCount, everything, globalVocabulary } = prepared;
  const { log } = options;
  const t = performance.now();
  const { docRows, rowTopics } = gatingPrototypes(paths);
  const gatingJob: GatingJob = {
    kind: 'gating',
    outDir: join(staging, INDEX_LAYOUT.gating),
    config,
    corpus: everything,
    vocabulary: { ids: globalVocabulary.ids, idf: globalVocabulary.idf, documents: globalVocabulary.documents },
    docRows,
    rowTopics,
  };
  const shards = shardTopics.map((topicList, s) => ({ id: `s${s}`, topics: [...topicList].sort((a, b) => a - b) }));
  const expertJobs: ExpertJob[] = shards.map(({ id, topics }, s) => {
    const held = new Set(topics);
    const members = paths.flatMap((p, i) => (held.has(p[0]!) ? [i] : []));
    const localOf = new Map(members.map((g, l) => [g, l]));
    return {
      kind: 'expert',
      outDir: join(staging, shardDirOf(id)),
      config,
      shard: id,
      seed: config.seed * 1000 + s,
      corpus: {
        docs: members.map((g) => prepared.tokenized[g]!),
        queries: trainPairs.flatMap((q) => (localOf.has(q.doc) ? [{ doc: localOf.get(q.doc)!, bag: q.bag }] : [])),
      },
      paths: members.map((g) => paths[g]!),
      docIds: members.map((g) => docs[g]!.id),
    };
  });
  const results = await runJobs([gatingJob, ...expertJobs], { parallel: options.parallel, log, env: options.childEnv });
  log.info({ phase: 'training', seconds: +((performance.now() - t) / 1000).toFixed(1) }, 'training done');

  const entries = shards.map((s, i) => ({ ...s, docs: expertJobs[i]!.docIds.length, dir: shardDirOf(s.id) }));
  const gating = await loadGating(join(staging, INDEX_LAYOUT.gating));
  const experts = new Map<string, LoadedExpert>();
  for (const entry of entries) experts.set(entry.id, await loadExpert(join(staging, entry.dir)));
  const pipeline = new LocalPipeline(config, gating, { shards: entries }, experts);
  try {
    const shardHits = await evaluateShardHits(pipeline, options.corpusDir, config.reportSplit, docs);
    const reports: ShardReport[] = entries.map((entry, i) => {
      const result = results[i + 1]!;
      const hits = shardHits?.byShard.get(entry.id);
      return {
        id: entry.id,
        topics: entry.topics,
        docs: entry.docs,
        collision_rate: result.quality!.collisionRate,
        'index_recall@1': result.quality!.indexRecallAt1,
        'hits@10': hits?.hits10 ?? null,
        report_split: shardHits ? config.reportSplit : null,
        report_queries: hits?.queries ?? 0,
        training: {
          examples: result.training.examples,
          seconds: +result.training.seconds.toFixed(1),
          examples_per_s: Math.round(result.training.examplesPerSecond),
          losses: result.training.losses.map((l) => +l.toFixed(4)),
        },
        built_at: new Date().toISOString(),
      };
    });
    for (const r of reports) await writeFile(join(staging, shardDirOf(r.id), SHARD_FILES.report), JSON.stringify(r, null, 2));
    await writeDocRecords(join(staging, INDEX_LAYOUT.docs), docs, paths);
    const manifest = await commitIndex(staging, outDir, {
      createdAt: new Date().toISOString(),
      config,
      corpus: { documents: docs.length, sha256: corpusDigest(docs) },
      topics: topicCount,
      shards: entries,
    });
    return { manifest, reports, peakRssBytes: Math.max(...results.map((r) => r.peakRssBytes)) };
  } finally {
    pipeline.dispose();
  }
}

/** One gating prototype per second-level DocID prefix (topic · cluster): row of each document, topic of each row. */
function gatingPrototypes(paths: readonly (readonly number[])[]): { docRows: Int32Array; rowTopics: Int32Array } {
  const rowOf = new Map<string, number>();
  const rowTopics: number[] = [];
  const docRows = Int32Array.from(paths, (p) => {
    const key = p.length > 2 ? `${p[0]}-${p[1]}` : `${p[0]}`;
    let row = rowOf.get(key);
    if (row === undefined) {
      row = rowTopics.length;
      rowOf.set(key, row);
      rowTopics.push(p[0]!);
    }
    return row;
  });
  return { docRows, rowTopics: Int32Array.from(rowTopics) };
}

/** Training (query, document) pairs of the split, featurized once; none when the split does not exist. */
async function loadTrainingPairs(dir: string, split: string, docs: readonly BeirDoc[]): Promise<{ doc: number; bag: ReturnType<typeof featurize> }[]> {
  if (!(await listSplits(dir)).includes(split)) return [];
  const docIndex = new Map(docs.map((d, i) => [d.id, i]));
  const queries = await loadQueries(dir);
  const qrels = await loadSplit(dir, split, queries, docIndex);
  const pairs: { doc: number; bag: ReturnType<typeof featurize> }[] = [];
  for (const [queryId, relevant] of qrels) {
    const bag = featurize(queries.get(queryId)!);
    for (const docId of relevant) pairs.push({ doc: docIndex.get(docId)!, bag });
  }
  return pairs;
}

/**
 * DocIDs from the geometry every model starts in: documents embedded by a random
 * projection of their tf·idf vectors (the encoders' initial state), clustered hierarchically.
 */
function semanticDocIds(docs: readonly TokenizedDoc[], vocabulary: Vocabulary, config: Readonly<IndexConfig>): number[][] {
  const dim = config.dim;
  const table = new SparseTable(vocabulary.size, dim).initNormal(mulberry32(config.seed), 1);
  const features = packFeatures(docs.map((doc) => vocabulary.encode(fullView(doc, config.featurizer))));
  const bags = new Float32Array(docs.length * dim);
  table.bag(features.rows, features.weights, features.offsets, bags);
  const vectors = normalizeRows(bags, dim);
  return buildSemanticDocIds(vectors, docs.length, dim, { ...config.docids, seed: config.seed });
}

async function writeDocRecords(path: string, docs: readonly BeirDoc[], paths: readonly (readonly number[])[]): Promise<void> {
  await mkdir(join(path, '..'), { recursive: true });
  const out = createWriteStream(path);
  for (let i = 0; i < docs.length; i++) {
    const d = docs[i]!;
    if (!out.write(`${JSON.stringify({ id: d.id, docid: formatDocId(paths[i]!), title: d.title, text: d.text })}\n`)) await once(out, 'drain');
  }
  out.end();
  await once(out, 'finish');
}

function corpusDigest(docs: readonly BeirDoc[]): string {
  const digest = new StreamDigest();
  for (const d of docs) digest.add(d.id, d.title, d.text);
  return digest.hex();
}
