import { join } from 'node:path';
import { shardDirOf, type DocRecord } from '../../shared/artifact/index-artifact.ts';
import { corpusDigest, IndexWriter } from '../../shared/artifact/index-writer.ts';
import type { ShardData } from '../../shared/artifact/shard-data.ts';
import type { IndexConfig } from '../../shared/config.ts';
import { BadInputError } from '../../shared/errors.ts';
import { formatDocId } from '../../shared/docids/build.ts';
import type { Logger } from '../../shared/log.ts';
import { fullView, tokenizeDoc } from '../../shared/model/views.ts';
import type { Progress } from '../../shared/progress.ts';
import { loadExpert } from '../../shared/model/expert/expert-store.ts';
import { placeDocuments } from '../../shared/model/expert/place-docs.ts';
import type { JobRunner } from '../indexing/job-runner.ts';
import { loadLexicon, saveLexicon } from '../../shared/model/lexical/lexical-store.ts';
import type { QueryHead } from '../../shared/model/lexical/query-head.ts';
import { ShardLexicon } from '../../shared/model/lexical/shard-lexicon.ts';
import type { ContinueJob, ExpertJob } from '../indexing/jobs.ts';
import { featurizePairs } from '../indexing/query-pairs.ts';
import { trainingSummary, type ShardReport } from '../indexing/shard-report.ts';
import { checkAdded } from './added-data.ts';
import { expertChecks, expertHits, roundChecks } from './shard-checks.ts';
import { NO_ADDED, type AddedData, type ShardChecks, type ShardOnDisk } from './types.ts';

/**
 * How far (absolute) a retrained expert may fall below the current one on each check
 * (index_recall@1, Hits@10; collision_rate may rise by as much) and still count as not
 * worse: one point, about the run-to-run spread of these figures between seeds.
 */
export const RETRAIN_TOLERANCE = 0.01;

export type RetrainMode = 'continue' | 'scratch';

export interface RetrainInput {
  config: IndexConfig;
  /** Topic count of the index the shard belongs to (recorded in the output's manifest). */
  topicCount: number;
  shard: ShardOnDisk;
  /** The index's query head: the retrained shard's term sets are scored under its statistics. */
  head: QueryHead;
  added?: AddedData;
  /** Default: 1 to continue, the index's expert epochs from scratch. */
  epochs?: number;
  mode: RetrainMode;
  /** Where the candidate is written: an index holding the retrained shard and its documents. */
  outDir: string;
  seed?: number;
  log: Logger;
  progress: Progress;
  /** Where the candidate trains. */
  runner: JobRunner;
}

/** report.json of a retrained shard: the build's fields (Hits@10 of the expert alone here) plus how it was retrained and checked. */
export interface RetrainReport extends ShardReport {
  retrain: {
    mode: RetrainMode;
    epochs: number;
    added_docs: number;
    current: ShardChecks;
    candidate: ShardChecks;
    'candidate_hits@10_on_current_queries': number | null;
    not_worse: boolean;
    tolerance: number;
  };
}

export interface RetrainResult {
  /** The candidate expert's folder (every SHARD_FILES file) inside outDir. */
  dir: string;
  /** The shard's documents (old and added, with their DocIDs) and queries after retraining. */
  data: ShardData;
  report: RetrainReport;
  /** The current expert over its own documents and held-out queries. */
  current: ShardChecks;
  /** The candidate over every document and held-out query, added ones included. */
  candidate: ShardChecks;
  /** The candidate's Hits@10 over the current expert's held-out queries: what notWorse compares with current's. */
  candidateOnCurrentQueries: { 'hits@10': number | null; queries: number };
  /** Within RETRAIN_TOLERANCE of current on index_recall@1, collision_rate and Hits@10 (the latter over the same queries). */
  notWorse: boolean;
  tolerance: number;
  seconds: number;
}

/**
 * Retrains one shard's expert, optionally with added documents, into a candidate beside
 * the current one, and checks both the same way (expertChecks: the expert alone, free of
 * routing). Added documents get DocIDs inside the shard's existing topics and clusters
 * (placeDocuments), so the gating model and every other DocID stay valid.
 *   continue: from the current weights, grown for the added documents (continueExpert);
 *   scratch:  a fresh expert on everything, as `dsi index` trains one (from the shard's own text tower when the index was built from a pre-trained one).
 * The candidate trains in a process of its own, as a build's models do, and is written
 * with the index writer: outDir becomes an index of the one retrained shard. The caller
 * must have initialised a TensorFlow.js backend (the checks run in this process).
 */
export async function retrainShard(input: RetrainInput): Promise<RetrainResult> {
  const started = performance.now();
  const { config, shard, mode, log } = input;
  const added = input.added ?? NO_ADDED;
  const writer = await IndexWriter.stage(input.outDir);
  try {
    const plan = await planRetrain(input, added, writer.shardDir(shard.id));
    const t = performance.now();
    const [trained] = await input.runner.run([plan.job], input.progress);
    log.info({ shard: shard.id, mode, phase: 'training', seconds: +((performance.now() - t) / 1000).toFixed(1) }, 'candidate expert trained');
    // The shard's lexical half, for its documents after retraining (in the candidate's order), ranked with the fusion every shard shares.
    const { fusion } = await loadLexicon(shard.dir);
    await saveLexicon(writer.shardDir(shard.id), ShardLexicon.fromDocuments(plan.data.docs, input.head), fusion);

    const candidate = await loadExpert(writer.shardDir(shard.id));
    let candidateChecks: ShardChecks;
    let sameQueries: ReturnType<typeof expertHits>;
    try {
      const hits = expertHits(candidate, plan.queries.heldout, config);
      candidateChecks = { 'index_recall@1': trained!.quality!.indexRecallAt1, collision_rate: trained!.quality!.collisionRate, 'hits@10': hits['hits@10'], heldout_queries: hits.queries };
      // Hits@10 is compared over the queries both can answer: the added documents' queries
      // are new ground for the candidate and would otherwise hide (or fake) a loss on the old.
      sameQueries = expertHits(candidate, shard.data.queries.heldout, config);
    } finally {
      candidate.model.dispose();
    }
    const notWorse = isNotWorse(plan.currentChecks, { ...candidateChecks, 'hits@10': sameQueries['hits@10'], heldout_queries: sameQueries.queries }, RETRAIN_TOLERANCE);
    log.info({ shard: shard.id, mode, ...roundChecks(candidateChecks), not_worse: notWorse }, 'candidate expert checked');

    const report: RetrainReport = {
      id: shard.id,
      topics: shard.topics,
      docs: plan.data.docs.length,
      collision_rate: candidateChecks.collision_rate,
      'index_recall@1': candidateChecks['index_recall@1'],
      'hits@10': candidateChecks['hits@10'],
      report_split: config.reportSplit,
      report_queries: candidateChecks.heldout_queries,
      training: trainingSummary(trained!.training),
      built_at: new Date().toISOString(),
      retrain: {
        mode,
        epochs: plan.epochs,
        added_docs: added.docs.length,
        current: roundChecks(plan.currentChecks),
        candidate: roundChecks(candidateChecks),
        'candidate_hits@10_on_current_queries': sameQueries['hits@10'],
        not_worse: notWorse,
        tolerance: RETRAIN_TOLERANCE,
      },
    };
    await writer.writeShard(shard.id, { report, queries: plan.queries });
    await writer.writeDocuments(plan.data.docs);
    await writer.seal({
      createdAt: new Date().toISOString(),
      config,
      corpus: { documents: plan.data.docs.length, sha256: corpusDigest(plan.data.docs) },
      topics: input.topicCount,
      shards: [{ id: shard.id, topics: shard.topics, docs: plan.data.docs.length, dir: shardDirOf(shard.id) }],
    });
    const seconds = (performance.now() - started) / 1000;
    log.info({ shard: shard.id, mode, seconds: +seconds.toFixed(1), out: input.outDir }, 'shard retrained');
    const dir = join(input.outDir, shardDirOf(shard.id));
    return { dir, data: plan.data, report, current: plan.currentChecks, candidate: candidateChecks, candidateOnCurrentQueries: sameQueries, notWorse, tolerance: RETRAIN_TOLERANCE, seconds };
  } catch (error) {
    await writer.discard();
    throw error;
  }
}

/**
 * Everything the candidate's training job needs, from the current expert: its checks (the
 * yardstick), DocIDs for the added documents, and the shard's documents and queries after
 * retraining. The current expert is freed before the candidate trains.
 */
async function planRetrain(input: RetrainInput, added: AddedData, outDir: string) {
  const { config, shard, mode } = input;
  const current = await loadExpert(shard.dir);
  try {
    const byId = new Map(shard.data.docs.map((d) => [d.id, d]));
    const heldIds = new Set(current.docIds);
    checkAdded(added, heldIds, `retraining shard ${shard.id}`, heldIds);
    const oldDocs = current.docIds.map((id) => byId.get(id) ?? missingDoc(shard.id, id));
    const currentChecks = expertChecks(current, oldDocs, shard.data.queries.heldout, config);
    input.log.info({ shard: shard.id, ...roundChecks(currentChecks) }, 'current expert checked');

    const tokenize = (d: { title: string; text: string }) => tokenizeDoc(d, config.featurizer.maxTokens);
    const tokenizedOld = oldDocs.map(tokenize);
    const tokenizedAdded = added.docs.map(tokenize);
    const vocabulary = current.model.encoder.vocabulary;
    const addedPaths = placeDocuments(current.model, tokenizedAdded.map((d) => vocabulary.encode(fullView(d, config.featurizer))), config.decode.beamWidth);
    const oldPaths = current.model.trie.toJSON().paths;
    const docIds = [...current.docIds, ...added.docs.map((d) => d.id)];
    const docIndex = new Map(docIds.map((id, i) => [id, i]));
    const queries = { train: [...shard.data.queries.train, ...added.queries.train], heldout: [...shard.data.queries.heldout, ...added.queries.heldout] };
    const trainPairs = featurizePairs(queries.train, docIndex);
    const seed = input.seed ?? config.seed * 1000 + 500;
    const epochs = input.epochs ?? (mode === 'continue' ? 1 : config.expert.epochs);
    const oldCount = oldDocs.length;
    const job: ExpertJob | ContinueJob =
      mode === 'continue'
        ? {
            kind: 'continue',
            outDir,
            config,
            shard: shard.id,
            seed,
            epochs,
            expertDir: shard.dir,
            input: {
              oldDocs: tokenizedOld,
              oldQueries: trainPairs.filter((q) => q.doc < oldCount),
              addedDocs: tokenizedAdded,
              addedPaths,
              addedQueries: trainPairs.filter((q) => q.doc >= oldCount).map((q) => ({ doc: q.doc - oldCount, bag: q.bag })),
            },
            docIds,
          }
        : {
            kind: 'expert',
            outDir,
            config: { ...config, expert: { ...config.expert, epochs } },
            shard: shard.id,
            seed,
            corpus: { docs: [...tokenizedOld, ...tokenizedAdded], queries: trainPairs },
            paths: [...oldPaths, ...addedPaths],
            docIds,
            // Fresh node rows; the text tower restarts where the build started it (the index's
            // pre-trained tower, carried on by this expert), not from a random projection.
            ...(config.encoder.epochs > 0 ? { startExpert: shard.dir } : {}),
          };
    const addedRecords = added.docs.map((d, i): DocRecord => ({ id: d.id, docid: formatDocId(addedPaths[i]!), title: d.title, text: d.text }));
    const data: ShardData = { docs: [...oldDocs.map(asRecord), ...addedRecords], queries };
    return { job, currentChecks, queries, data, epochs };
  } finally {
    current.model.dispose();
  }
}

/** Candidate within `tolerance` of the current expert on every check (Hits@10 only when both were measured). */
export function isNotWorse(current: ShardChecks, candidate: ShardChecks, tolerance: number): boolean {
  const hitsHeld = current['hits@10'] === null || candidate['hits@10'] === null || candidate['hits@10'] >= current['hits@10'] - tolerance;
  return candidate['index_recall@1'] >= current['index_recall@1'] - tolerance && candidate.collision_rate <= current.collision_rate + tolerance && hitsHeld;
}

function asRecord(d: DocRecord): DocRecord {
  return { id: d.id, docid: d.docid, title: d.title, text: d.text };
}

function missingDoc(shard: string, id: string): never {
  throw new BadInputError(`shard ${shard}: its data lacks document ${id}, which its expert holds (is the shard data from another index?)`);
}
