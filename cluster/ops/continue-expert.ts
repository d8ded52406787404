import * as tf from '@tensorflow/tfjs-core';
import type { IndexConfig } from '../../shared/config.ts';
import { ExampleStream, type DocExample } from '../../shared/model/examples.ts';
import { DEFAULT_SPARSE_ADAM } from '../../shared/model/sparse-table.ts';
import { trainEpochs, type TrainReport } from '../../shared/model/trainer.ts';
import { fullView, type TokenizedDoc } from '../../shared/model/views.ts';
import type { Progress } from '../../shared/progress.ts';
import { mulberry32 } from '../../shared/util/random.ts';
import type { ExpertModel } from '../../experts/expert-model.ts';
import type { FeaturizedPair } from '../build/query-pairs.ts';
import { growEncoder, growExpert } from './grow-expert.ts';

/**
 * Times an added document's views are seen per epoch. The expert's old documents have had
 * the build's epochs (4 by default) and a continued run is usually one epoch, so the new
 * ones get about the exposure the old ones had, while the old ones are replayed once
 * (all their views and training queries) so that what they learnt is not overwritten.
 */
export const ADDED_REPEATS = 4;

/**
 * Continued training runs at this fraction of the build's learning rates. Its Adam starts
 * with empty moments, so each row's first steps are full-size (about lr · sign of the
 * gradient) and disturb what the row had settled on. Measured on the demo collection
 * (shard s0, 525 documents, one epoch with no added documents): index_recall@1 0.956 →
 * 0.937 at 1×, 0.947 at 0.3×, unchanged at 0.1×; with 30 added documents at 0.1× all 30
 * decode to themselves and recall over the 555 is 0.964.
 */
export const CONTINUE_LEARNING_RATE_SCALE = 0.1;

export interface ContinueInput {
  /** The shard's documents in the expert's trie order, and the training queries pointing at them (doc = index there). */
  oldDocs: readonly TokenizedDoc[];
  oldQueries: readonly FeaturizedPair[];
  /** Added documents, their DocIDs (placeDocuments) and training queries (doc = index among the added). */
  addedDocs: readonly TokenizedDoc[];
  addedPaths: readonly (readonly number[])[];
  addedQueries: readonly FeaturizedPair[];
}

/**
 * Continues training a trained expert from its current weights: vocabulary, trie and node
 * table grown for the added documents, then `epochs` epochs over the added documents'
 * views and queries (ADDED_REPEATS times) mixed with a replay of every old document's views
 * and training queries. Returns a new model; the given one is left as it was.
 */
export async function continueExpert(
  model: ExpertModel,
  input: ContinueInput,
  config: Readonly<IndexConfig>,
  epochs: number,
  seed: number,
  label: string,
  progress: Progress,
): Promise<{ model: ExpertModel; training: TrainReport }> {
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
  const scale = CONTINUE_LEARNING_RATE_SCALE;
  const sparse = { ...DEFAULT_SPARSE_ADAM, learningRate: config.expert.learningRate * scale };
  const encoderAdam = { ...DEFAULT_SPARSE_ADAM, learningRate: config.expert.encoderLearningRate * scale };
  const dense = tf.train.adam(config.expert.denseLearningRate * scale);
  try {
    const training = await trainEpochs(label, { epochs, batchSize: config.expert.batchSize, seed: seed + 1 }, epochExamples, (batch) => grown.trainStep(batch, { sparse, encoder: encoderAdam, dense }), progress);
    grown.encoder.table.dropOptimizerState();
    grown.nodes.dropOptimizerState();
    return { model: grown, training };
  } catch (error) {
    grown.dispose();
    throw error;
  } finally {
    dense.dispose();
  }
}
