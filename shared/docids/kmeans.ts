import { BadInputError } from '../errors.ts';
import { mulberry32, shuffleInPlace } from '../util/random.ts';

export interface BalancedKMeansOptions {
  seed: number;
  /** Centroid updates at most; stops earlier once assignments settle. Default 10. */
  iterations?: number;
}

const DEFAULT_ITERATIONS = 10;
// Centroids are fitted on a seeded sample of at most this many rows per cluster (as
// faiss does): more rows barely move them but every Lloyd iteration costs linear time.
// Only the final balanced assignment then touches every row.
const TRAIN_ROWS_PER_CLUSTER = 256;
const MIN_TRAIN_ROWS = 1 << 13;
// k-means++ costs a pass over its rows per centroid, as much as a whole assignment, and
// those passes miss the cache once the rows outgrow it; seeding from a small sample
// works as well, since the Lloyd iterations do the fitting.
const SEED_ROWS_PER_CLUSTER = 16;
const MIN_SEED_ROWS = 2048;
// Stop iterating once at most 1/CONVERGED of the rows change cluster: the greedy
// capacity fill keeps shuffling a few boundary rows forever, and on clustered data
// the last 0.5% of moves barely change the centroids.
const CONVERGED = 200;
// Cap on (row, cluster) candidate pairs held at once (five 4-byte buffers each), so
// 10M rows do not need a 10M × k similarity matrix in memory.
const PAIR_BUDGET = 1 << 23;
const MIN_CANDIDATES = 2;
// Sort keys are cosines quantised to 22 bits (steps of ~5e-7, far finer than any
// difference that matters), sorted in two 11-bit radix passes.
const KEY_BITS = 22;
const RADIX_BITS = 11;
const RADIX_SIZE = 1 << RADIX_BITS;
const RADIX_MASK = RADIX_SIZE - 1;

/** Rows of `data` visible to one clustering call, with their inverse norms. */
interface RowView {
  readonly data: Float32Array;
  readonly dim: number;
  readonly rows: Int32Array;
  /** 1/‖row‖ per entry of `rows`, 0 for a zero vector, so cosine = dot × invNorm. */
  readonly invNorm: Float32Array;
}

/** Buffers reused by every balanced assignment of one clustering call. */
interface Workspace {
  keys: Uint32Array;
  pairs: Uint32Array;
  keysTmp: Uint32Array;
  pairsTmp: Uint32Array;
  cand: Int32Array;
  counts: Int32Array;
  sims: Float64Array;
  simsB: Float64Array;
  open: Int32Array;
  size: Int32Array;
  pending: Int32Array;
}

/**
 * Spherical k-means with equal-size clusters: every cluster gets floor(n/k) or
 * ceil(n/k) of the given rows. Returns the cluster of each entry of `rows`, in order.
 *
 * Similarity is cosine, so rows need not be normalised (zero vectors are allowed and
 * are equally similar to every centroid). Seeding is k-means++ and all randomness
 * comes from `opts.seed`, so the result is a pure function of the inputs.
 *
 * Above max(256·k, 8192) rows the centroids are fitted on a seeded sample; the
 * returned balanced assignment always covers every row.
 *
 * k <= 1 puts everything in cluster 0; k >= rows.length gives each row its own
 * cluster (row i → cluster i).
 */
export function balancedKMeans(
  data: Float32Array,
  dim: number,
  rows: Int32Array,
  k: number,
  opts: BalancedKMeansOptions,
): Int32Array {
  validate(data, dim, rows, k, opts);
  const n = rows.length;
  const out = new Int32Array(n);
  if (n === 0 || k <= 1) return out;
  if (k >= n) {
    for (let i = 0; i < n; i++) out[i] = i;
    return out;
  }

  const view: RowView = { data, dim, rows, invNorm: inverseNorms(data, dim, rows) };
  const rand = mulberry32(opts.seed);
  const all = identity(n);
  const maxTrain = Math.max(TRAIN_ROWS_PER_CLUSTER * k, MIN_TRAIN_ROWS);
  const train = n > maxTrain ? sampleSorted(n, maxTrain, rand) : all;
  const ws = workspace(n, k);

  const maxSeed = Math.max(SEED_ROWS_PER_CLUSTER * k, MIN_SEED_ROWS);
  const seedRows = train.length > maxSeed ? pick(train, sampleSorted(train.length, maxSeed, rand)) : train;
  const centroids = seedCentroids(view, seedRows, k, rand);
  const iterations = opts.iterations ?? DEFAULT_ITERATIONS;
  let assign = new Int32Array(train.length);
  let prev = new Int32Array(train.length).fill(-1);
  let settled = false;
  for (let it = 0; it < iterations; it++) {
    balancedAssign(view, train, centroids, k, ws, assign);
    let changed = 0;
    for (let i = 0; i < assign.length; i++) if (assign[i] !== prev[i]) changed++;
    if (changed * CONVERGED <= train.length) {
      settled = true;
      break;
    }
    updateCentroids(view, train, assign, k, centroids);
    const t = prev;
    prev = assign;
    assign = t;
  }
  if (settled && train === all) return assign;
  balancedAssign(view, all, centroids, k, ws, out);
  return out;
}

function validate(data: Float32Array, dim: number, rows: Int32Array, k: number, opts: BalancedKMeansOptions): void {
  if (!(data instanceof Float32Array)) throw new BadInputError('data must be a Float32Array');
  if (!(rows instanceof Int32Array)) throw new BadInputError('rows must be an Int32Array');
  if (!Number.isInteger(dim) || dim <= 0) throw new BadInputError(`dim must be a positive integer, got ${dim}`);
  if (data.length % dim !== 0) throw new BadInputError(`data length ${data.length} is not a multiple of dim ${dim}`);
  if (!Number.isInteger(k)) throw new BadInputError(`k must be an integer, got ${k}`);
  if (!Number.isInteger(opts.seed)) throw new BadInputError(`seed must be an integer, got ${opts.seed}`);
  const it = opts.iterations;
  if (it !== undefined && (!Number.isInteger(it) || it < 0)) {
    throw new BadInputError(`iterations must be a non-negative integer, got ${it}`);
  }
  const total = data.length / dim;
  for (let i = 0; i < rows.length; i++) {
    const r = rows[i];
    if (r < 0 || r >= total) throw new BadInputError(`rows[${i}] = ${r} is outside the ${total} rows of data`);
  }
}

function inverseNorms(data: Float32Array, dim: number, rows: Int32Array): Float32Array {
  const inv = new Float32Array(rows.length);
  for (let i = 0; i < rows.length; i++) {
    const o = rows[i] * dim;
    let s = 0;
    for (let d = 0; d < dim; d++) s += data[o + d] * data[o + d];
    if (!Number.isFinite(s)) throw new BadInputError(`row ${rows[i]} has non-finite values`);
    inv[i] = s > 0 ? 1 / Math.sqrt(s) : 0;
  }
  return inv;
}

function identity(n: number): Int32Array {
  const a = new Int32Array(n);
  for (let i = 0; i < n; i++) a[i] = i;
  return a;
}

/** `m` distinct indices below n, ascending so later scans walk memory forwards. */
function sampleSorted(n: number, m: number, rand: () => number): Int32Array {
  const perm = identity(n);
  shuffleInPlace(perm, rand);
  return perm.slice(0, m).sort();
}

function pick(from: Int32Array, at: Int32Array): Int32Array {
  const out = new Int32Array(at.length);
  for (let i = 0; i < at.length; i++) out[i] = from[at[i]];
  return out;
}

function workspace(n: number, k: number): Workspace {
  // A round holds at most max(budget, MIN × pending) pairs and never more than n × k.
  const cap = Math.min(n * k, Math.max(PAIR_BUDGET, MIN_CANDIDATES * n));
  return {
    keys: new Uint32Array(cap),
    pairs: new Uint32Array(cap),
    keysTmp: new Uint32Array(cap),
    pairsTmp: new Uint32Array(cap),
    cand: new Int32Array(cap),
    counts: new Int32Array(2 * RADIX_SIZE),
    sims: new Float64Array(k),
    simsB: new Float64Array(k),
    open: new Int32Array(k),
    size: new Int32Array(k),
    pending: new Int32Array(n),
  };
}

/** Unit-length copy of entry `i` of the view into centroid slot `c`. */
function setCentroid(view: RowView, i: number, centroids: Float32Array, c: number): void {
  const { data, dim } = view;
  const o = view.rows[i] * dim;
  const s = view.invNorm[i];
  const co = c * dim;
  for (let d = 0; d < dim; d++) centroids[co + d] = data[o + d] * s;
}

function cosine(view: RowView, i: number, centroids: Float32Array, c: number): number {
  const { data, dim } = view;
  const o = view.rows[i] * dim;
  const co = c * dim;
  // Independent partial sums let the four products of a step overlap in the pipeline.
  let s0 = 0;
  let s1 = 0;
  let s2 = 0;
  let s3 = 0;
  let d = 0;
  for (; d + 4 <= dim; d += 4) {
    s0 += data[o + d] * centroids[co + d];
    s1 += data[o + d + 1] * centroids[co + d + 1];
    s2 += data[o + d + 2] * centroids[co + d + 2];
    s3 += data[o + d + 3] * centroids[co + d + 3];
  }
  for (; d < dim; d++) s0 += data[o + d] * centroids[co + d];
  return (s0 + s1 + s2 + s3) * view.invNorm[i];
}

/** k-means++: each next centroid is drawn with probability ∝ 1 − cos to its nearest chosen one. */
function seedCentroids(view: RowView, pos: Int32Array, k: number, rand: () => number): Float32Array {
  const m = pos.length;
  const centroids = new Float32Array(k * view.dim);
  const dist = new Float64Array(m);
  setCentroid(view, pos[Math.floor(rand() * m)], centroids, 0);
  for (let i = 0; i < m; i++) dist[i] = Math.max(0, 1 - cosine(view, pos[i], centroids, 0));
  for (let c = 1; c < k; c++) {
    let total = 0;
    for (let i = 0; i < m; i++) total += dist[i];
    let pick = Math.floor(rand() * m);
    // With every row on top of a chosen centroid (duplicates) the draw above stands.
    if (total > 0) {
      const target = rand() * total;
      let acc = 0;
      for (let i = 0; i < m; i++) {
        if (dist[i] <= 0) continue;
        pick = i;
        acc += dist[i];
        if (acc > target) break;
      }
    }
    setCentroid(view, pos[pick], centroids, c);
    if (c === k - 1) break;
    for (let i = 0; i < m; i++) {
      const d = Math.max(0, 1 - cosine(view, pos[i], centroids, c));
      if (d < dist[i]) dist[i] = d;
    }
  }
  return centroids;
}

/** Mean direction of each cluster; a cluster whose members cancel out keeps its old centroid. */
function updateCentroids(view: RowView, pos: Int32Array, assign: Int32Array, k: number, centroids: Float32Array): void {
  const { data, dim, rows, invNorm } = view;
  const sums = new Float64Array(k * dim);
  for (let i = 0; i < pos.length; i++) {
    const p = pos[i];
    const s = invNorm[p];
    if (s === 0) continue;
    const o = rows[p] * dim;
    const co = assign[i] * dim;
    for (let d = 0; d < dim; d++) sums[co + d] += data[o + d] * s;
  }
  for (let c = 0; c < k; c++) {
    const co = c * dim;
    let norm = 0;
    for (let d = 0; d < dim; d++) norm += sums[co + d] * sums[co + d];
    if (norm <= 0) continue;
    const inv = 1 / Math.sqrt(norm);
    for (let d = 0; d < dim; d++) centroids[co + d] = sums[co + d] * inv;
  }
}

/**
 * Cosines of view entries `pa` and `pb` to the `nOpen` clusters listed in `open`, into
 * `simsA` / `simsB` (pass pb = -1 for one row). Two rows × four centroids per pass keeps
 * eight sums in registers and loads each value once per four or two products; that
 * blocking roughly halves the cost of this, the innermost loop of the whole build.
 */
function rowSimilarities(
  view: RowView,
  pa: number,
  pb: number,
  centroids: Float32Array,
  open: Int32Array,
  nOpen: number,
  simsA: Float64Array,
  simsB: Float64Array,
): void {
  const { data, dim, rows, invNorm } = view;
  const oa = rows[pa] * dim;
  const sa = invNorm[pa];
  if (pb < 0) {
    for (let j = 0; j < nOpen; j++) {
      const co = open[j] * dim;
      let acc = 0;
      for (let d = 0; d < dim; d++) acc += data[oa + d] * centroids[co + d];
      simsA[j] = acc * sa;
    }
    return;
  }
  const ob = rows[pb] * dim;
  const sb = invNorm[pb];
  let j = 0;
  for (; j + 4 <= nOpen; j += 4) {
    const c0 = open[j] * dim;
    const c1 = open[j + 1] * dim;
    const c2 = open[j + 2] * dim;
    const c3 = open[j + 3] * dim;
    let a0 = 0;
    let a1 = 0;
    let a2 = 0;
    let a3 = 0;
    let b0 = 0;
    let b1 = 0;
    let b2 = 0;
    let b3 = 0;
    for (let d = 0; d < dim; d++) {
      const x = data[oa + d];
      const y = data[ob + d];
      const w0 = centroids[c0 + d];
      const w1 = centroids[c1 + d];
      const w2 = centroids[c2 + d];
      const w3 = centroids[c3 + d];
      a0 += x * w0;
      a1 += x * w1;
      a2 += x * w2;
      a3 += x * w3;
      b0 += y * w0;
      b1 += y * w1;
      b2 += y * w2;
      b3 += y * w3;
    }
    simsA[j] = a0 * sa;
    simsA[j + 1] = a1 * sa;
    simsA[j + 2] = a2 * sa;
    simsA[j + 3] = a3 * sa;
    simsB[j] = b0 * sb;
    simsB[j + 1] = b1 * sb;
    simsB[j + 2] = b2 * sb;
    simsB[j + 3] = b3 * sb;
  }
  for (; j < nOpen; j++) {
    const co = open[j] * dim;
    let a = 0;
    let b = 0;
    for (let d = 0; d < dim; d++) {
      const w = centroids[co + d];
      a += data[oa + d] * w;
      b += data[ob + d] * w;
    }
    simsA[j] = a * sa;
    simsB[j] = b * sb;
  }
}

/** Writes the candidate pairs of one pending row starting at pair index `base`. */
function proposeCandidates(
  sims: Float64Array,
  open: Int32Array,
  nOpen: number,
  t: number,
  keys: Uint32Array,
  cand: Int32Array,
  base: number,
): void {
  if (t === nOpen) {
    for (let j = 0; j < nOpen; j++) {
      keys[base + j] = simKey(sims[j]);
      cand[base + j] = open[j];
    }
  } else {
    topCandidates(sims, open, nOpen, t, keys, cand, base);
  }
}

/** Ascending key = descending cosine: cos 1 → 0, cos −1 → 2^22 − 1. */
function simKey(sim: number): number {
  const q = (1 - sim) * (1 << (KEY_BITS - 1));
  const max = (1 << KEY_BITS) - 1;
  return q <= 0 ? 0 : q >= max ? max : q | 0;
}

/**
 * Capacity-constrained assignment: (row, cluster) pairs are taken greedily in order of
 * decreasing cosine (ties by row order); a pair is used if the row is still free and
 * the cluster still has room. Exactly (n mod k) clusters may reach ceil(n/k).
 *
 * To bound memory each row proposes only its best few open clusters per round; rows
 * whose proposals all filled up try again against the clusters still open. A round
 * that leaves rows behind has filled at least one cluster, so rounds are ≤ k + 1.
 */
function balancedAssign(
  view: RowView,
  pos: Int32Array,
  centroids: Float32Array,
  k: number,
  ws: Workspace,
  out: Int32Array,
): void {
  const m = pos.length;
  const lo = Math.floor(m / k);
  let bigLeft = m - lo * k;
  const { size, open, sims, simsB, pending, cand } = ws;
  size.fill(0);
  out.fill(-1);
  for (let i = 0; i < m; i++) pending[i] = i;
  let nPending = m;

  while (nPending > 0) {
    let nOpen = 0;
    for (let c = 0; c < k; c++) if (size[c] < lo || (size[c] === lo && bigLeft > 0)) open[nOpen++] = c;
    const t = Math.min(nOpen, Math.max(MIN_CANDIDATES, Math.floor(PAIR_BUDGET / nPending)));
    const nPairs = nPending * t;
    const keys = ws.keys;
    for (let q = 0; q < nPending; q += 2) {
      const pb = q + 1 < nPending ? pos[pending[q + 1]] : -1;
      rowSimilarities(view, pos[pending[q]], pb, centroids, open, nOpen, sims, simsB);
      proposeCandidates(sims, open, nOpen, t, keys, cand, q * t);
      if (pb >= 0) proposeCandidates(simsB, open, nOpen, t, keys, cand, (q + 1) * t);
    }
    const order = radixSort(ws, nPairs);

    let left = nPending;
    for (let x = 0; x < nPairs && left > 0; x++) {
      const pair = order[x];
      const i = pending[Math.floor(pair / t)];
      if (out[i] >= 0) continue;
      const c = cand[pair];
      const s = size[c];
      if (s >= lo) {
        if (s > lo || bigLeft === 0) continue;
        bigLeft--;
      }
      size[c] = s + 1;
      out[i] = c;
      left--;
    }

    let w = 0;
    for (let q = 0; q < nPending; q++) if (out[pending[q]] < 0) pending[w++] = pending[q];
    nPending = w;
  }
}

/** Best `t` of the `nOpen` similarities by insertion into a short sorted run (t is small). */
function topCandidates(
  sims: Float64Array,
  open: Int32Array,
  nOpen: number,
  t: number,
  keys: Uint32Array,
  cand: Int32Array,
  base: number,
): void {
  let filled = 0;
  for (let j = 0; j < nOpen; j++) {
    const key = simKey(sims[j]);
    if (filled === t && key >= keys[base + t - 1]) continue;
    let x = filled < t ? base + filled++ : base + t - 1;
    while (x > base && keys[x - 1] > key) {
      keys[x] = keys[x - 1];
      cand[x] = cand[x - 1];
      x--;
    }
    keys[x] = key;
    cand[x] = open[j];
  }
}

/**
 * Stable LSD radix sort of pair indices 0..n-1 by `ws.keys` (22-bit); returns the
 * buffer that holds the sorted indices. Linear time matters here: it runs every
 * iteration over up to millions of pairs, where a comparison sort costs more than the
 * similarities. Both digit histograms come from one read of the keys.
 */
function radixSort(ws: Workspace, n: number): Uint32Array {
  const { keys, pairs, keysTmp, pairsTmp, counts } = ws;
  counts.fill(0);
  for (let i = 0; i < n; i++) {
    const key = keys[i];
    counts[key & RADIX_MASK]++;
    counts[RADIX_SIZE + (key >>> RADIX_BITS)]++;
  }
  let lo = 0;
  let hi = 0;
  for (let b = 0; b < RADIX_SIZE; b++) {
    const cl = counts[b];
    const ch = counts[RADIX_SIZE + b];
    counts[b] = lo;
    counts[RADIX_SIZE + b] = hi;
    lo += cl;
    hi += ch;
  }
  for (let i = 0; i < n; i++) {
    const key = keys[i];
    const at = counts[key & RADIX_MASK]++;
    keysTmp[at] = key;
    pairsTmp[at] = i;
  }
  for (let i = 0; i < n; i++) {
    const key = keysTmp[i];
    pairs[counts[RADIX_SIZE + (key >>> RADIX_BITS)]++] = pairsTmp[i];
  }
  return pairs;
}
