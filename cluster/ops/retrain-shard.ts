import { rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { replaceDir, stagingDirFor, type DocRecord } from '../../shared/artifact/index-artifact.ts';
import { writeShardQueries, type ShardData } from '../../shared/artifact/shard-data.ts';
import type { IndexConfig } from '../../shared/config.ts';
import { BadInputError } from '../../shared/errors.ts';
import { formatDocId } from '../../shared/docids/build.ts';
import type { Logger } from '../../shared/log.ts';
import { fullView, tokenizeDoc } from '../../shared/model/views.ts';
import type { TrainReport } from '../../shared/model/trainer.ts';
import type { Progress } from '../../shared/progress.ts';
import { loadExpert, saveExpert, SHARD_FILES, type LoadedExpert } from '../../shared/model/expert/expert-store.ts';
import type { ExpertModel } from '../../shared/model/expert/expert-model.ts';
import { trainExpert } from '../../shared/model/expert/train-expert.ts';
import { featurizePairs } from '../indexing/query-pairs.ts';
import { trainingSummary, type ShardReport } from '../indexing/shard-report.ts';
import { checkAdded } from './added-data.ts';
import { continueExpert } from '../../shared/model/expert/continue-expert.ts';
import { placeDocuments } from '../../shared/model/expert/place-docs.ts';
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
  shard: ShardOnDisk;
  added?: AddedData;
  /** Default: 1 to continue, the index's expert epochs from scratch. */
  epochs?: number;
  mode: RetrainMode;
  outDir: string;
  seed?: number;
  log: Logger;
  progress: Progress;
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
  /** outDir: the candidate expert, every SHARD_FILES file. */
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
 *   scratch:  a fresh expert on everything, as `dsi index` trains one (from the index's pre-trained text tower when it has one).
 * The candidate is staged beside `outDir` and renamed into place at the end. Runs in this
 * process; the caller must have initialised a TensorFlow.js backend.
 */
export async function retrainShard(input: RetrainInput): Promise<RetrainResult> {
  const started = performance.now();
  const { config, shard, mode, log } = input;
  const added = input.added ?? NO_ADDED;
  const current = await loadExpert(shard.dir);
  let candidate: ExpertModel | undefined;
  try {
    const byId = new Map(shard.data.docs.map((d) => [d.id, d]));
    const heldIds = new Set(current.docIds);
    checkAdded(added, heldIds, `retraining shard ${shard.id}`, heldIds);
    const oldDocs = current.docIds.map((id) => byId.get(id) ?? missingDoc(shard.id, id));
    const currentChecks = expertChecks(current, oldDocs, shard.data.queries.heldout, config);
    log.info({ shard: shard.id, ...roundChecks(currentChecks) }, 'current expert checked');

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
    const label = `shard ${shard.id}`;

    let training: TrainReport;
    if (mode === 'continue') {
      const oldCount = oldDocs.length;
      const result = await continueExpert(
        current.model,
        {
          oldDocs: tokenizedOld,
          oldQueries: trainPairs.filter((q) => q.doc < oldCount),
          addedDocs: tokenizedAdded,
          addedPaths,
          addedQueries: trainPairs.filter((q) => q.doc >= oldCount).map((q) => ({ doc: q.doc - oldCount, bag: q.bag })),
        },
        config,
        epochs,
        seed,
        label,
        input.progress,
      );
      candidate = result.model;
      training = result.training;
    } else {
      const trained = await trainExpert(
        { shard: shard.id, corpus: { docs: [...tokenizedOld, ...tokenizedAdded], queries: trainPairs }, paths: [...oldPaths, ...addedPaths] },
        { ...config, expert: { ...config.expert, epochs } },
        seed,
        input.progress,
        // Fresh node rows; the text tower restarts where the build started it (the index's
        // pre-trained tower, carried on by this expert), not from a random projection.
        config.encoder.epochs > 0 ? current.model.encoder : undefined,
      );
      candidate = trained.model;
      training = trained.training;
    }

    const allDocs = [...oldDocs, ...added.docs];
    const loaded: LoadedExpert = { shard: shard.id, model: candidate, docIds };
    const candidateChecks = expertChecks(loaded, allDocs, queries.heldout, config);
    // Hits@10 is compared over the queries both can answer: the added documents' queries
    // are new ground for the candidate and would otherwise hide (or fake) a loss on the old.
    const sameQueries = expertHits(loaded, shard.data.queries.heldout, config);
    const notWorse = isNotWorse(currentChecks, { ...candidateChecks, 'hits@10': sameQueries['hits@10'], heldout_queries: sameQueries.queries }, RETRAIN_TOLERANCE);
    log.info({ shard: shard.id, mode, ...roundChecks(candidateChecks), not_worse: notWorse }, 'candidate expert checked');

    const addedRecords = added.docs.map((d, i): DocRecord => ({ id: d.id, docid: formatDocId(addedPaths[i]!), title: d.title, text: d.text }));
    const data: ShardData = { docs: [...oldDocs.map(asRecord), ...addedRecords], queries };
    const report: RetrainReport = {
      id: shard.id,
      topics: shard.topics,
      docs: docIds.length,
      collision_rate: candidateChecks.collision_rate,
      'index_recall@1': candidateChecks['index_recall@1'],
      'hits@10': candidateChecks['hits@10'],
      report_split: config.reportSplit,
      report_queries: candidateChecks.heldout_queries,
      training: trainingSummary(training),
      built_at: new Date().toISOString(),
      retrain: {
        mode,
        epochs,
        added_docs: added.docs.length,
        current: roundChecks(currentChecks),
        candidate: roundChecks(candidateChecks),
        'candidate_hits@10_on_current_queries': sameQueries['hits@10'],
        not_worse: notWorse,
        tolerance: RETRAIN_TOLERANCE,
      },
    };

    const staging = await stagingDirFor(input.outDir);
    try {
      await saveExpert(staging, loaded);
      await writeFile(join(staging, SHARD_FILES.report), JSON.stringify(report, null, 2));
      await writeShardQueries(staging, queries);
      await replaceDir(staging, input.outDir);
    } catch (error) {
      await rm(staging, { recursive: true, force: true });
      throw error;
    }
    const seconds = (performance.now() - started) / 1000;
    log.info({ shard: shard.id, mode, seconds: +seconds.toFixed(1), out: input.outDir }, 'shard retrained');
    return { dir: input.outDir, data, report, current: currentChecks, candidate: candidateChecks, candidateOnCurrentQueries: sameQueries, notWorse, tolerance: RETRAIN_TOLERANCE, seconds };
  } finally {
    current.model.dispose();
    candidate?.dispose();
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
