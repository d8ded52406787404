import { join } from 'node:path';
import type { IndexConfig } from '../../shared/config.ts';
import type { TrainingCorpus } from '../../shared/model/examples.ts';
import type { EncoderWeights } from '../../shared/model/tower/encoder.ts';
import { loadTower } from '../../shared/model/tower/encoder-store.ts';
import { saveGating } from '../../shared/model/gating/gating-store.ts';
import { trainGating } from '../../shared/model/gating/train-gating.ts';
import type { TrainReport } from '../../shared/model/trainer.ts';
import type { Progress } from '../../shared/progress.ts';
import { Vocabulary } from '../../shared/text/vocabulary.ts';
import { saveExpert } from '../../shared/model/expert/expert-store.ts';
import { measureIndexQuality, type IndexQuality } from '../../shared/model/expert/quality.ts';
import { trainExpert } from '../../shared/model/expert/train-expert.ts';

/**
 * The units of an index build that train a model: one for the gating model, one per
 * shard. Each is self-contained (plain data in, a model folder out) so that it can run in
 * its own process, in parallel with the others, and so one shard can be trained alone.
 */
export type BuildJob = GatingJob | ExpertJob;

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
}

export interface JobResult {
  kind: BuildJob['kind'];
  label: string;
  training: TrainReport;
  quality?: IndexQuality;
  /** Peak resident memory of the process that ran the job. */
  peakRssBytes: number;
}

export function jobLabel(job: BuildJob): string {
  return job.kind === 'gating' ? 'gating' : `shard ${job.shard}`;
}

export async function runJob(job: BuildJob, progress: Progress): Promise<JobResult> {
  const start = job.startTower ? await loadTower(job.startTower) : undefined;
  try {
    return await trainJob(job, progress, start);
  } finally {
    start?.mix.dispose();
  }
}

async function trainJob(job: BuildJob, progress: Progress, start: EncoderWeights | undefined): Promise<JobResult> {
  if (job.kind === 'gating') {
    const vocabulary = new Vocabulary(job.vocabulary.ids, job.vocabulary.idf, job.vocabulary.documents);
    const { model, training } = await trainGating(job.corpus, vocabulary, job.docRows, job.rowTopics, job.config, progress, start);
    await saveGating(job.outDir, model);
    model.dispose();
    return { kind: job.kind, label: jobLabel(job), training, peakRssBytes: process.resourceUsage().maxRSS * 1024 };
  }
  const trained = await trainExpert({ shard: job.shard, corpus: job.corpus, paths: job.paths }, job.config, job.seed, progress, start);
  const quality = measureIndexQuality(trained.model, trained.docFeatures, job.config.decode.beamWidth);
  await saveExpert(join(job.outDir), { shard: job.shard, model: trained.model, docIds: job.docIds });
  trained.model.dispose();
  return { kind: job.kind, label: jobLabel(job), training: trained.training, quality, peakRssBytes: process.resourceUsage().maxRSS * 1024 };
}
