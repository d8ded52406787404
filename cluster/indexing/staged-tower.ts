import type { IndexWriter } from '../../shared/artifact/index-writer.ts';
import type { IndexConfig } from '../../shared/config.ts';
import type { EncoderWeights } from '../../shared/model/tower/encoder.ts';
import { saveTower } from '../../shared/model/tower/encoder-store.ts';
import type { TrainingCorpus } from '../../shared/model/examples.ts';
import { pretrainEncoder } from '../../shared/model/tower/train-encoder.ts';
import type { TrainReport } from '../../shared/model/trainer.ts';
import type { TokenizedDoc } from '../../shared/model/views.ts';
import type { Progress } from '../../shared/progress.ts';
import type { Vocabulary } from '../../shared/text/vocabulary.ts';
import { semanticDocIds } from './semantic-ids.ts';

/** Where the pre-trained tower waits in the stage for the training processes (scratch: gone once the index is sealed). */
const TOWER_DIR = 'text-tower';

export interface StagedTower {
  /** Folder to pass as a job's startTower. */
  dir: string;
  training: TrainReport;
}

export interface TowerAndDocIdsInput {
  /** Everything the tower is pre-trained on: every document of the (grown) index and its training queries. */
  corpus: TrainingCorpus;
  vocabulary: Vocabulary;
  config: Readonly<IndexConfig>;
  writer: Pick<IndexWriter, 'scratchDir'>;
  progress: Progress;
  /** The documents to give DocIDs, clustered into `topics` topics. */
  docs: readonly TokenizedDoc[];
  topics: number;
  /** Called with each step's name and start time, for the caller's timing log. */
  phase?: (name: string, since: number) => void;
}

/**
 * The first steps of a build, or of adding a shard: pre-trains the text tower when the
 * config asks for one (and saves it into the stage's scratch space for the training processes),
 * then clusters `docs` into DocIDs in its geometry (a random projection without one).
 * Only the tower's folder and report outlive the call: its table (400K rows on the Debian
 * collection) is freed before the models train, each training process reading the folder.
 */
export async function stageTowerAndDocIds(input: TowerAndDocIdsInput): Promise<{ tower: StagedTower | undefined; paths: number[][] }> {
  const { config, phase } = input;
  let t = performance.now();
  let encoder: EncoderWeights | undefined;
  let tower: StagedTower | undefined;
  if (config.encoder.epochs > 0) {
    const trained = await pretrainEncoder(input.corpus, input.vocabulary, config, input.progress);
    encoder = trained.encoder;
    tower = { dir: await input.writer.scratchDir(TOWER_DIR), training: trained.training };
    await saveTower(tower.dir, encoder);
    phase?.('text tower', t);
  }
  t = performance.now();
  const paths = semanticDocIds(input.docs, input.vocabulary, config, input.topics, encoder);
  encoder?.mix.dispose();
  phase?.('docids', t);
  return { tower, paths };
}
