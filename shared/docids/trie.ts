import { BadInputError } from '../errors.ts';

const MAX_LABEL = 0x7fffffff;
const EMPTY = new Int32Array(0);

/** Per-level pieces of the trie while it is built breadth-first. */
interface Level {
  parent: Int32Array;
  label: Int32Array;
  /** Range of the `order` array holding the documents below each node of this level. */
  start: Int32Array;
  end: Int32Array;
  firstChild: Int32Array;
  childCount: Int32Array;
  doc: Int32Array;
}

/**
 * Compact trie of the existing DocIDs, for constrained decoding: a decoder may only
 * emit a component that leads to some document.
 *
 * Nodes are numbered breadth-first; node 0 is the root; the children of a node are
 * contiguous and sorted by label. Model weights are indexed by node id, so numbering
 * is a pure function of the set of paths (their order only decides `doc`).
 */
export class DocIdTrie {
  readonly parent: Int32Array;
  /** First child's node id, -1 for a node without children. */
  readonly firstChild: Int32Array;
  readonly childCount: Int32Array;
  /** The DocID component this node stands for within its parent (-1 for the root). */
  readonly label: Int32Array;
  /** Root 0, topic nodes 1. */
  readonly depth: Int32Array;
  /** Leaf: index of its document in the `paths` given to fromPaths; otherwise -1. */
  readonly doc: Int32Array;
  private readonly leafByDoc: Int32Array;
  private readonly widest: number;
  private readonly deepest: number;

  private constructor(
    parent: Int32Array,
    firstChild: Int32Array,
    childCount: Int32Array,
    label: Int32Array,
    depth: Int32Array,
    doc: Int32Array,
    leafByDoc: Int32Array,
  ) {
    this.parent = parent;
    this.firstChild = firstChild;
    this.childCount = childCount;
    this.label = label;
    this.depth = depth;
    this.doc = doc;
    this.leafByDoc = leafByDoc;
    let widest = 0;
    for (let u = 0; u < childCount.length; u++) if (childCount[u] > widest) widest = childCount[u];
    this.widest = widest;
    this.deepest = depth[depth.length - 1];
  }

  /** Throws BadInputError on an empty or non-integer path, a duplicate path, or a path that is a prefix of another. */
  static fromPaths(paths: readonly (readonly number[])[]): DocIdTrie {
    validatePaths(paths);
    const nDocs = paths.length;
    const order = new Int32Array(nDocs);
    for (let i = 0; i < nDocs; i++) order[i] = i;
    const leafByDoc = new Int32Array(nDocs);
    const scratch = new Int32Array(nDocs);

    const levels: Level[] = [];
    let level = openLevel(1);
    level.parent[0] = -1;
    level.label[0] = -1;
    level.start[0] = 0;
    level.end[0] = nDocs;
    let base = 0;
    for (let d = 0; ; d++) {
      const count = level.parent.length;
      let below = 0;
      for (let j = 0; j < count; j++) below += level.end[j] - level.start[j];
      const next = openLevel(below);
      let nextCount = 0;
      const nextBase = base + count;
      for (let j = 0; j < count; j++) {
        const s = level.start[j];
        const e = level.end[j];
        level.firstChild[j] = -1;
        level.doc[j] = -1;
        if (endsHere(paths, order, s, e, d)) {
          level.doc[j] = order[s];
          leafByDoc[order[s]] = base + j;
          continue;
        }
        if (s === e) continue;
        sortByComponent(paths, order, scratch, s, e, d);
        level.firstChild[j] = nextBase + nextCount;
        let runStart = s;
        for (let x = s + 1; x <= e; x++) {
          if (x < e && paths[order[x]][d] === paths[order[runStart]][d]) continue;
          next.parent[nextCount] = base + j;
          next.label[nextCount] = paths[order[runStart]][d];
          next.start[nextCount] = runStart;
          next.end[nextCount] = x;
          nextCount++;
          runStart = x;
        }
        level.childCount[j] = nextCount - (level.firstChild[j] - nextBase);
      }
      // Document ranges are only needed while the level's children are being made.
      level.start = level.end = EMPTY;
      levels.push(level);
      if (nextCount === 0) break;
      level = truncateLevel(next, nextCount);
      base = nextBase;
    }
    return DocIdTrie.assemble(levels, leafByDoc);
  }

  static fromJSON(json: { paths: number[][] }): DocIdTrie {
    if (typeof json !== 'object' || json === null || !Array.isArray(json.paths)) {
      throw new BadInputError('DocID trie JSON must be an object with a "paths" array');
    }
    return DocIdTrie.fromPaths(json.paths);
  }

  /** Serialised via the paths in document order; fromJSON rebuilds identical arrays. */
  toJSON(): { paths: number[][] } {
    const paths: number[][] = new Array(this.leafByDoc.length);
    for (let d = 0; d < paths.length; d++) paths[d] = this.pathOf(this.leafByDoc[d]);
    return { paths };
  }

  get size(): number {
    return this.parent.length;
  }

  /** Number of documents (leaves). */
  get docCount(): number {
    return this.leafByDoc.length;
  }

  /**
   * Node reached by following `path` from the root, or -1 if no DocID starts with it.
   * A partial path (a proper prefix of some DocID) yields that internal node, which
   * has doc -1; the empty path yields the root.
   */
  nodeOfPath(path: readonly number[]): number {
    let u = 0;
    for (let i = 0; i < path.length; i++) {
      u = this.childOfLabel(u, path[i]);
      if (u < 0) return -1;
    }
    return u;
  }

  pathOf(node: number): number[] {
    this.checkNode(node);
    const path: number[] = new Array(this.depth[node]);
    for (let u = node, i = path.length - 1; i >= 0; u = this.parent[u], i--) path[i] = this.label[u];
    return path;
  }

  leafOfDoc(doc: number): number {
    if (!Number.isInteger(doc) || doc < 0 || doc >= this.leafByDoc.length) {
      throw new BadInputError(`document ${doc} is outside 0..${this.leafByDoc.length - 1}`);
    }
    return this.leafByDoc[doc];
  }

  /** Child of `node` with this label, or -1. `node` must be a valid node id (unchecked: hot path). */
  childOfLabel(node: number, label: number): number {
    let lo = this.firstChild[node];
    if (lo < 0) return -1;
    let hi = lo + this.childCount[node];
    const labels = this.label;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (labels[mid] < label) lo = mid + 1;
      else hi = mid;
    }
    return lo < this.firstChild[node] + this.childCount[node] && labels[lo] === label ? lo : -1;
  }

  /** Largest number of children of any node: the widest softmax a decoder needs. */
  maxChildren(): number {
    return this.widest;
  }

  /** Depth of the deepest node (0 for a trie without documents). */
  levels(): number {
    return this.deepest;
  }

  /** Concatenates the levels into the breadth-first node arrays. */
  private static assemble(levels: readonly Level[], leafByDoc: Int32Array): DocIdTrie {
    let total = 0;
    for (const l of levels) total += l.parent.length;
    const parent = new Int32Array(total);
    const firstChild = new Int32Array(total);
    const childCount = new Int32Array(total);
    const label = new Int32Array(total);
    const depth = new Int32Array(total);
    const doc = new Int32Array(total);
    let at = 0;
    levels.forEach((l, d) => {
      parent.set(l.parent, at);
      firstChild.set(l.firstChild, at);
      childCount.set(l.childCount, at);
      label.set(l.label, at);
      doc.set(l.doc, at);
      depth.fill(d, at, at + l.parent.length);
      at += l.parent.length;
    });
    return new DocIdTrie(parent, firstChild, childCount, label, depth, doc, leafByDoc);
  }

  private checkNode(node: number): void {
    if (!Number.isInteger(node) || node < 0 || node >= this.parent.length) {
      throw new BadInputError(`node ${node} is outside 0..${this.parent.length - 1}`);
    }
  }
}

function validatePaths(paths: readonly (readonly number[])[]): void {
  if (!Array.isArray(paths)) throw new BadInputError('paths must be an array');
  for (let i = 0; i < paths.length; i++) {
    const p = paths[i];
    if (!Array.isArray(p) || p.length === 0) throw new BadInputError(`path of document ${i} must be a non-empty array`);
    for (const c of p) {
      if (!Number.isInteger(c) || c < 0 || c > MAX_LABEL) {
        throw new BadInputError(`path of document ${i} has component ${c}, expected an integer in [0, ${MAX_LABEL}]`);
      }
    }
  }
}

/**
 * True when the node owning order[s..e) at depth d is a leaf. Any path ending at d
 * while the node holds more than one document is a duplicate or a prefix: thrown.
 */
function endsHere(paths: readonly (readonly number[])[], order: Int32Array, s: number, e: number, d: number): boolean {
  let ending = -1;
  for (let x = s; x < e; x++) {
    if (paths[order[x]].length !== d) continue;
    if (e - s === 1) return true;
    const a = order[x];
    if (ending >= 0) throw new BadInputError(`duplicate DocID ${paths[a].join('-')} (documents ${ending} and ${a})`);
    ending = a;
  }
  if (ending < 0) return false;
  const other = order[order[s] === ending ? s + 1 : s];
  throw new BadInputError(
    `DocID ${paths[ending].join('-')} of document ${ending} is a prefix of ${paths[other].join('-')} of document ${other}`,
  );
}

/**
 * Orders order[s..e) by component d. Counting sort when the labels are dense (the usual
 * case: components are small cluster numbers), else a comparison sort.
 */
function sortByComponent(
  paths: readonly (readonly number[])[],
  order: Int32Array,
  scratch: Int32Array,
  s: number,
  e: number,
  d: number,
): void {
  let min = MAX_LABEL;
  let max = 0;
  for (let x = s; x < e; x++) {
    const c = paths[order[x]][d];
    if (c < min) min = c;
    if (c > max) max = c;
  }
  if (min === max) return;
  const span = max - min + 1;
  if (span > 4 * (e - s) + 64) {
    order.subarray(s, e).sort((a, b) => paths[a][d] - paths[b][d] || a - b);
    return;
  }
  const counts = new Int32Array(span + 1);
  for (let x = s; x < e; x++) counts[paths[order[x]][d] - min + 1]++;
  for (let b = 0; b < span; b++) counts[b + 1] += counts[b];
  for (let x = s; x < e; x++) scratch[counts[paths[order[x]][d] - min]++] = order[x];
  order.set(scratch.subarray(0, e - s), s);
}

function openLevel(capacity: number): Level {
  return {
    parent: new Int32Array(capacity),
    label: new Int32Array(capacity),
    start: new Int32Array(capacity),
    end: new Int32Array(capacity),
    firstChild: new Int32Array(capacity),
    childCount: new Int32Array(capacity),
    doc: new Int32Array(capacity),
  };
}

/** Copies the used part, so the over-sized buffers of a level can be freed. */
function truncateLevel(level: Level, count: number): Level {
  return {
    parent: level.parent.slice(0, count),
    label: level.label.slice(0, count),
    start: level.start.slice(0, count),
    end: level.end.slice(0, count),
    firstChild: level.firstChild.slice(0, count),
    childCount: level.childCount.slice(0, count),
    doc: level.doc.slice(0, count),
  };
}
