import * as tf from '@tensorflow/tfjs-core';
import type { IndexConfig } from '../../config.ts';
import type { Progress } from '../../progress.ts';
import type { EncoderWeights } from '../tower/encoder.ts';
import { ExampleStream, type TrainingCorpus } from '../examples.ts';
import { DEFAULT_SPARSE_ADAM } from '../sparse-table.ts';
import { trainEpochs, type TrainReport } from '../trainer.ts';
import { GatingModel, prototypeAnchors, type GatingExample } from './gating-model.ts';
import { gatingPrototypes } from './prototypes.ts';
import type { GatingPrototypes } from './gating-store.ts';
import { softmaxSampleFor } from './train-gating.ts';

export interface GrowGatingInput {
  /** The gating model routing to the topics already there (its own parts: the grown tower below holds its tower's rows). */
  current: GatingPrototypes;
  /** Its text tower grown with the added documents' features (growEncoder): old rows first, as trained. */
  encoder: EncoderWeights;
  /** The added documents and the training queries pointing at them. */
  added: TrainingCorpus;
  /** DocID of each added document (new topics only). */
  addedPaths: readonly (readonly number[])[];
  /** A sample of the documents already indexed, with training queries pointing at them: what the new rows must leave alone. */
  replay: TrainingCorpus;
  /** Topic of each replay document. */
  replayTopics: Int32Array;
}

/**
 * A gating model that also routes to added topics, at a cost that grows with the added
 * documents rather than with the collection: the current model gains one prototype row
 * per new DocID cluster (at the mean encoding of its documents), and only those rows and
 * the tower's rows of new features train, on the added documents' views and queries and
 * on a replay sample of the old ones. Everything the model had (its rows, the tower's
 * trained rows, the mix, the scale) is kept as it was, so a query about an old topic
 * changes its route only where a new topic now competes for it.
 *
 * A replay example's target stands for its topic by the topic's first row: with the old rows
 * frozen, the gradient the new rows get from an example (its share of the softmax's
 * normaliser) does not depend on which old row is its target.
 */
export async function growGating(input: GrowGatingInput, config: Readonly<IndexConfig>, progress: Progress): Promise<{ model: GatingModel; training: TrainReport }> {
  const { current, encoder } = input;
  const oldRows = current.topicLabels.length;
  const { docRows, rowTopics } = gatingPrototypes(input.addedPaths);
  const added = new ExampleStream(input.added, encoder.vocabulary, config.views, config.featurizer);
  const anchors = prototypeAnchors(encoder, rowTopics.length, added.documentFeatures(), docRows);
  const labels = Int32Array.from([...current.topicLabels, ...rowTopics]);
  const rows = new Float32Array(labels.length * current.dim);
  rows.set(current.topics);
  rows.set(anchors, oldRows * current.dim);
  const model = new GatingModel(encoder, labels, rows, current.scale, current.topicPower);

  const firstRowOfTopic = new Map<number, number>();
  current.topicLabels.forEach((t, r) => firstRowOfTopic.has(t) || firstRowOfTopic.set(t, r));
  const replayRows = Int32Array.from(input.replayTopics, (t) => {
    const row = firstRowOfTopic.get(t);
    if (row === undefined) throw new Error(`growing the gating model: replay topic ${t} has no prototype row`);
    return row;
  });
  const replay = new ExampleStream(input.replay, encoder.vocabulary, config.views, config.featurizer);
  const frozen = { rows: oldRows, features: current.towerRows };
  const sample = softmaxSampleFor(labels.length, config);
  const sparse = { ...DEFAULT_SPARSE_ADAM, learningRate: config.gating.encoderLearningRate };
  const dense = tf.train.adam(config.gating.denseLearningRate);
  try {
    const training = await trainEpochs(
      'gating',
      { epochs: config.gating.epochs, batchSize: config.gating.batchSize, seed: config.seed + 7 },
      (_epoch, rand): GatingExample[] => [
        ...added.epoch(rand).map((e) => ({ features: e.features, topic: oldRows + docRows[e.doc]! })),
        ...replay.epoch(rand).map((e) => ({ features: e.features, topic: replayRows[e.doc]! })),
      ],
      (batch) => model.trainStep(batch, sparse, dense, config.gating.topicWeight, sample, frozen),
      progress,
    );
    model.encoder.table.dropOptimizerState();
    return { model, training };
  } finally {
    dense.dispose();
  }
}
