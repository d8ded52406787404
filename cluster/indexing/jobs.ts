import type { IndexConfig } from '../../shared/config.ts';
import type { TrainingCorpus } from '../../shared/model/examples.ts';
import type { EncoderWeights } from '../../shared/model/tower/encoder.ts';
import { loadTower } from '../../shared/model/tower/encoder-store.ts';
import { loadGatingPrototypes, saveGating } from '../../shared/model/gating/gating-store.ts';
import { growGating } from '../../shared/model/gating/grow-gating.ts';
import type { GatingModel } from '../../shared/model/gating/gating-model.ts';
import { trainGating } from '../../shared/model/gating/train-gating.ts';
import type { TrainReport } from '../../shared/model/trainer.ts';
import type { Progress } from '../../shared/progress.ts';
import { Vocabulary } from '../../shared/text/vocabulary.ts';
import { BadInputError } from '../../shared/errors.ts';
import { continueExpert, type ContinueInput } from '../../shared/model/expert/continue-expert.ts';
import { loadExpert, saveExpert } from '../../shared/model/expert/expert-store.ts';
import { measureIndexQuality, type IndexQuality } from '../../shared/model/expert/quality.ts';
import { trainExpert, type TrainedExpert } from '../../shared/model/expert/train-expert.ts';

/**
 * The units of work that train a model: the gating model and one per shard for a build or
 * a new shard, and a shard's expert continued from its weights for a retrain. Each is
 * self-contained (plain data in, a model folder out) so that it runs in its own process,
 * in parallel with the others, and so one shard can be trained alone.
 */
export type BuildJob = GatingJob | GrowGatingJob | ExpertJob | ContinueJob;

export interface GatingJob {
  kind: 'gating';
  outDir: string;
  config: IndexConfig;
  corpus: TrainingCorpus;
  vocabulary: { ids: Uint32Array; idf: Float32Array; documents: number };
  /** Gating prototype row of each document, and the topic of each row. */
  docRows: Int32Array;
  rowTopics: Int32Array;
  /** Folder of the pre-trained text tower the model starts from (saveTower), if any. */
  startTower?: string;
}

/** The gating model grown for an added shard's topics (growGating): its cost follows the added documents. */
export interface GrowGatingJob {
  kind: 'grow-gating';
  outDir: string;
  config: IndexConfig;
  /** Folder of the gating model to grow (saveGating). */
  gatingDir: string;
  /** Folder of its text tower grown with the added documents' features (saveTower). */
  startTower: string;
  /** The added documents and their training queries, and each document's DocID. */
  corpus: TrainingCorpus;
  paths: number[][];
  /** A sample of the documents already indexed (with queries pointing at them) and each one's topic. */
  replay: TrainingCorpus;
  replayTopics: Int32Array;
}

/** A fresh expert for a shard (a build, a new shard, or a retrain from scratch). */
export interface ExpertJob {
  kind: 'expert';
  outDir: string;
  config: IndexConfig;
  shard: string;
  seed: number;
  corpus: TrainingCorpus;
  paths: number[][];
  docIds: string[];
  /** Folder of the pre-trained text tower the model starts from (saveTower), if any. */
  startTower?: string;
  /** Folder of an expert whose text tower the model starts from instead (a retrain from scratch carries the shard's tower on). */
  startExpert?: string;
}

/** A shard's expert trained on from its current weights, grown for added documents (continueExpert). */
export interface ContinueJob {
  kind: 'continue';
  outDir: string;
  config: IndexConfig;
  shard: string;
  seed: number;
  epochs: number;
  /** Folder of the expert to continue from. */
  expertDir: string;
  input: ContinueInput;
  /** Corpus ids of the grown expert's documents: the old ones, then the added ones. */
  docIds: string[];
}

/**
 * The fields of a job that name a folder it reads, each a path on the machine that planned
 * the job. A job trained on another machine (a dsi worker) gets a copy of each folder, and
 * its `outDir` (the folder it writes) is copied back into place: a new folder-valued field
 * of a job must be listed here. Every other field travels as it is, typed arrays included.
 */
export const JOB_INPUT_FOLDERS = ['startTower', 'startExpert', 'expertDir', 'gatingDir'] as const satisfies readonly (keyof GatingJob | keyof GrowGatingJob | keyof ExpertJob | keyof ContinueJob)[];

export interface JobResult {
  kind: BuildJob['kind'];
  label: string;
  training: TrainReport;
  /** An expert's memorisation, measured on the documents it was trained on. */
  quality?: IndexQuality;
  /** Peak resident memory of the process that ran the job. */
  peakRssBytes: number;
}

export function jobLabel(job: BuildJob): string {
  return job.kind === 'gating' || job.kind === 'grow-gating' ? 'gating' : `shard ${job.shard}`;
}

/** Examples a job trains on per epoch, roughly: the runner starts the largest first. */
export function jobSize(job: BuildJob): number {
  if (job.kind === 'grow-gating') return job.corpus.docs.length + job.corpus.queries.length + job.replay.docs.length + job.replay.queries.length;
  if (job.kind !== 'continue') return job.corpus.docs.length + job.corpus.queries.length;
  const { oldDocs, oldQueries, addedDocs, addedQueries } = job.input;
  return oldDocs.length + oldQueries.length + addedDocs.length + addedQueries.length;
}

export async function runJob(job: BuildJob, progress: Progress): Promise<JobResult> {
  switch (job.kind) {
    case 'gating':
      return withStartTower(job, async (start) => {
        const vocabulary = new Vocabulary(job.vocabulary.ids, job.vocabulary.idf, job.vocabulary.documents);
        const { model, training } = await trainGating(job.corpus, vocabulary, job.docRows, job.rowTopics, job.config, progress, start);
        await saveGating(job.outDir, model);
        model.dispose();
        return result(job, training);
      });
    case 'grow-gating': {
      // The current model's prototype rows alone: the grown tower (startTower) holds its tower's rows already.
      const current = await loadGatingPrototypes(job.gatingDir);
      const encoder = await loadTower(job.startTower);
      let grown: GatingModel | undefined;
      try {
        const input = { current, encoder, added: job.corpus, addedPaths: job.paths, replay: job.replay, replayTopics: job.replayTopics };
        const { model, training } = await growGating(input, job.config, progress);
        grown = model;
        await saveGating(job.outDir, model);
        return result(job, training);
      } finally {
        // The grown model holds the grown tower (its dispose frees the tower's mix too).
        if (grown) grown.dispose();
        else encoder.mix.dispose();
      }
    }
    case 'expert':
      return withStartTower(job, async (start) => saveMeasured(job, await trainExpert({ shard: job.shard, corpus: job.corpus, paths: job.paths }, job.config, job.seed, progress, start)));
    case 'continue': {
      const current = await loadExpert(job.expertDir);
      try {
        return await saveMeasured(job, await continueExpert(current.model, job.input, job.config, job.epochs, job.seed, jobLabel(job), progress));
      } finally {
        current.model.dispose();
      }
    }
    default:
      // A job of a kind this code does not know: sent by a newer build to an older worker.
      throw new BadInputError(`unknown job kind '${(job as { kind: unknown }).kind}': this trainer is older than what sent the job`);
  }
}

/** Runs `train` with the text tower the job starts from (loaded here, freed after), if any. */
async function withStartTower(job: GatingJob | ExpertJob, train: (start: EncoderWeights | undefined) => Promise<JobResult>): Promise<JobResult> {
  if (job.startTower) {
    const tower = await loadTower(job.startTower);
    try {
      return await train(tower);
    } finally {
      tower.mix.dispose();
    }
  }
  if (job.kind === 'expert' && job.startExpert) {
    const expert = await loadExpert(job.startExpert);
    try {
      return await train(expert.model.encoder);
    } finally {
      expert.model.dispose();
    }
  }
  return train(undefined);
}

/** Measures a trained expert's memorisation, saves it into the job's folder and frees it. */
async function saveMeasured(job: ExpertJob | ContinueJob, trained: TrainedExpert): Promise<JobResult> {
  try {
    const quality = measureIndexQuality(trained.model, trained.docFeatures, job.config.decode.beamWidth);
    await saveExpert(job.outDir, { shard: job.shard, model: trained.model, docIds: job.docIds });
    return { ...result(job, trained.training), quality };
  } finally {
    trained.model.dispose();
  }
}

function result(job: BuildJob, training: TrainReport): JobResult {
  return { kind: job.kind, label: jobLabel(job), training, peakRssBytes: process.resourceUsage().maxRSS * 1024 };
}
