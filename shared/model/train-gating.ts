import * as tf from '@tensorflow/tfjs-core';
import type { IndexConfig } from '../config.ts';
import type { Progress } from '../progress.ts';
import type { Vocabulary } from '../text/vocabulary.ts';
import { mulberry32 } from '../util/random.ts';
import { createEncoderWeights } from './encoder.ts';
import { ExampleStream, type TrainingCorpus } from './examples.ts';
import { GatingModel } from './gating.ts';
import { DEFAULT_SPARSE_ADAM } from './sparse-table.ts';
import { trainEpochs, type TrainReport } from './trainer.ts';

/** Trains the gating model on every document's views and the training queries, labelled with their topic. */
export async function trainGating(
  corpus: TrainingCorpus,
  vocabulary: Vocabulary,
  docTopics: Int32Array,
  topicCount: number,
  config: Readonly<IndexConfig>,
  progress: Progress,
): Promise<{ model: GatingModel; training: TrainReport }> {
  const encoder = createEncoderWeights(vocabulary, config.dim, mulberry32(config.seed));
  const stream = new ExampleStream(corpus, vocabulary, config.views, config.featurizer);
  const labels = Int32Array.from({ length: topicCount }, (_, i) => i);
  const model = GatingModel.create(encoder, labels, stream.documentFeatures(), docTopics);
  const sparse = { ...DEFAULT_SPARSE_ADAM, learningRate: config.gating.encoderLearningRate };
  const dense = tf.train.adam(config.gating.denseLearningRate);
  try {
    const training = await trainEpochs(
      'gating',
      { epochs: config.gating.epochs, batchSize: config.gating.batchSize, seed: config.seed + 7 },
      (_epoch, rand) => stream.epoch(rand).map((e) => ({ features: e.features, topic: docTopics[e.doc]! })),
      (batch) => model.trainStep(batch, sparse, dense),
      progress,
    );
    model.encoder.table.dropOptimizerState();
    return { model, training };
  } finally {
    dense.dispose();
  }
}
