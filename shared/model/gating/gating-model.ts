import * as tf from '@tensorflow/tfjs-core';
import { bagOf, columnsOf, encodeBatch, encodeOne, packFeatures, project, type EncoderWeights } from '../tower/encoder.ts';
import { groupLoss, logSoftmaxInPlace, normalizeRows, pickedLoss, sharedLogProbs } from '../heads.ts';
import { sampleRows } from './row-sample.ts';
import type { AdamOptions } from '../sparse-table.ts';
import type { EncodedFeatures } from '../../text/vocabulary.ts';
import type { RoutedTopic } from '../../bus/protocol.ts';

/** One training example: a text's features and the prototype row it must score highest. */
export interface GatingExample {
  readonly features: EncodedFeatures;
  /** Prototype row of the target document (the row of its DocID cluster). */
  readonly topic: number;
}

const INITIAL_SCALE = 10;

/**
 * The gating model: query → probability of each topic (the first DocID component).
 * The router runs it to decide which experts to ask; it is trained on the same
 * examples as the experts.
 *
 * A topic is represented by several prototype rows (one per DocID cluster below it):
 * the softmax runs over prototypes and a topic's probability is the sum over its own.
 * Topics are unions of clusters, too broad for one vector; with one row per topic, dev
 * queries found their topic in the top 4 of 15 only 75% of the time on the Debian
 * collection.
 */
export class GatingModel {
  readonly encoder: EncoderWeights;
  /** Topic id (DocID first component) of each prototype row of `topics`. */
  readonly topicLabels: Int32Array;
  /** The distinct topic ids, ascending: the order of route()'s output. */
  readonly topicIds: Int32Array;
  /** Index into topicIds of each prototype row. */
  readonly #topicOfRow: Int32Array;
  readonly topics: tf.Variable<tf.Rank.R2>;
  readonly scale: tf.Variable<tf.Rank.R0>;
  /**
   * route() returns log P(topic)^power, renormalised (power < 1 flattens). The router adds
   * it to the experts' log P(rest | topic), and the gating model, trained alone, is more
   * sure of itself than it should be next to them: set after training (IndexConfig.gating.topicPower).
   */
  topicPower: number;
  #serving: GatingServing | undefined;

  constructor(encoder: EncoderWeights, topicLabels: Int32Array, topics: Float32Array, scale: number, topicPower = 1) {
    this.encoder = encoder;
    this.topicPower = topicPower;
    this.topicLabels = topicLabels;
    this.topicIds = Int32Array.from(new Set(topicLabels)).sort();
    const index = new Map(Array.from(this.topicIds, (t, i) => [t, i]));
    this.#topicOfRow = Int32Array.from(topicLabels, (t) => index.get(t)!);
    // In tidies: a variable holds its own reference, and the tensor it starts from would otherwise stay allocated.
    this.topics = tf.tidy(() => tf.variable(tf.tensor2d(topics, [topicLabels.length, encoder.table.dim]), true)) as tf.Variable<tf.Rank.R2>;
    this.scale = tf.tidy(() => tf.variable(tf.scalar(scale), true)) as tf.Variable<tf.Rank.R0>;
  }

  /** Topic rows start at the mean encoding of their documents. */
  static create(encoder: EncoderWeights, topicLabels: Int32Array, docFeatures: readonly EncodedFeatures[], docTopicRows: Int32Array): GatingModel {
    return new GatingModel(encoder, topicLabels, prototypeAnchors(encoder, topicLabels.length, docFeatures, docTopicRows), INITIAL_SCALE);
  }

  /**
   * Moves every prototype row by how far its anchor (the normalised mean encoding of its
   * documents) moved since `previous`, as the experts do with their node rows; returns the new anchors.
   */
  reanchor(docFeatures: readonly EncodedFeatures[], docTopicRows: Int32Array, previous: Float32Array): Float32Array {
    const anchors = prototypeAnchors(this.encoder, this.topicLabels.length, docFeatures, docTopicRows);
    const delta = new Float32Array(anchors.length);
    for (let i = 0; i < delta.length; i++) delta[i] = anchors[i]! - previous[i]!;
    tf.tidy(() => {
      this.topics.assign(tf.add(this.topics, tf.tensor2d(delta, this.topics.shape)));
    });
    this.#dropServing();
    return anchors;
  }

  get dim(): number {
    return this.encoder.table.dim;
  }

  /**
   * One step on (1 − topicWeight) · −log P(prototype) + topicWeight · −log P(topic): the
   * prototype term keeps the rows specific, the topic term is what routing is judged on
   * (a query between two clusters of its topic is routed right either way).
   *
   * With `sample` and more rows than it asks for, the softmax runs over a sample of the
   * rows (sampleRows: the batch's own rows and uniformly drawn others, each logit corrected
   * by its chance of being drawn), and a topic's mass is that of its rows in the sample.
   * With `frozen`, only the rows and table rows past it learn (a grown model's new part).
   */
  trainStep(batch: readonly GatingExample[], sparse: Readonly<AdamOptions>, dense: tf.Optimizer, topicWeight = 0, sample?: SoftmaxSample, frozen?: FrozenPart): number {
    const dim = this.dim;
    const size = batch.length;
    const drawn = sample && sample.rows < this.topicLabels.length ? sampleRows(Int32Array.from(batch, (e) => e.topic), this.topicLabels.length, sample.rows, sample.rand) : undefined;
    const features = packFeatures(batch.map((e) => e.features));
    const h0 = bagOf(this.encoder, features);
    const topicCount = this.topicIds.length;
    // Results leave through variables: tidy walks a returned typed array element by element.
    let loss = 0;
    let gradH0: Float32Array = new Float32Array(0);
    tf.tidy(() => {
      const x = tf.tensor2d(h0, [size, dim]);
      const rowIndices = drawn && tf.tensor1d(drawn.rows, 'int32');
      // Gathered outside the differentiated function: wasm has no kernel for gather's
      // gradient, so the sampled rows' gradient is scattered back into the full matrix below.
      const candidates = rowIndices ? tf.gather(this.topics, rowIndices) : this.topics;
      const logQ = drawn && tf.tensor1d(drawn.logQ);
      const targets = tf.tensor1d(drawn ? drawn.targets : Int32Array.from(batch, (e) => e.topic), 'int32');
      const rowTopics = tf.tensor1d(drawn ? Int32Array.from(drawn.rows, (r) => this.#topicOfRow[r]!) : this.#topicOfRow, 'int32');
      const topicTargets = tf.tensor1d(Int32Array.from(batch, (e) => this.#topicOfRow[e.topic]!), 'int32');
      const f = (input: tf.Tensor, mix: tf.Tensor, rows: tf.Tensor, scale: tf.Tensor): tf.Scalar => {
        const h = project(input as tf.Tensor2D, mix as tf.Tensor2D);
        const logp = sharedLogProbs(h, rows as tf.Tensor2D, scale as tf.Scalar, logQ);
        const prototypeLoss = pickedLoss(logp, targets);
        if (topicWeight <= 0) return prototypeLoss;
        const topicLoss = groupLoss(logp, rowTopics, topicCount, topicTargets);
        return tf.add(tf.mul(prototypeLoss, 1 - topicWeight), tf.mul(topicLoss, topicWeight)) as tf.Scalar;
      };
      const { value, grads } = tf.valueAndGrads(f)([x, this.encoder.mix, candidates, this.scale]);
      const topicsGrad = rowIndices ? tf.scatterND(tf.reshape(rowIndices, [-1, 1]), grads[2]!, this.topics.shape) : grads[2]!;
      if (frozen) {
        // Only the rows from frozen.rows on learn: a zero gradient leaves Adam's moments, and so the row, where they were.
        const learns = tf.concat([tf.zeros([frozen.rows, 1]), tf.ones([this.topicLabels.length - frozen.rows, 1])]);
        dense.applyGradients({ [this.topics.name]: tf.mul(topicsGrad, learns) });
      } else {
        dense.applyGradients({ [this.encoder.mix.name]: grads[1]!, [this.topics.name]: topicsGrad, [this.scale.name]: grads[3]! });
      }
      loss = value.dataSync()[0]!;
      gradH0 = grads[0]!.dataSync() as Float32Array;
    });
    this.encoder.table.accumulateBag(features.rows, features.weights, features.offsets, gradH0, frozen?.features ?? 0);
    this.encoder.table.applyAdam(sparse);
    this.#dropServing();
    return loss;
  }

  /** Log-probabilities over `topicIds` for each encoded query (row-major, one row per query). */
  route(items: readonly EncodedFeatures[]): Float32Array {
    const serving = this.#servingState();
    const dim = this.dim;
    const rows = this.topicLabels.length;
    const topics = this.topicIds.length;
    // One query (every search) is encoded in plain JavaScript: TensorFlow.js's dispatch costs more than the product.
    const queries = items.length === 1 ? encodeOne(this.encoder, serving.mixColumns, items[0]!) : encodeBatch(this.encoder, items);
    const out = new Float32Array(items.length * topics);
    for (let start = 0; start < items.length; start += ROUTE_CHUNK) {
      const count = Math.min(ROUTE_CHUNK, items.length - start);
      // Every prototype row against the queries in one product: rows grow with the collection
      // (one per 64 documents), and on wasm this is several times faster than dot products in JavaScript.
      let products: Float32Array = new Float32Array(0);
      tf.tidy(() => {
        products = tf.matMul(tf.tensor2d(queries.subarray(start * dim, (start + count) * dim), [count, dim]), serving.topicColumns).dataSync() as Float32Array;
      });
      for (let q = 0; q < count; q++) {
        this.#topicLogProbs(products.subarray(q * rows, (q + 1) * rows), serving.scale, out.subarray((start + q) * topics, (start + q + 1) * topics));
      }
    }
    return out;
  }

  /**
   * log P(topic)^power of one query from its prototype products: the softmax over rows,
   * summed per topic, with one exponential per row (rows grow with the collection, topics do
   * not): P(topic) = Σ its rows' exp(s − max) / Σ every row's.
   */
  #topicLogProbs(products: Float32Array, scale: number, topic: Float32Array): void {
    const rows = products.length;
    let max = Number.NEGATIVE_INFINITY;
    for (let r = 0; r < rows; r++) max = Math.max(max, scale * products[r]!);
    let total = 0;
    for (let r = 0; r < rows; r++) {
      const e = Math.exp(scale * products[r]! - max);
      topic[this.#topicOfRow[r]!]! += e;
      total += e;
    }
    const logTotal = Math.log(total);
    for (let t = 0; t < topic.length; t++) topic[t] = this.topicPower * (Math.log(topic[t]!) - logTotal);
    if (this.topicPower !== 1) logSoftmaxInPlace(topic);
  }

  dispose(): void {
    this.#dropServing();
    this.encoder.mix.dispose();
    this.topics.dispose();
    this.scale.dispose();
  }

  #servingState(): GatingServing {
    if (!this.#serving) {
      const dim = this.dim;
      const rows = this.topicLabels.length;
      const normalized = normalizeRows(this.topics.dataSync() as Float32Array, dim);
      this.#serving = {
        topicColumns: tf.tidy(() => tf.transpose(tf.tensor2d(normalized, [rows, dim]))) as tf.Tensor2D,
        scale: this.scale.dataSync()[0]!,
        mixColumns: columnsOf(this.encoder.mix.dataSync() as Float32Array, dim),
      };
    }
    return this.#serving;
  }

  #dropServing(): void {
    this.#serving?.topicColumns.dispose();
    this.#serving = undefined;
  }
}

/** A sampled softmax for trainStep: over `rows` prototype rows (when the model has more), drawn with `rand`. */
export interface SoftmaxSample {
  readonly rows: number;
  readonly rand: () => number;
}

/**
 * The part of a model a step leaves as it is (growGating): the first `rows` prototype rows,
 * the first `features` rows of the text tower's table, and the tower's mix and the scale.
 */
export interface FrozenPart {
  readonly rows: number;
  readonly features: number;
}

/** What route() reads, computed once after training or loading. */
interface GatingServing {
  /** The normalised prototype rows as columns (dim × rows): a plain matMul, which wasm runs far faster than a transposed one. */
  readonly topicColumns: tf.Tensor2D;
  readonly scale: number;
  /** The text tower's mix by columns (encodeOne). */
  readonly mixColumns: Float32Array;
}

/** Queries routed per product: bounds the scores held at once (queries × prototype rows). */
const ROUTE_CHUNK = 256;

/** Normalised mean encoding of each prototype row's documents. */
export function prototypeAnchors(encoder: EncoderWeights, rows: number, docFeatures: readonly EncodedFeatures[], docTopicRows: Int32Array): Float32Array {
  const dim = encoder.table.dim;
  const sums = new Float32Array(rows * dim);
  const chunk = 4096;
  for (let start = 0; start < docFeatures.length; start += chunk) {
    const vectors = encodeBatch(encoder, docFeatures.slice(start, start + chunk));
    for (let i = 0; i * dim < vectors.length; i++) {
      const t = docTopicRows[start + i]!;
      for (let k = 0; k < dim; k++) sums[t * dim + k]! += vectors[i * dim + k]!;
    }
  }
  return normalizeRows(sums, dim);
}

export interface RoutingOptions {
  /** Ask the fewest topics whose probability mass reaches this. */
  threshold: number;
  /** Never ask more than this many topics. */
  maxFanout: number;
  /** Topics asked besides, where the lexical half's plan expects strong candidates the gating model did not (0: none). */
  lexicalTopics?: number;
  /** Topics asked at most, the lexical ones included: a request's own fan-out is a hard limit. */
  cap?: number;
}

/** The fewest most likely topics whose mass reaches the threshold, capped at maxFanout. */
export function selectTopics(logProbs: Float32Array, labels: Int32Array, options: Readonly<RoutingOptions>): RoutedTopic[] {
  const order = Array.from(logProbs.keys()).sort((a, b) => logProbs[b]! - logProbs[a]! || a - b);
  const chosen: RoutedTopic[] = [];
  let mass = 0;
  for (const i of order) {
    if (chosen.length >= options.maxFanout || (chosen.length > 0 && mass >= options.threshold)) break;
    chosen.push({ topic: labels[i]!, logp: logProbs[i]! });
    mass += Math.exp(logProbs[i]!);
  }
  return chosen;
}
