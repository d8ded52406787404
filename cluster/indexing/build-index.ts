import { loadCorpus, type BeirDoc } from '../../shared/beir/reader.ts';
import { shardDirOf } from '../../shared/artifact/index-artifact.ts';
import { corpusDigest, IndexWriter } from '../../shared/artifact/index-writer.ts';
import type { Manifest } from '../../shared/artifact/manifest.ts';
import type { IndexConfig } from '../../shared/config.ts';
import type { QueryPair } from '../../shared/artifact/shard-data.ts';
import { assignTopicsToShards, formatDocId } from '../../shared/docids/build.ts';
import { loadRoutingModels } from '../../shared/model/gating/gating-store.ts';
import { FUSION_FEATURES, lexicalOnlyFusion } from '../../shared/model/fusion/fusion.ts';
import { saveFusion, saveHead, saveLexicon } from '../../shared/model/lexical/lexical-store.ts';
import { ShardLexicon } from '../../shared/model/lexical/shard-lexicon.ts';
import { QueryHead } from '../../shared/model/lexical/query-head.ts';
import { TopicTerms } from '../../shared/model/lexical/topic-terms.ts';
import { defaultGenerator } from '../../shared/model/synthetic/query-generator.ts';
import { splitCalibration, syntheticCalibration, type CalibrationQuery } from './calibration.ts';
import { fitIndexFusion } from './fit-index-fusion.ts';
import { buildLexicalHalf, teacherNegatives, type LexicalHalf } from './lexical-half.ts';
import { syntheticQueries } from './synthetic-queries.ts';
import type { TrainReport } from '../../shared/model/trainer.ts';
import type { TrainingCorpus, TrainingQuery } from '../../shared/model/examples.ts';
import { tokenizeDoc, type TokenizedDoc } from '../../shared/model/views.ts';
import type { Logger } from '../../shared/log.ts';
import type { Progress } from '../../shared/progress.ts';
import type { Vocabulary } from '../../shared/text/vocabulary.ts';
import { BadInputError } from '../../shared/errors.ts';
import { loadExpert, type LoadedExpert } from '../../shared/model/expert/expert-store.ts';
import { buildVocabulary } from '../../shared/model/tower/vocabulary.ts';
import { LocalIndex } from '../local-index.ts';
import { evaluateShardHits } from '../eval/shard-hits.ts';
import type { JobRunner } from './job-runner.ts';
import type { ExpertJob } from './jobs.ts';
import { featurizePairs, loadQueryPairs } from './query-pairs.ts';
import { gatingJobFor } from './semantic-ids.ts';
import { stageTowerAndDocIds } from './staged-tower.ts';
import { shardReportOf, type ShardReport } from './shard-report.ts';

export type { ShardReport } from './shard-report.ts';

export interface BuildOptions {
  corpusDir: string;
  outDir: string;
  /** The index configuration, given the collection's size (defaults are sized from it). */
  configFor: (documents: number) => Readonly<IndexConfig>;
  log: Logger;
  progress: Progress;
  /** Where the models train (local processes, or dsi workers through a queue). */
  runner: JobRunner;
}

export interface BuildResult {
  manifest: Manifest;
  reports: ShardReport[];
  seconds: number;
  /** Peak resident memory of the largest process of the build (the builder or a training process). */
  peakRssBytes: number;
  /** The text tower's pre-training, when the config asks for it. */
  tower?: TrainReport;
}

/**
 * dsi index: collection → semantic DocIDs → gating model + one expert per shard → a
 * sealed artifact. Everything is staged beside the output and swapped in at the end; an
 * output that is not an index (someone's files) is refused before anything is done.
 */
export async function buildIndex(options: BuildOptions): Promise<BuildResult> {
  const { log, progress } = options;
  const started = performance.now();
  const phase = (name: string, since: number) => log.info({ phase: name, seconds: +((performance.now() - since) / 1000).toFixed(1) }, `${name} done`);

  const writer = await IndexWriter.stage(options.outDir);
  try {
    const t = performance.now();
    const { docs } = await loadCorpus(options.corpusDir);
    if (docs.length === 0) throw new BadInputError(`${options.corpusDir}: the corpus has no documents`);
    const config = options.configFor(docs.length);
    const docIndex = new Map(docs.map((d, i) => [d.id, i]));
    const { train, calibration } = splitCalibration(await loadQueryPairs(options.corpusDir, config.trainSplit, docIndex), config);
    const queryPairs = { train, heldout: await loadQueryPairs(options.corpusDir, config.reportSplit, docIndex) };
    const tokenized = docs.map((d) => tokenizeDoc(d, config.featurizer.maxTokens));
    log.info({ documents: docs.length, training_queries: queryPairs.train.length, calibration_queries: calibration.length }, 'collection loaded');
    phase('load', t);

    const tl = performance.now();
    const lexical = buildLexicalHalf(docs, docIndex, queryPairs.train, config);
    log.info({ terms: lexical.collection.terms.length, postings: lexical.collection.postings, translations: lexical.training.translations, losses: lexical.training.losses.map((l) => +l.toFixed(3)) }, 'lexical half built');
    phase('lexical half', tl);
    // Without training queries to set aside, the fusion is fit on synthetic queries of random
    // documents, which then get no synthetic training query: the fit must see them as a
    // user's query sees a document, never queried.
    const calibrationQueries = calibration.length > 0 ? calibration : syntheticCalibration(docs, lexical.head.stats, defaultGenerator(), config.calibration.queries, config.seed);
    const unqueried = calibration.length > 0 ? new Set<string>() : new Set(calibrationQueries.flatMap((q) => [...q.relevant]));
    const synthetic = syntheticQueries(docs, queryPairs.train, docIndex, lexical, config, unqueried);
    if (synthetic.report.generated > 0) log.info({ ...synthetic.report, seconds: +synthetic.report.seconds.toFixed(1) }, 'synthetic queries written');
    const trainingPairs = [...queryPairs.train, ...synthetic.pairs];
    const negatives = teacherNegatives(lexical, trainingPairs.map((p) => ({ query: p.query, doc: docIndex.get(p.doc)! })), config.expert.negatives);
    const trainPairs = featurizePairs(trainingPairs, docIndex, negatives);

    const everything: TrainingCorpus = { docs: tokenized, queries: trainPairs };
    const globalVocabulary = buildVocabulary(everything, config);
    const { tower, paths } = await stageTowerAndDocIds({ corpus: everything, vocabulary: globalVocabulary, config, writer, progress, docs: tokenized, topics: config.docids.topics, phase });
    const topicCount = paths.reduce((m, p) => Math.max(m, p[0]! + 1), 0);
    const topicSizes = new Array<number>(topicCount).fill(0);
    for (const p of paths) topicSizes[p[0]!]!++;
    const shardTopics = assignTopicsToShards(topicSizes, config.shards);
    log.info({ topics: topicCount, vocabulary: globalVocabulary.size, levels: paths.reduce((m, p) => Math.max(m, p.length), 0) }, 'semantic DocIDs built');

    const prepared = { config, docs, tokenized, trainPairs, queryPairs, paths, shardTopics, topicCount, everything, globalVocabulary, lexical, calibrationQueries, ...(tower ? { startTower: tower.dir } : {}) };
    const { manifest, reports, peakRssBytes } = await trainAndSeal(writer, prepared, options);
    const seconds = (performance.now() - started) / 1000;
    log.info({ seconds: +seconds.toFixed(1), out: options.outDir }, 'index written');
    return { manifest, reports, seconds, peakRssBytes: Math.max(peakRssBytes, process.resourceUsage().maxRSS * 1024), ...(tower ? { tower: tower.training } : {}) };
  } catch (error) {
    // A failed build leaves the previous index (if any) untouched and no half-written one.
    await writer.discard();
    throw error;
  }
}

interface Prepared {
  config: Readonly<IndexConfig>;
  docs: BeirDoc[];
  tokenized: TokenizedDoc[];
  trainPairs: TrainingQuery[];
  /** The same training pairs as text, and the report split's: what each shard keeps in queries.json. */
  queryPairs: { train: QueryPair[]; heldout: QueryPair[] };
  paths: number[][];
  shardTopics: number[][];
  topicCount: number;
  everything: TrainingCorpus;
  globalVocabulary: Vocabulary;
  lexical: LexicalHalf;
  /** Queries the fusion is fit on: set aside from training, or synthetic. */
  calibrationQueries: CalibrationQuery[];
  /** Folder of the pre-trained text tower every model starts from, if any. */
  startTower?: string;
}

/** Trains the gating model and every expert into the stage (in parallel, with the build's runner), then seals it in place of the output. */
async function trainAndSeal(writer: IndexWriter, prepared: Prepared, options: BuildOptions): Promise<{ manifest: Manifest; reports: ShardReport[]; peakRssBytes: number }> {
  const { config, docs, trainPairs, paths, shardTopics, topicCount, everything, globalVocabulary } = prepared;
  const { log } = options;
  const t = performance.now();
  const gatingJob = gatingJobFor(writer.gatingDir, config, everything, globalVocabulary, paths, prepared.startTower);
  const shards = shardTopics.map((topicList, s) => ({ id: `s${s}`, topics: [...topicList].sort((a, b) => a - b) }));
  const membersOf = shards.map(({ topics }) => {
    const held = new Set(topics);
    return paths.flatMap((p, i) => (held.has(p[0]!) ? [i] : []));
  });
  const expertJobs: ExpertJob[] = shards.map(({ id }, s) => {
    const members = membersOf[s]!;
    const localOf = new Map(members.map((g, l) => [g, l]));
    return {
      kind: 'expert',
      outDir: writer.shardDir(id),
      config,
      shard: id,
      seed: config.seed * 1000 + s,
      corpus: {
        docs: members.map((g) => prepared.tokenized[g]!),
        queries: trainPairs.flatMap((q) => (localOf.has(q.doc) ? [localQuery(q, localOf)] : [])),
      },
      paths: members.map((g) => paths[g]!),
      docIds: members.map((g) => docs[g]!.id),
      ...(prepared.startTower ? { startTower: prepared.startTower } : {}),
    };
  });
  const results = await options.runner.run([gatingJob, ...expertJobs], options.progress);
  log.info({ phase: 'training', seconds: +((performance.now() - t) / 1000).toFixed(1) }, 'training done');

  const entries = shards.map((s, i) => ({ ...s, docs: expertJobs[i]!.docIds.length, dir: shardDirOf(s.id) }));
  const { collection } = prepared.lexical;
  const head = new QueryHead(prepared.lexical.head.stats, prepared.lexical.head.learnt, TopicTerms.build(collection, paths.map((p) => p[0]!)));
  await saveHead(writer.gatingDir, head);
  for (const [i, entry] of entries.entries()) await saveLexicon(writer.shardDir(entry.id), ShardLexicon.of(collection, membersOf[i]!, head), lexicalOnlyFusion());
  const routing = await loadRoutingModels(writer.gatingDir);
  const experts = new Map<string, LoadedExpert>();
  for (const entry of entries) experts.set(entry.id, await loadExpert(writer.shardDir(entry.id)));
  const index = new LocalIndex(config, routing, { shards: entries }, experts);
  try {
    const tf = performance.now();
    const { fusion, groups } = fitIndexFusion(index, prepared.calibrationQueries);
    for (const entry of entries) {
      await saveFusion(writer.shardDir(entry.id), fusion);
      experts.set(entry.id, { ...experts.get(entry.id)!, fusion });
    }
    log.info({ queries: groups, weights: Object.fromEntries(FUSION_FEATURES.map((f, i) => [f, +fusion.weights[i]!.toFixed(4)])), seconds: +((performance.now() - tf) / 1000).toFixed(1) }, 'fusion fit');
    const shardHits = await evaluateShardHits(index, options.corpusDir, config.reportSplit, docs);
    const reports: ShardReport[] = entries.map((entry, i) => {
      const hits = shardHits?.byShard.get(entry.id);
      return shardReportOf(entry, results[i + 1]!, { split: shardHits ? config.reportSplit : null, queries: hits?.queries ?? 0, hits10: hits?.hits10 ?? null });
    });
    for (const [i, report] of reports.entries()) await writer.writeShard(report.id, { report, queries: queriesOf(expertJobs[i]!, prepared.queryPairs) });
    await writer.writeDocuments(docs.map((d, i) => ({ id: d.id, docid: formatDocId(paths[i]!), title: d.title, text: d.text })));
    const manifest = await writer.seal({
      createdAt: new Date().toISOString(),
      config,
      corpus: { documents: docs.length, sha256: corpusDigest(docs) },
      topics: topicCount,
      shards: entries,
    });
    return { manifest, reports, peakRssBytes: Math.max(...results.map((r) => r.peakRssBytes)) };
  } finally {
    index.dispose();
  }
}

/** A training query of the collection as one shard's: its document and its hard negatives in the shard's numbering (negatives elsewhere dropped). */
function localQuery(q: TrainingQuery, localOf: ReadonlyMap<number, number>): TrainingQuery {
  const doc = localOf.get(q.doc)!;
  if (!q.negatives) return { doc, bag: q.bag };
  const negatives = Int32Array.from(Array.from(q.negatives).flatMap((n) => (localOf.has(n) ? [localOf.get(n)!] : [])));
  return negatives.length > 0 ? { doc, bag: q.bag, negatives } : { doc, bag: q.bag };
}

/** A shard's queries.json: the training and report-split pairs whose document it holds. */
function queriesOf(job: ExpertJob, pairs: Prepared['queryPairs']) {
  const held = new Set(job.docIds);
  const mine = (list: readonly QueryPair[]) => list.filter((p) => held.has(p.doc));
  return { train: mine(pairs.train), heldout: mine(pairs.heldout) };
}
