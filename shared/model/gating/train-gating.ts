import * as tf from '@tensorflow/tfjs-core';
import type { IndexConfig } from '../../config.ts';
import type { Progress } from '../../progress.ts';
import type { EncodedFeatures, Vocabulary } from '../../text/vocabulary.ts';
import { mulberry32, shuffleInPlace } from '../../util/random.ts';
import { createEncoderWeights, type EncoderWeights } from '../tower/encoder.ts';
import { ExampleStream, type TrainingCorpus } from '../examples.ts';
import { GatingModel, prototypeAnchors, type SoftmaxSample } from './gating-model.ts';
import { DEFAULT_SPARSE_ADAM } from '../sparse-table.ts';
import { trainEpochs, type TrainReport } from '../trainer.ts';

/**
 * Trains the gating model on every document's views and the training queries, each
 * labelled with its document's prototype row (`docRows`); `rowTopics` gives each row's topic.
 * With more rows than `gating.bounded.aboveRows`, on a bounded sample of them per epoch.
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
  const bounds = config.gating.bounded;
  // Above the bound, each epoch costs in proportion to the collection (see IndexConfig.gating.bounded); at or below it, exactly the unbounded training.
  const bounded = rowTopics.length > bounds.aboveRows;
  const rowDocs = bounded ? documentsOfRows(docRows, rowTopics.length) : [];
  const anchored = bounded ? anchorSample(rowDocs, bounds.anchorDocsPerRow, mulberry32(config.seed + 11), docFeatures) : { docFeatures, docRows };
  const sample = softmaxSampleFor(rowTopics.length, config);
  let anchors = config.gating.reanchor ? prototypeAnchors(encoder, rowTopics.length, anchored.docFeatures, anchored.docRows) : undefined;
  try {
    const training = await trainEpochs(
      'gating',
      { epochs: config.gating.epochs, batchSize: config.gating.batchSize, seed: config.seed + 7 },
      (epoch, rand) => {
        if (anchors && epoch > 0) anchors = model.reanchor(anchored.docFeatures, anchored.docRows, anchors);
        const examples = bounded ? stream.sampledEpoch(rand, rowDocs, bounds.viewsPerRow) : stream.epoch(rand);
        return examples.map((e) => ({ features: e.features, topic: docRows[e.doc]! }));
      },
      (batch) => model.trainStep(batch, sparse, dense, config.gating.topicWeight, sample),
      progress,
    );
    if (anchors) model.reanchor(anchored.docFeatures, anchored.docRows, anchors);
    model.topicPower = config.gating.topicPower;
    model.encoder.table.dropOptimizerState();
    return { model, training };
  } finally {
    dense.dispose();
  }
}

/** The sampled softmax of a model of `rows` prototype rows: above gating.bounded.aboveRows, over softmaxRows of them; at or below, none (every row). */
export function softmaxSampleFor(rows: number, config: Readonly<IndexConfig>): SoftmaxSample | undefined {
  const bounds = config.gating.bounded;
  return rows > bounds.aboveRows ? { rows: bounds.softmaxRows, rand: mulberry32(config.seed + 13) } : undefined;
}

/** The documents of each prototype row, ascending. */
export function documentsOfRows(docRows: Int32Array, rows: number): Int32Array[] {
  const counts = new Int32Array(rows);
  for (const r of docRows) counts[r]!++;
  const out = Array.from(counts, (n) => new Int32Array(n));
  counts.fill(0);
  docRows.forEach((r, d) => (out[r]![counts[r]!++] = d));
  return out;
}

/**
 * The documents re-anchoring encodes when training is bounded: up to `perRow` of each row's,
 * drawn once so that every epoch's anchors are means over the same documents (a row then
 * moves by how far its documents moved, not by which were drawn).
 */
export function anchorSample(rowDocs: readonly Int32Array[], perRow: number, rand: () => number, docFeatures: readonly EncodedFeatures[]): { docFeatures: EncodedFeatures[]; docRows: Int32Array } {
  const docs: number[] = [];
  const rows: number[] = [];
  rowDocs.forEach((own, row) => {
    const order = own.slice();
    if (order.length > perRow) shuffleInPlace(order, rand);
    for (const d of order.subarray(0, perRow)) {
      docs.push(d);
      rows.push(row);
    }
  });
  return { docFeatures: docs.map((d) => docFeatures[d]!), docRows: Int32Array.from(rows) };
}
