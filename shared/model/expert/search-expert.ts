import { Scoring, type RoutedTopic, type ShardHit, type ShardQuery } from '../../bus/protocol.ts';
import type { IndexConfig } from '../../config.ts';
import { featurizeQuery } from '../../text/featurizer.ts';
import { TopK } from '../../util/top-k.ts';
import type { BeamStart } from '../../decode/beam.ts';
import { FEATURE, FUSION_SIZE, fusedScore, type FusionWeights } from '../fusion/fusion.ts';
import { logSoftmaxInPlace } from '../heads.ts';
import { dot } from '../../util/dot.ts';
import type { LoadedExpert } from './expert-store.ts';
import { docIdOf } from './shard-documents.ts';
import type { SearchOptions } from './expert-model.ts';

/** What an expert needs of the index's config to answer: how queries are featurized, how wide it decodes and how many candidates it ranks. */
export type ExpertSearchConfig = Readonly<Pick<IndexConfig, 'featurizer' | 'decode' | 'ranking'>>;

/** A candidate's features, in FUSION_FEATURES order. */
const { lexical: LEXICAL, lexicalShare: LEXICAL_SHARE, leaf: LEAF, leafCosine: LEAF_COSINE, cluster: CLUSTER, topic: TOPIC, lexicalTop: LEXICAL_TOP, nameCoverage: NAME_COVERAGE, nameMisses: NAME_MISSES } = FEATURE;

/** log P(topic) given to a candidate whose topic the router sent no probability for (an older router). */
const UNKNOWN_TOPIC_LOGP = -20;

/** Documents one shard considered for a query, with the features the fusion ranks them by. */
export interface Candidates {
  /** Document numbers within the expert (trie doc order). */
  readonly docs: Int32Array;
  /** FUSION_SIZE features per document, row-major. */
  readonly features: Float32Array;
}

/**
 * Answers one query for one shard, text in, hits out. Both halves of the index find
 * candidates: the lexical pass over the shard's term sets (its top candidates, in any of
 * the shard's topics), and the semantic half, decoding the DocID from each routed topic
 * down to its most likely clusters, every leaf of which is a candidate. Every candidate
 * is then scored jointly, unnormalised, by the index's fusion of lexical and semantic
 * evidence (fusion.ts), the same function in every shard, so the router's merge is a sort.
 *
 * `scoring` ranks by one half alone: the lexical score over the lexical candidates, or the
 * DocID's log-probability as the semantic half decodes it. The expert process and the
 * in-process searcher both answer through this function.
 */
export function searchExpert(expert: LoadedExpert, query: ShardQuery, config: ExpertSearchConfig): ShardHit[] {
  if (query.scoring === Scoring.semantic) return decodeSemantic(expert, query, config);
  const candidates = findCandidates(expert, query, config);
  if (candidates.docs.length === 0) return [];
  const fusion = query.scoring === Scoring.lexical ? LEXICAL_ONLY : expert.fusion;
  const top = new TopK(query.k);
  for (let c = 0; c < candidates.docs.length; c++) top.push(candidates.docs[c]!, fusedScore(fusion, candidates.features, c * FUSION_SIZE));
  return top.sorted().map((h) => hitOf(expert, h.id, h.score));
}

/** Searches run by warmUpExpert: enough for the search code to be compiled before the first real query. */
const WARM_UP_SEARCHES = 20;

/**
 * Runs a few searches on an expert before it serves: its serving tables are built on first
 * use and the search code is compiled by the first calls, which together take longer than
 * a search's deadline. Each search asks one of `topics` with a few of the shard's terms.
 */
export function warmUpExpert(expert: LoadedExpert, topics: readonly number[], config: ExpertSearchConfig): void {
  const terms = expert.lexicon.pass.index.terms;
  if (topics.length === 0 || terms.length === 0) return;
  for (let i = 0; i < WARM_UP_SEARCHES; i++) {
    const picked = Array.from({ length: 4 }, (_, j) => terms[(i * 7919 + j * 104729) % terms.length]!);
    searchExpert(expert, { query: 'warm up', topics: [{ topic: topics[i % topics.length]!, logp: 0 }], k: 10, lexical: { terms: picked, weights: picked.map(() => 1), bound: picked.length } }, config);
  }
}

const LEXICAL_ONLY: FusionWeights = Object.freeze({ weights: Float32Array.from({ length: FUSION_SIZE }, (_, i) => (i === LEXICAL ? 1 : 0)), bias: 0 });

/**
 * Every candidate of one shard with its features: what the fusion is fit on at build
 * time, and what searchExpert ranks. With `scoring: lexical`, the lexical candidates only.
 */
export function findCandidates(expert: LoadedExpert, query: ShardQuery, config: ExpertSearchConfig): Candidates {
  const { model, lexicon } = expert;
  // Routed to none of this shard's topics (the router knows a newer topic map): nothing to answer.
  const starts = topicStarts(expert, query.topics);
  if (starts.length === 0) return { docs: new Int32Array(0), features: new Float32Array(0) };
  const { trie } = model;
  const rows = model.servingRows();
  const vector = model.encodeQuery(model.encoder.vocabulary.encode(featurizeQuery(query.query, config.featurizer)));

  const terms = query.lexical ?? { terms: [], weights: [], bound: 0 };
  const pass = lexicon.pass;
  const lexicalTop = pass.run({ ids: terms.terms, weights: terms.weights }, Math.max(config.ranking.lexicalCandidates, query.k));

  const topicLogp = new Map<number, number>();
  for (const t of query.otherTopics ?? []) topicLogp.set(t.topic, t.logp);
  for (const t of query.topics) topicLogp.set(t.topic, t.logp);

  const docs: number[] = [];
  const scratch = queryScratch(expert, vector);
  const { seen, current } = scratch;
  for (const h of lexicalTop) {
    seen[h.id] = current;
    docs.push(h.id);
  }
  const lexicalCount = docs.length;
  if (query.scoring !== Scoring.lexical) {
    // Never fewer than the k asked for: a shard holding k documents in its likely clusters answers k.
    for (const doc of likelyLeaves(expert, scratch, starts, config.ranking.clusters, Math.max(config.ranking.semanticCandidates, query.k))) {
      if (seen[doc] === current) continue;
      seen[doc] = current;
      docs.push(doc);
    }
  }

  const features = new Float32Array(docs.length * FUSION_SIZE);
  const bound = terms.bound > 0 ? terms.bound : 1;
  const names = { matched: 0, total: 0 };
  for (let c = 0; c < docs.length; c++) {
    const d = docs[c]!;
    const leaf = trie.leafOfDoc(d);
    const parent = trie.parent[leaf]!;
    const at = c * FUSION_SIZE;
    const lexical = pass.evidenceOf(d, names);
    const leafDot = scratch.dot(leaf);
    features[at + LEXICAL] = lexical;
    features[at + LEXICAL_SHARE] = lexical / bound;
    features[at + LEAF] = rows.scale * leafDot;
    features[at + LEAF_COSINE] = rows.norms[leaf]! > 0 ? leafDot / rows.norms[leaf]! : 0;
    features[at + CLUSTER] = parent > 0 ? scratch.dot(parent) : 0;
    features[at + TOPIC] = topicLogp.get(rows.topicOf[leaf]!) ?? UNKNOWN_TOPIC_LOGP;
    features[at + LEXICAL_TOP] = c < lexicalCount ? 1 : 0;
    features[at + NAME_COVERAGE] = names.total > 0 ? names.matched / names.total : 0;
    features[at + NAME_MISSES] = names.total - names.matched;
  }
  return { docs: Int32Array.from(docs), features };
}

/**
 * What one query has computed in one expert: which documents are already candidates, and
 * the dot product of the query's vector with each node row read so far (the beam, the
 * leaves and the candidates' features read many of the same rows). Stamped with the
 * query's number rather than cleared; one per expert, reused by every query.
 */
class QueryScratch {
  readonly seen: Uint32Array;
  current = 0;
  readonly #dots: Float32Array;
  readonly #dotStamp: Uint32Array;
  readonly #dim: number;
  #rows: Float32Array = new Float32Array(0);
  #vector: Float32Array = new Float32Array(0);

  /** Log-softmax of one node's children, reused by every node a query expands (the widest node sets its length). */
  readonly children: Float32Array;

  constructor(docs: number, nodes: number, dim: number, maxChildren: number) {
    this.seen = new Uint32Array(docs);
    this.children = new Float32Array(maxChildren);
    this.#dots = new Float32Array(nodes);
    this.#dotStamp = new Uint32Array(nodes);
    this.#dim = dim;
  }

  /** A new query: its vector, and the expert's node rows as they are now (a retrain replaces them). */
  begin(vector: Float32Array, rows: Float32Array): void {
    this.current++;
    this.#vector = vector;
    this.#rows = rows;
  }

  /** The query vector · node's row. */
  dot(node: number): number {
    if (this.#dotStamp[node] === this.current) return this.#dots[node]!;
    this.#dotStamp[node] = this.current;
    return (this.#dots[node] = dot(this.#vector, 0, this.#rows, node * this.#dim, this.#dim));
  }
}

const SCRATCH = new WeakMap<LoadedExpert, QueryScratch>();

function queryScratch(expert: LoadedExpert, vector: Float32Array): QueryScratch {
  const { model } = expert;
  const rows = model.servingRows().nodes;
  let scratch = SCRATCH.get(expert);
  if (!scratch) SCRATCH.set(expert, (scratch = new QueryScratch(expert.docIds.length, model.trie.size, model.dim, model.trie.childCount.reduce((most, count) => Math.max(most, count), 0))));
  scratch.begin(vector, rows);
  return scratch;
}

/**
 * The semantic half's candidates: the leaves of the `clusterCount` most likely clusters, of
 * which the `leafCount` most likely (log P(cluster) + the log-softmax of the
 * leaf among its siblings, as the DocID decodes) are ranked jointly with the lexical ones.
 */
function likelyLeaves(expert: LoadedExpert, scratch: QueryScratch, starts: readonly BeamStart[], clusterCount: number, leafCount: number): number[] {
  const { model } = expert;
  const { trie } = model;
  const rows = model.servingRows();
  const best = new TopK(leafCount);
  // Best cluster first: a leaf scores at most its cluster's log P (its own log-softmax is ≤ 0),
  // so once a cluster is below the leaves already kept, none of its leaves is read.
  for (const cluster of likelyClusters(expert, scratch, starts, clusterCount)) {
    if (cluster.logp < best.threshold) break;
    const first = trie.firstChild[cluster.node]!;
    const count = trie.childCount[cluster.node]!;
    const logits = scratch.children;
    for (let c = 0; c < count; c++) logits[c] = rows.scale * scratch.dot(first + c);
    logSoftmaxInPlace(logits, count);
    for (let c = 0; c < count; c++) if (trie.doc[first + c]! >= 0) best.push(trie.doc[first + c]!, cluster.logp + logits[c]!);
  }
  return best.sorted().map((h) => h.id);
}

/**
 * The semantic half's beam at the level of clusters: from the routed topics down, the
 * `width` most likely nodes whose children are leaves (log P(topic) + the log-softmax of
 * each level below it), best first.
 */
function likelyClusters(expert: LoadedExpert, scratch: QueryScratch, starts: readonly BeamStart[], width: number): { node: number; logp: number }[] {
  const { model } = expert;
  const { trie } = model;
  const rows = model.servingRows();
  const clusters = new TopK(width);
  // Most likely first: a node's descendants score at most its own log P, so a node below the
  // clusters already kept is not expanded (the result is the same, its children's dot products are saved).
  let frontier = starts.map((s) => ({ node: s.node, logp: s.logp })).sort((a, b) => b.logp - a.logp || a.node - b.node);
  while (frontier.length > 0) {
    const next = new TopK(width);
    for (const { node, logp } of frontier) {
      if (logp < clusters.threshold) break;
      const first = trie.firstChild[node]!;
      const count = trie.childCount[node]!;
      if (count === 0) continue;
      // A node with leaves below it is a cluster: its leaves are scored by the caller, not here.
      let hasLeaf = false;
      for (let c = 0; c < count && !hasLeaf; c++) hasLeaf = trie.doc[first + c]! >= 0;
      if (hasLeaf) {
        clusters.push(node, logp);
        continue;
      }
      const scores = scratch.children;
      for (let c = 0; c < count; c++) scores[c] = rows.scale * scratch.dot(first + c);
      logSoftmaxInPlace(scores, count);
      for (let c = 0; c < count; c++) next.push(first + c, logp + scores[c]!);
    }
    frontier = next.sorted().map((h) => ({ node: h.id, logp: h.score }));
  }
  return clusters.sorted().map((h) => ({ node: h.id, logp: h.score }));
}

/** The semantic half alone: log P(topic) + log P(rest of the DocID | topic, query), decoded with a beam constrained to the trie. */
function decodeSemantic(expert: LoadedExpert, query: ShardQuery, config: ExpertSearchConfig): ShardHit[] {
  const { model } = expert;
  const starts = topicStarts(expert, query.topics);
  if (starts.length === 0) return [];
  const vector = model.encode([model.encoder.vocabulary.encode(featurizeQuery(query.query, config.featurizer))]);
  return model.search(vector, 0, starts, beamFor(query.k, config.decode.beamWidth)).map((hit) => hitOf(expert, hit.doc, hit.logp));
}

/** A hit titled from the shard's own documents when the expert holds their titles: whoever shows the results needs no records of its own. */
function hitOf(expert: LoadedExpert, doc: number, score: number): ShardHit {
  const id = expert.docIds[doc]!;
  const docid = docIdOf(expert.model.trie, doc);
  return expert.documents ? { id, docid, score, title: expert.documents.titles[doc]! } : { id, docid, score };
}

/** The k best hits of a beam at least k wide: the index's beam width, widened when more hits are asked for than it holds. */
export function beamFor(k: number, beamWidth: number): SearchOptions {
  return { beamWidth: Math.max(beamWidth, k), topK: k };
}

function topicStarts(expert: LoadedExpert, topics: readonly RoutedTopic[]): BeamStart[] {
  const starts: BeamStart[] = [];
  for (const t of topics) {
    const node = expert.model.topicNode(t.topic);
    if (node >= 0) starts.push({ node, logp: t.logp });
  }
  return starts;
}
