import { BadInputError } from '../errors.ts';
import type { DocIdTrie } from '../docids/trie.ts';

/** An open prefix to decode from, e.g. a topic node with log P(topic). */
export interface BeamStart {
  node: number;
  logp: number;
}

export interface BeamHit {
  doc: number;
  leaf: number;
  logp: number;
}

/** scorer(node) returns log-probabilities over that node's children, in trie order (length = childCount[node]). */
export type ChildScorer = (node: number) => Float32Array;

export interface BeamOptions {
  beamWidth: number;
  topK: number;
}

/**
 * Constrained beam search: every step follows trie edges only, so every hit is an
 * existing document. Each round expands all open prefixes by one component and keeps
 * the `beamWidth` best non-leaf children (by cumulative log-prob, ties by node id);
 * children that are leaves become hits and do not take beam slots, so branches of
 * different depth mix freely.
 *
 * Log-probs must be ≤ 0, so a prefix's score can only fall: once a prefix scores below
 * the current k-th hit it is dropped, and the search ends when no prefix is left.
 * A child scored -Infinity or NaN is treated as impossible.
 *
 * Starts must be distinct and none may lie below another (each document must be
 * reachable along a single route). Returns up to topK hits by logp desc, ties by doc.
 */
export function constrainedBeamSearch(
  trie: DocIdTrie,
  starts: readonly BeamStart[],
  scorer: ChildScorer,
  opts: BeamOptions,
): BeamHit[] {
  const { beamWidth, topK } = opts;
  if (!Number.isInteger(beamWidth) || beamWidth < 1) throw new BadInputError(`beamWidth must be a positive integer, got ${beamWidth}`);
  if (!Number.isInteger(topK) || topK < 1) throw new BadInputError(`topK must be a positive integer, got ${topK}`);
  checkStarts(trie, starts);

  const { firstChild, childCount, doc } = trie;
  const hits = new Hits(topK);
  const beam = new Beam(beamWidth);
  for (const s of starts) {
    if (!(s.logp > -Infinity)) continue;
    if (doc[s.node] >= 0) hits.offer(doc[s.node], s.node, s.logp);
    else beam.offer(s.node, s.logp);
  }

  let cur = beam.take();
  while (cur > 0) {
    for (let b = 0; b < cur; b++) {
      const lp = beam.curLogp[b];
      if (lp < hits.floor()) continue;
      const u = beam.curNode[b];
      const count = childCount[u];
      if (count === 0) continue;
      const scores = scorer(u);
      if (scores.length !== count) {
        throw new BadInputError(`scorer returned ${scores.length} log-probs for node ${u}, which has ${count} children`);
      }
      const first = firstChild[u];
      for (let j = 0; j < count; j++) {
        const s = scores[j];
        if (!(s > -Infinity)) continue;
        const child = first + j;
        const clp = lp + s;
        const d = doc[child];
        if (d >= 0) hits.offer(d, child, clp);
        else if (clp >= hits.floor()) beam.offer(child, clp);
      }
    }
    cur = beam.take();
  }
  return hits.toArray();
}

function checkStarts(trie: DocIdTrie, starts: readonly BeamStart[]): void {
  if (!Array.isArray(starts)) throw new BadInputError('starts must be an array');
  const size = trie.size;
  for (const s of starts) {
    if (!Number.isInteger(s.node) || s.node < 0 || s.node >= size) {
      throw new BadInputError(`start node ${s.node} is outside 0..${size - 1}`);
    }
    if (typeof s.logp !== 'number' || Number.isNaN(s.logp)) throw new BadInputError(`start node ${s.node} has logp ${s.logp}`);
  }
  if (starts.length < 2) return;
  // Overlapping starts would reach one document twice and report it twice.
  const chosen = new Set<number>();
  for (const s of starts) {
    if (chosen.has(s.node)) throw new BadInputError(`start node ${s.node} is given twice`);
    chosen.add(s.node);
  }
  for (const s of starts) {
    for (let u = trie.parent[s.node]; u >= 0; u = trie.parent[u]) {
      if (chosen.has(u)) throw new BadInputError(`start node ${s.node} lies below start node ${u}`);
    }
  }
}

/**
 * The open prefixes: `cur*` is the round being expanded, and the next round is
 * collected in a bounded min-heap (worst at the root) so only the best `width` survive.
 * Both live in buffers allocated once per search.
 */
class Beam {
  readonly curNode: Int32Array;
  readonly curLogp: Float64Array;
  private readonly heapNode: Int32Array;
  private readonly heapLogp: Float64Array;
  private heapSize = 0;
  private readonly width: number;

  constructor(width: number) {
    this.width = width;
    this.curNode = new Int32Array(width);
    this.curLogp = new Float64Array(width);
    this.heapNode = new Int32Array(width);
    this.heapLogp = new Float64Array(width);
  }

  offer(node: number, logp: number): void {
    const nodes = this.heapNode;
    const logps = this.heapLogp;
    if (this.heapSize < this.width) {
      let i = this.heapSize++;
      while (i > 0) {
        const p = (i - 1) >> 1;
        if (!worse(logp, node, logps[p], nodes[p])) break;
        nodes[i] = nodes[p];
        logps[i] = logps[p];
        i = p;
      }
      nodes[i] = node;
      logps[i] = logp;
      return;
    }
    if (worse(logps[0], nodes[0], logp, node)) this.replaceRoot(node, logp, this.heapSize);
  }

  /**
   * Makes the collected prefixes the round to expand, best first, and returns how many
   * there are. Best first lets the strongest prefixes finish hits early in the round,
   * which raises the k-th-hit floor and spares scorer calls on the weaker ones.
   */
  take(): number {
    const n = this.heapSize;
    // Heap-sort: the root is the worst of the heap, so fill from the back.
    for (let size = n; size > 0; size--) {
      this.curNode[size - 1] = this.heapNode[0];
      this.curLogp[size - 1] = this.heapLogp[0];
      this.replaceRoot(this.heapNode[size - 1], this.heapLogp[size - 1], size - 1);
    }
    this.heapSize = 0;
    return n;
  }

  /** Puts (node, logp) at the root of a heap of `n` entries and sifts it down. */
  private replaceRoot(node: number, logp: number, n: number): void {
    const nodes = this.heapNode;
    const logps = this.heapLogp;
    let i = 0;
    for (;;) {
      const l = 2 * i + 1;
      if (l >= n) break;
      const r = l + 1;
      const c = r < n && worse(logps[r], nodes[r], logps[l], nodes[l]) ? r : l;
      if (!worse(logps[c], nodes[c], logp, node)) break;
      nodes[i] = nodes[c];
      logps[i] = logps[c];
      i = c;
    }
    if (n > 0) {
      nodes[i] = node;
      logps[i] = logp;
    }
  }
}

/** Beam order: lower log-prob is worse; on a tie the higher node id is, for determinism. */
function worse(lpA: number, nodeA: number, lpB: number, nodeB: number): boolean {
  return lpA < lpB || (lpA === lpB && nodeA > nodeB);
}

/** The best `k` finished hits, kept sorted (logp desc, doc asc) by insertion. */
class Hits {
  private readonly k: number;
  private readonly docs: Int32Array;
  private readonly leaves: Int32Array;
  private readonly logps: Float64Array;
  private count = 0;

  constructor(k: number) {
    this.k = k;
    this.docs = new Int32Array(k);
    this.leaves = new Int32Array(k);
    this.logps = new Float64Array(k);
  }

  /** Score a prefix must reach to still matter: the k-th hit's, or -Infinity until there are k. */
  floor(): number {
    return this.count < this.k ? -Infinity : this.logps[this.k - 1];
  }

  offer(doc: number, leaf: number, logp: number): void {
    const { docs, leaves, logps, k } = this;
    if (this.count === k && !better(logp, doc, logps[k - 1], docs[k - 1])) return;
    let i = this.count < k ? this.count++ : k - 1;
    while (i > 0 && better(logp, doc, logps[i - 1], docs[i - 1])) {
      docs[i] = docs[i - 1];
      leaves[i] = leaves[i - 1];
      logps[i] = logps[i - 1];
      i--;
    }
    docs[i] = doc;
    leaves[i] = leaf;
    logps[i] = logp;
  }

  toArray(): BeamHit[] {
    const out: BeamHit[] = new Array(this.count);
    for (let i = 0; i < this.count; i++) out[i] = { doc: this.docs[i], leaf: this.leaves[i], logp: this.logps[i] };
    return out;
  }
}

/** Hit order: higher log-prob first, then lower document index. */
function better(lpA: number, docA: number, lpB: number, docB: number): boolean {
  return lpA > lpB || (lpA === lpB && docA < docB);
}
