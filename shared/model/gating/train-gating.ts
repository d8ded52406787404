import * as tf from '@tensorflow/tfjs-core';
import type { IndexConfig } from '../../config.ts';
import type { Progress } from '../../progress.ts';
import type { Vocabulary } from '../../text/vocabulary.ts';
import { mulberry32 } from '../../util/random.ts';
import { createEncoderWeights, type EncoderWeights } from '../tower/encoder.ts';
import { ExampleStream, type TrainingCorpus } from '../examples.ts';
import { GatingModel, prototypeAnchors } from './gating-model.ts';
import { DEFAULT_SPARSE_ADAM } from '../sparse-table.ts';
import { trainEpochs, type TrainReport } from '../trainer.ts';

/**
 * Trains the gating model on every document's views and the training queries, each
 * labelled with its document's prototype row (`docRows`); `rowTopics` gives each row's topic.
 */
export async function trainGating(
  corpus: TrainingCorpus,
  vocabulary: Vocabulary,
  docRows: Int32Array,
  rowTopics: Int32Array,
  config: Readonly<IndexConfig>,
  progress: Progress,
  startTower?: EncoderWeights,
): Promise<{ model: GatingModel; training: TrainReport }> {
  const encoder = createEncoderWeights(vocabulary, config.dim, mulberry32(config.seed), startTower);
  const stream = new ExampleStream(corpus, vocabulary, config.views, config.featurizer);
  const docFeatures = stream.documentFeatures();
  const model = GatingModel.create(encoder, rowTopics, docFeatures, docRows);
  const sparse = { ...DEFAULT_SPARSE_ADAM, learningRate: config.gating.encoderLearningRate };
  const dense = tf.train.adam(config.gating.denseLearningRate);
  let anchors = config.gating.reanchor ? prototypeAnchors(encoder, rowTopics.length, docFeatures, docRows) : undefined;
  try {
    const training = await trainEpochs(
      'gating',
      { epochs: config.gating.epochs, batchSize: config.gating.batchSize, seed: config.seed + 7 },
      (epoch, rand) => {
        if (anchors && epoch > 0) anchors = model.reanchor(docFeatures, docRows, anchors);
        return stream.epoch(rand).map((e) => ({ features: e.features, topic: docRows[e.doc]! }));
      },
      (batch) => model.trainStep(batch, sparse, dense, config.gating.topicWeight),
      progress,
    );
    if (anchors) model.reanchor(docFeatures, docRows, anchors);
    model.topicPower = config.gating.topicPower;
    model.encoder.table.dropOptimizerState();
    return { model, training };
  } finally {
    dense.dispose();
  }
}
