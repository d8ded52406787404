import { BadInputError } from '../errors.ts';
import { balancedKMeans } from './kmeans.ts';

export interface DocIdOptions {
  /** Clusters at the first level; clamped to the number of documents. */
  topics: number;
  /** Most sub-clusters an oversized cluster is split into (≥ 2). */
  branching: number;
  /** Largest cluster that is numbered item by item instead of split again. */
  leafSize: number;
  seed: number;
  /** k-means iterations per split; see balancedKMeans. */
  iterations?: number;
}

/** Largest DocID component: components are stored in Int32Array trie labels. */
const MAX_COMPONENT = 0x7fffffff;

/** A cluster still to be split or numbered: its documents and its DocID prefix. */
interface Pending {
  docs: Int32Array;
  prefix: number[];
}

/**
 * DocID components of every document: out[i] = [topic, c1, ..., item].
 *
 * Balanced k-means into `topics` clusters over all documents, then every cluster with
 * more than `leafSize` documents is split into min(branching, ceil(size/leafSize))
 * balanced sub-clusters, recursively. Documents of a small-enough cluster are numbered
 * by decreasing cosine to its centroid (ties by document index) so that numbering is
 * stable. Paths are unique and prefix-free even for identical vectors, because
 * balanced clustering splits duplicates and items are numbered within their cluster.
 * Each split is seeded from `seed` and its path alone, so the result does not depend
 * on the order in which clusters are processed.
 */
export function buildSemanticDocIds(vectors: Float32Array, n: number, dim: number, opts: DocIdOptions): number[][] {
  validateBuild(vectors, n, dim, opts);
  const out: number[][] = new Array(n);
  if (n === 0) return out;
  const all = new Int32Array(n);
  for (let i = 0; i < n; i++) all[i] = i;

  // The topic level always splits, even below leafSize: every DocID leads with a topic.
  const stack: Pending[] = [];
  splitInto(vectors, dim, { docs: all, prefix: [] }, Math.min(opts.topics, n), opts, stack, out);
  const scratch = new Float64Array(dim);
  while (stack.length > 0) {
    const node = stack.pop() as Pending;
    const k = Math.min(opts.branching, Math.ceil(node.docs.length / opts.leafSize));
    splitInto(vectors, dim, node, k, opts, stack, out, scratch);
  }
  return out;
}

/** Clusters `node` into k groups; small groups are numbered, large ones queued. */
function splitInto(
  vectors: Float32Array,
  dim: number,
  node: Pending,
  k: number,
  opts: DocIdOptions,
  stack: Pending[],
  out: number[][],
  scratch = new Float64Array(dim),
): void {
  const seed = nodeSeed(opts.seed, node.prefix);
  const assign = balancedKMeans(vectors, dim, node.docs, k, { seed, iterations: opts.iterations });
  const groups = groupByCluster(node.docs, assign, k);
  for (let c = 0; c < k; c++) {
    const docs = groups.docs.subarray(groups.start[c], groups.start[c + 1]);
    const prefix = [...node.prefix, c];
    if (docs.length <= opts.leafSize) numberItems(vectors, dim, docs, prefix, out, scratch);
    else stack.push({ docs, prefix });
  }
}

/** Stable counting sort of docs by cluster; cluster c owns docs[start[c] .. start[c+1]). */
function groupByCluster(docs: Int32Array, assign: Int32Array, k: number): { docs: Int32Array; start: Int32Array } {
  const start = new Int32Array(k + 1);
  for (let i = 0; i < assign.length; i++) start[assign[i] + 1]++;
  for (let c = 0; c < k; c++) start[c + 1] += start[c];
  const next = start.slice(0, k);
  const grouped = new Int32Array(docs.length);
  for (let i = 0; i < docs.length; i++) grouped[next[assign[i]]++] = docs[i];
  return { docs: grouped, start };
}

/** Leaf cluster: item numbers by decreasing cosine to the cluster's mean direction. */
function numberItems(
  vectors: Float32Array,
  dim: number,
  docs: Int32Array,
  prefix: number[],
  out: number[][],
  centroid: Float64Array,
): void {
  const m = docs.length;
  const inv = new Float64Array(m);
  centroid.fill(0);
  for (let i = 0; i < m; i++) {
    const o = docs[i] * dim;
    let s = 0;
    for (let d = 0; d < dim; d++) s += vectors[o + d] * vectors[o + d];
    inv[i] = s > 0 ? 1 / Math.sqrt(s) : 0;
    for (let d = 0; d < dim; d++) centroid[d] += vectors[o + d] * inv[i];
  }
  // The centroid's length scales every cosine alike, so it is left unnormalised.
  const sim = new Float64Array(m);
  for (let i = 0; i < m; i++) {
    const o = docs[i] * dim;
    let s = 0;
    for (let d = 0; d < dim; d++) s += vectors[o + d] * centroid[d];
    sim[i] = s * inv[i];
  }
  const order = Array.from({ length: m }, (_, i) => i);
  order.sort((a, b) => sim[b] - sim[a] || docs[a] - docs[b]);
  for (let item = 0; item < m; item++) out[docs[order[item]]] = [...prefix, item];
}

/** murmur3 finaliser: spreads every input bit over the 32-bit result. */
function fmix32(h: number): number {
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}

/** Seed of the split at `path`, so sibling splits draw independent streams. */
function nodeSeed(seed: number, path: readonly number[]): number {
  let h = fmix32((seed >>> 0) ^ 0x9e3779b9);
  for (const c of path) h = fmix32((h ^ fmix32(c + 0x7f4a7c15)) + 0x165667b1);
  return h;
}

function isPositiveInteger(x: unknown): x is number {
  return typeof x === 'number' && Number.isInteger(x) && x > 0;
}

function validateBuild(vectors: Float32Array, n: number, dim: number, opts: DocIdOptions): void {
  if (!(vectors instanceof Float32Array)) throw new BadInputError('vectors must be a Float32Array');
  if (!Number.isInteger(n) || n < 0) throw new BadInputError(`n must be a non-negative integer, got ${n}`);
  if (!isPositiveInteger(dim)) throw new BadInputError(`dim must be a positive integer, got ${dim}`);
  if (vectors.length !== n * dim) {
    throw new BadInputError(`vectors has ${vectors.length} values, expected n × dim = ${n * dim}`);
  }
  if (typeof opts !== 'object' || opts === null) throw new BadInputError('DocID options are required');
  if (!isPositiveInteger(opts.topics)) throw new BadInputError(`topics must be a positive integer, got ${opts.topics}`);
  // A branching of 1 would never shrink an oversized cluster.
  if (!isPositiveInteger(opts.branching) || opts.branching < 2) {
    throw new BadInputError(`branching must be an integer ≥ 2, got ${opts.branching}`);
  }
  if (!isPositiveInteger(opts.leafSize)) throw new BadInputError(`leafSize must be a positive integer, got ${opts.leafSize}`);
  if (!Number.isInteger(opts.seed)) throw new BadInputError(`seed must be an integer, got ${opts.seed}`);
  const it = opts.iterations;
  if (it !== undefined && (!Number.isInteger(it) || it < 0)) {
    throw new BadInputError(`iterations must be a non-negative integer, got ${it}`);
  }
}

/** [2, 57, 3] → "2-57-3". */
export function formatDocId(path: readonly number[]): string {
  if (!Array.isArray(path) || path.length === 0) throw new BadInputError('a DocID needs at least one component');
  for (const c of path) {
    if (!Number.isInteger(c) || c < 0 || c > MAX_COMPONENT) {
      throw new BadInputError(`DocID component ${c} is not an integer in [0, ${MAX_COMPONENT}]`);
    }
  }
  return path.join('-');
}

// Canonical form only (no signs, blanks or leading zeros), so parse∘format is the identity.
const DOCID_PATTERN = /^(0|[1-9][0-9]*)(-(0|[1-9][0-9]*))*$/;

/** "2-57-3" → [2, 57, 3]; throws BadInputError unless `s` is what formatDocId produces. */
export function parseDocId(s: string): number[] {
  if (typeof s !== 'string' || !DOCID_PATTERN.test(s)) throw new BadInputError(`malformed DocID ${JSON.stringify(s)}`);
  const path = s.split('-').map(Number);
  for (const c of path) {
    if (c > MAX_COMPONENT) throw new BadInputError(`DocID ${s} has component ${c} above ${MAX_COMPONENT}`);
  }
  return path;
}

/**
 * Balanced topic → shard assignment: topics by decreasing size (ties by topic index),
 * each onto the currently lightest shard (ties by shard index). result[s] is the sorted
 * topic list of shard s; with more shards than topics some lists are empty.
 */
export function assignTopicsToShards(topicSizes: readonly number[], shards: number): number[][] {
  if (!isPositiveInteger(shards)) throw new BadInputError(`shards must be a positive integer, got ${shards}`);
  if (!Array.isArray(topicSizes)) throw new BadInputError('topicSizes must be an array');
  topicSizes.forEach((size, t) => {
    if (typeof size !== 'number' || !Number.isFinite(size) || size < 0) {
      throw new BadInputError(`topic ${t} has invalid size ${size}`);
    }
  });
  const order = topicSizes.map((_, t) => t).sort((a, b) => topicSizes[b] - topicSizes[a] || a - b);
  const load = new Float64Array(shards);
  const result: number[][] = Array.from({ length: shards }, () => []);
  for (const t of order) {
    let best = 0;
    for (let s = 1; s < shards; s++) if (load[s] < load[best]) best = s;
    load[best] += topicSizes[t];
    result[best].push(t);
  }
  for (const list of result) list.sort((a, b) => a - b);
  return result;
}
