import * as tf from '@tensorflow/tfjs-core';
import { DocIdTrie } from '../../docids/trie.ts';
import { createEncoderWeights, type EncoderWeights } from '../tower/encoder.ts';
import { ExampleStream, type TrainingCorpus } from '../examples.ts';
import { DEFAULT_SPARSE_ADAM } from '../sparse-table.ts';
import { trainEpochs, type TrainReport } from '../trainer.ts';
import type { Progress } from '../../progress.ts';
import { mulberry32 } from '../../util/random.ts';
import type { IndexConfig } from '../../config.ts';
import { buildVocabulary } from '../tower/vocabulary.ts';
import { ExpertModel, nodeAnchors } from './expert-model.ts';

export interface ExpertTrainingInput {
  readonly shard: string;
  /** The shard's documents and the training queries pointing at them (doc = index in this list). */
  readonly corpus: TrainingCorpus;
  /** Full DocID components of each document, in the same order. */
  readonly paths: readonly (readonly number[])[];
}

export interface TrainedExpert {
  readonly model: ExpertModel;
  readonly training: TrainReport;
  /** Whole-document features of each document: the indexing view the quality report decodes. */
  readonly docFeatures: ReturnType<ExampleStream['documentFeatures']>;
}

/** Builds one shard's vocabulary and model from its documents and trains it on the indexing and retrieval tasks. */
export async function trainExpert(input: ExpertTrainingInput, config: Readonly<IndexConfig>, seed: number, progress: Progress, startTower?: EncoderWeights): Promise<TrainedExpert> {
  const vocabulary = buildVocabulary(input.corpus, config);
  const encoder = createEncoderWeights(vocabulary, config.dim, mulberry32(seed), startTower);
  const stream = new ExampleStream(input.corpus, vocabulary, config.views, config.featurizer);
  const docFeatures = stream.documentFeatures();
  const model = ExpertModel.create(DocIdTrie.fromPaths(input.paths), encoder, docFeatures);
  const sparse = { ...DEFAULT_SPARSE_ADAM, learningRate: config.expert.learningRate };
  const encoderAdam = { ...DEFAULT_SPARSE_ADAM, learningRate: config.expert.encoderLearningRate };
  const dense = tf.train.adam(config.expert.denseLearningRate);
  let anchors = config.expert.reanchor ? nodeAnchors(model.trie, model.encoder, docFeatures) : undefined;
  try {
    const training = await trainEpochs(
      `shard ${input.shard}`,
      { epochs: config.expert.epochs, batchSize: config.expert.batchSize, seed: seed + 1 },
      (epoch, rand) => {
        if (anchors && epoch > 0) anchors = model.reanchor(docFeatures, anchors);
        return stream.epoch(rand);
      },
      (batch) => model.trainStep(batch, { sparse, encoder: encoderAdam, dense }),
      progress,
    );
    if (anchors) model.reanchor(docFeatures, anchors);
    model.temper(config.expert.levelTemperatures);
    model.encoder.table.dropOptimizerState();
    model.nodes.dropOptimizerState();
    return { model, training, docFeatures };
  } finally {
    dense.dispose();
  }
}
