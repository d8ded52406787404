import * as tf from '@tensorflow/tfjs-core';
import type { IndexConfig } from '../../config.ts';
import { ExampleStream, type DocExample, type TrainingQuery } from '../examples.ts';
import { DEFAULT_SPARSE_ADAM } from '../sparse-table.ts';
import { trainEpochs } from '../trainer.ts';
import { fullView, type TokenizedDoc } from '../views.ts';
import type { Progress } from '../../progress.ts';
import { mulberry32 } from '../../util/random.ts';
import type { ExpertModel } from './expert-model.ts';
import { growEncoder } from '../tower/grow-encoder.ts';
import { growExpert } from './grow-expert.ts';
import type { TrainedExpert } from './train-expert.ts';

/**
 * Times an added document's views are seen per epoch. The expert's old documents have had
 * the build's epochs (4 by default) and a continued run is usually one epoch, so the new
 * ones get about the exposure the old ones had, while the old ones are replayed once
 * (all their views and training queries) so that what they learnt is not overwritten.
 */
export const ADDED_REPEATS = 4;

/**
 * Continued training runs at these fractions of the build's learning rates. Its Adam
 * starts with empty moments, so each row's first steps are full-size (about lr · sign of
 * the gradient) and disturb what the model had settled on; the text tower, shared by
 * every document, is damped most. Node rows need a livelier rate: an old document's row
 * must move to hold its own against a new sibling. Measured, one epoch with added
 * documents (current → candidate index_recall@1 / collision_rate, added ones counted):
 *   12K Debian subset, s0 (2,573 docs, 4 epochs) + 44 docs:  0.960/0.076 → 0.945/0.092 with
 *   both at 0.1× (64 old documents decoded to a new one), 0.961/0.071 at 0.1× / 0.3×;
 *   demo, s0 (525 docs, 2 epochs) + 30 docs: 0.956/0.080 → 0.957/0.077 at 0.1× / 0.3×.
 */
export const CONTINUE_RATE_SCALE = { encoder: 0.1, nodes: 0.3 } as const;

export interface ContinueInput {
  /** The shard's documents in the expert's trie order, and the training queries pointing at them (doc = index there). */
  oldDocs: readonly TokenizedDoc[];
  oldQueries: readonly TrainingQuery[];
  /** Added documents, their DocIDs (placeDocuments) and training queries (doc = index among the added). */
  addedDocs: readonly TokenizedDoc[];
  addedPaths: readonly (readonly number[])[];
  addedQueries: readonly TrainingQuery[];
}

/**
 * Continues training a trained expert from its current weights: vocabulary, trie and node
 * table grown for the added documents, then `epochs` epochs over the added documents'
 * views and queries (ADDED_REPEATS times) mixed with a replay of every old document's views
 * and training queries. Returns a new model (documents numbered old ones first, then the
 * added ones); the given one is left as it was.
 */
export async function continueExpert(
  model: ExpertModel,
  input: ContinueInput,
  config: Readonly<IndexConfig>,
  epochs: number,
  seed: number,
  label: string,
  progress: Progress,
): Promise<TrainedExpert> {
  const rand = mulberry32(seed);
  const encoder = growEncoder(model.encoder, input.oldDocs, input.addedDocs, input.addedQueries.map((q) => q.bag), config, rand);
  const vocabulary = encoder.vocabulary;
  const addedFeatures = input.addedDocs.map((d) => vocabulary.encode(fullView(d, config.featurizer)));
  const grown = growExpert(model, encoder, input.addedPaths, addedFeatures);
  const oldStream = new ExampleStream({ docs: input.oldDocs, queries: input.oldQueries }, vocabulary, config.views, config.featurizer);
  const addedStream = new ExampleStream({ docs: input.addedDocs, queries: input.addedQueries }, vocabulary, config.views, config.featurizer);
  const offset = input.oldDocs.length;
  const epochExamples = (_epoch: number, r: () => number): DocExample[] => {
    const out = oldStream.epoch(r);
    for (let k = 0; k < ADDED_REPEATS; k++) for (const e of addedStream.epoch(r)) out.push({ features: e.features, doc: e.doc + offset });
    return out;
  };
  const sparse = { ...DEFAULT_SPARSE_ADAM, learningRate: config.expert.learningRate * CONTINUE_RATE_SCALE.nodes };
  const encoderAdam = { ...DEFAULT_SPARSE_ADAM, learningRate: config.expert.encoderLearningRate * CONTINUE_RATE_SCALE.encoder };
  const dense = tf.train.adam(config.expert.denseLearningRate * CONTINUE_RATE_SCALE.encoder);
  try {
    const training = await trainEpochs(label, { epochs, batchSize: config.expert.batchSize, seed: seed + 1 }, epochExamples, (batch) => grown.trainStep(batch, { sparse, encoder: encoderAdam, dense }), progress);
    grown.encoder.table.dropOptimizerState();
    grown.nodes.dropOptimizerState();
    return { model: grown, training, docFeatures: [...oldStream.documentFeatures(), ...addedStream.documentFeatures()] };
  } catch (error) {
    grown.dispose();
    throw error;
  } finally {
    dense.dispose();
  }
}
