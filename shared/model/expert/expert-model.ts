import * as tf from '@tensorflow/tfjs-core';
import { constrainedBeamSearch, type BeamHit, type BeamStart } from '../../decode/beam.ts';
import type { DocIdTrie } from '../../docids/trie.ts';
import { bagOf, columnsOf, encodeBatch, encodeOne, packFeatures, project, type EncoderWeights } from '../tower/encoder.ts';
import { dot } from '../../util/dot.ts';
import { candidateLoss, logSoftmaxInPlace, normalizeRows } from '../heads.ts';
import { SparseTable, type AdamOptions } from '../sparse-table.ts';
import type { EncodedFeatures } from '../../text/vocabulary.ts';

/** One training example: a text's features and the document it must decode to. */
export interface ExpertExample {
  readonly features: EncodedFeatures;
  /** Index of the target document within the expert's trie. */
  readonly doc: number;
  /**
   * Documents of this expert to rank below the target (a teacher's top list: near-
   * duplicates, documents of other clusters): added to the softmax that picks the leaf, so
   * leaves of different clusters learn to be compared, as the search compares them.
   */
  readonly negatives?: Int32Array;
}

export interface ExpertOptimizers {
  /** For the trie-node rows: the memory of which document is where. */
  readonly sparse: Readonly<AdamOptions>;
  /** For the feature embeddings: kept gentler, since what they learn must carry over to documents never queried. */
  readonly encoder: Readonly<AdamOptions>;
  readonly dense: tf.Optimizer;
}

export interface SearchOptions {
  beamWidth: number;
  topK: number;
  /** Softmax temperature per depth of the node being expanded (default 1). */
  temperatures?: readonly number[];
}

/** Initial scale of cosine logits: cos ∈ [−1, 1] needs stretching for a softmax to be sharp. */
const INITIAL_SCALE = 10;
const PADDING_LOGIT = -1e4;

/**
 * An expert: the DSI model of one shard. Given a query and a topic it generates the rest
 * of the DocID one component at a time; each trie node owns one embedding row, and the
 * next component is chosen by a softmax over the rows of the current prefix's children,
 * so every prediction is conditioned on the prefix chosen so far and can only name ids
 * that exist. Logits are scale · (unit query · node row): rows start at unit length and are
 * free to grow, which spares normalising 64 candidates × batch at every level and step.
 */
/** What a search reads of an expert's weights: computed once after training or loading. */
export interface ServingRows {
  readonly nodes: Float32Array;
  readonly scale: number;
  /** Length of each node's row. */
  readonly norms: Float32Array;
  /** The topic (first DocID component) of every node below the root. */
  readonly topicOf: Int32Array;
  /** The text tower's mix by columns, for encoding one query outside TensorFlow.js (encodeOne). */
  readonly mixColumns: Float32Array;
}

export class ExpertModel {
  readonly trie: DocIdTrie;
  readonly encoder: EncoderWeights;
  readonly nodes: SparseTable;
  readonly scale: tf.Variable<tf.Rank.R0>;
  /** Widest child list at each depth: the candidate count of that level's softmax during training. */
  readonly #widthAtDepth: Int32Array;
  #serving: ServingRows | undefined;

  constructor(trie: DocIdTrie, encoder: EncoderWeights, nodes: SparseTable, scale: number) {
    this.trie = trie;
    this.encoder = encoder;
    this.nodes = nodes;
    this.scale = tf.tidy(() => tf.variable(tf.scalar(scale), true)) as tf.Variable<tf.Rank.R0>;
    const width = new Int32Array(trie.levels() + 1);
    for (let n = 0; n < trie.size; n++) {
      const d = trie.depth[n]!;
      if (trie.childCount[n]! > width[d]!) width[d] = trie.childCount[n]!;
    }
    this.#widthAtDepth = width;
  }

  /**
   * A new expert whose leaf rows start at their documents' own encodings and whose inner
   * rows start at the mean of their children, so decoding works (lexically) before training.
   */
  static create(trie: DocIdTrie, encoder: EncoderWeights, docFeatures: readonly EncodedFeatures[]): ExpertModel {
    const anchors = nodeAnchors(trie, encoder, docFeatures);
    return new ExpertModel(trie, encoder, new SparseTable(trie.size, encoder.table.dim, anchors.slice()), INITIAL_SCALE);
  }

  /**
   * Moves every node row by how far its anchor (see nodeAnchors) moved since `previous`:
   * row = anchor under the current text tower + what the row has learnt on its own.
   * The tower keeps learning from queries while node rows learn slowly, so without this
   * the rows of documents never queried stay where the untrained tower put them.
   * Returns the new anchors, to pass as `previous` next time.
   */
  reanchor(docFeatures: readonly EncodedFeatures[], previous: Float32Array): Float32Array {
    const anchors = nodeAnchors(this.trie, this.encoder, docFeatures);
    const values = this.nodes.values;
    for (let i = 0; i < values.length; i++) values[i]! += anchors[i]! - previous[i]!;
    this.#serving = undefined;
    return anchors;
  }

  get dim(): number {
    return this.encoder.table.dim;
  }

  /** One optimisation step over a batch; returns the mean loss (sum over trie levels). */
  trainStep(batch: readonly ExpertExample[], optimizers: ExpertOptimizers): number {
    const { trie } = this;
    const dim = this.dim;
    const size = batch.length;
    const features = packFeatures(batch.map((e) => e.features));
    const h0 = bagOf(this.encoder, features);

    // Per level, from the root (choosing among the expert's topics) down: the children of
    // each example's prefix node, padded to the widest child list of that level.
    const levels: { indices: Int32Array; mask: Float32Array; targets: Int32Array; width: number }[] = [];
    const paths = batch.map((e) => pathNodes(trie, trie.leafOfDoc(e.doc)));
    let extra = 0;
    for (const e of batch) if (e.negatives && e.negatives.length > extra) extra = e.negatives.length;
    for (let depth = 0; depth < this.#widthAtDepth.length; depth++) {
      if (this.#widthAtDepth[depth]! === 0) break;
      // The leaf's softmax also holds the example's negatives, at the depth where its leaf is.
      const width = this.#widthAtDepth[depth]! + extra;
      const indices = new Int32Array(size * width).fill(-1);
      const mask = new Float32Array(size * width).fill(PADDING_LOGIT);
      const targets = new Int32Array(size).fill(-1);
      paths.forEach((path, b) => {
        if (depth + 1 >= path.length) return;
        const parent = path[depth]!;
        const first = trie.firstChild[parent]!;
        const count = trie.childCount[parent]!;
        for (let c = 0; c < count; c++) {
          indices[b * width + c] = first + c;
          mask[b * width + c] = 0;
        }
        targets[b] = path[depth + 1]! - first;
        const negatives = batch[b]!.negatives;
        if (!negatives || depth + 2 !== path.length) return;
        let at = count;
        for (const n of negatives) {
          const leaf = trie.leafOfDoc(n);
          // Siblings are in the softmax already.
          if (trie.parent[leaf] === parent) continue;
          indices[b * width + at] = leaf;
          mask[b * width + at] = 0;
          at++;
        }
      });
      levels.push({ indices, mask, targets, width });
    }

    const gathered = levels.map((level) => {
      const out = new Float32Array(level.indices.length * dim);
      this.nodes.gather(level.indices, out);
      return out;
    });

    // Results leave the tidy through these variables, not its return value: tidy walks what
    // it returns looking for tensors, element by element through typed arrays (seconds per step).
    let loss = 0;
    let gradH0: Float32Array = new Float32Array(0);
    let gradNodes: Float32Array[] = [];
    tf.tidy(() => {
      const h0Tensor = tf.tensor2d(h0, [size, dim]);
      const candidateTensors = levels.map((level, i) => tf.tensor3d(gathered[i]!, [size, level.width, dim]));
      const masks = levels.map((level) => tf.tensor2d(level.mask, [size, level.width]));
      const targets = levels.map((level) => tf.tensor1d(level.targets, 'int32'));
      const f = (x: tf.Tensor, mix: tf.Tensor, scale: tf.Tensor, ...candidates: tf.Tensor[]): tf.Scalar => {
        const h = project(x as tf.Tensor2D, mix as tf.Tensor2D);
        let total = tf.scalar(0);
        candidates.forEach((c, i) => {
          total = tf.add(total, candidateLoss(h, c as tf.Tensor3D, masks[i]!, targets[i]!, scale as tf.Scalar, false));
        });
        return total;
      };
      const { value, grads } = tf.valueAndGrads(f)([h0Tensor, this.encoder.mix, this.scale, ...candidateTensors]);
      optimizers.dense.applyGradients({ [this.encoder.mix.name]: grads[1]!, [this.scale.name]: grads[2]! });
      loss = value.dataSync()[0]!;
      gradH0 = grads[0]!.dataSync() as Float32Array;
      gradNodes = grads.slice(3).map((g) => g.dataSync() as Float32Array);
    });

    this.encoder.table.accumulateBag(features.rows, features.weights, features.offsets, gradH0);
    this.encoder.table.applyAdam(optimizers.encoder);
    levels.forEach((level, i) => this.nodes.accumulateGather(level.indices, gradNodes[i]!));
    this.nodes.applyAdam(optimizers.sparse);
    this.#serving = undefined;
    return loss;
  }

  /**
   * Divides the rows of the nodes at depth d + 1 by temperatures[d]: the softmax choosing
   * among a depth-d node's children runs at that temperature, with no change to serving.
   * Temperatures above 1 at the cluster level let a strong leaf in a weaker cluster win.
   */
  temper(temperatures: readonly number[]): void {
    const { trie } = this;
    for (let n = 1; n < trie.size; n++) {
      const t = temperatures[trie.depth[n]! - 1] ?? 1;
      if (t === 1) continue;
      const row = this.nodes.row(n);
      for (let k = 0; k < row.length; k++) row[k]! /= t;
    }
    this.#serving = undefined;
  }

  /** Query vectors (unit length, `dim` floats each) for encoded texts. */
  encode(items: readonly EncodedFeatures[]): Float32Array {
    return encodeBatch(this.encoder, items);
  }

  /** One query's vector, as a search computes it (see encodeOne). */
  encodeQuery(item: EncodedFeatures): Float32Array {
    return encodeOne(this.encoder, this.#servingState().mixColumns, item);
  }

  /**
   * Top-k documents for one encoded query. The router passes each topic node with
   * log P(topic) from the gating model, and hits carry log P(topic) + log P(rest | topic);
   * starting at the root (node 0, log-prob 0) lets the expert's own topic head choose,
   * which is how the shard's self-contained quality report is measured.
   */
  search(query: Float32Array, queryOffset: number, starts: readonly BeamStart[], options: SearchOptions): BeamHit[] {
    const serving = this.#servingState();
    const { trie } = this;
    const dim = this.dim;
    const scorer = (node: number): Float32Array => {
      const first = trie.firstChild[node]!;
      const out = new Float32Array(trie.childCount[node]!);
      const scale = serving.scale / (options.temperatures?.[trie.depth[node]!] ?? 1);
      for (let c = 0; c < out.length; c++) out[c] = scale * dot(query, queryOffset, serving.nodes, (first + c) * dim, dim);
      return logSoftmaxInPlace(out);
    };
    return constrainedBeamSearch(trie, starts, scorer, options);
  }

  /** The topic node of a topic id, or −1 when this expert does not hold it. */
  topicNode(topic: number): number {
    return this.trie.childOfLabel(0, topic);
  }

  dispose(): void {
    this.encoder.mix.dispose();
    this.scale.dispose();
  }

  /** The node rows, the logit scale and every row's length, as searches read them. */
  servingRows(): ServingRows {
    return this.#servingState();
  }

  #servingState(): ServingRows {
    // Read once after training or loading, never per query.
    if (!this.#serving) {
      const nodes = this.nodes.values;
      const dim = this.dim;
      const norms = new Float32Array(this.trie.size);
      for (let n = 0; n < norms.length; n++) norms[n] = Math.sqrt(dot(nodes, n * dim, nodes, n * dim, dim));
      const { trie } = this;
      const topicOf = new Int32Array(trie.size).fill(-1);
      // Breadth-first numbering: a parent comes before its children.
      for (let n = 1; n < trie.size; n++) topicOf[n] = trie.depth[n] === 1 ? trie.label[n]! : topicOf[trie.parent[n]!]!;
      this.#serving = { nodes, scale: this.scale.dataSync()[0]!, norms, topicOf, mixColumns: columnsOf(this.encoder.mix.dataSync() as Float32Array, dim) };
    }
    return this.#serving;
  }
}

/**
 * Where each node row starts: a leaf at its document's encoding, an inner node at the
 * normalised sum of its children's, so decoding works (lexically) before training.
 */
export function nodeAnchors(trie: DocIdTrie, encoder: EncoderWeights, docFeatures: readonly EncodedFeatures[]): Float32Array {
  const dim = encoder.table.dim;
  const docVectors = encodeBatch(encoder, docFeatures);
  const nodes = new SparseTable(trie.size, dim);
  for (let doc = 0; doc < docFeatures.length; doc++) nodes.row(trie.leafOfDoc(doc)).set(docVectors.subarray(doc * dim, (doc + 1) * dim));
  // Breadth-first numbering: children come after parents, so a reverse sweep finishes
  // every child (leaves are unit already; inner rows hold their children's sum) first.
  for (let n = trie.size - 1; n > 0; n--) {
    const row = nodes.row(n);
    if (trie.doc[n]! < 0) row.set(normalizeRows(row, dim));
    const parent = nodes.row(trie.parent[n]!);
    for (let k = 0; k < dim; k++) parent[k]! += row[k]!;
  }
  return nodes.values;
}

/** Node ids from the root (depth 0) down to the leaf: path[d] is the node at depth d. */
export function pathNodes(trie: DocIdTrie, leaf: number): number[] {
  const path: number[] = [];
  for (let n = leaf; n > 0; n = trie.parent[n]!) path.push(n);
  path.push(0);
  return path.reverse();
}
