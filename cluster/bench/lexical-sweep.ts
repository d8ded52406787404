/**
 * The lexical half alone on a whole collection: the untrained head (BM25 under the
 * index's own analysis) and the head trained on the training split, on one split.
 *   node --import tsx cluster/bench/lexical-sweep.ts --corpus DIR [--split dev] [--limit N] [--set '{"epochs":2}']
 */
import { parseArgs } from 'node:util';
import { loadCorpus, loadQueries, loadSplit } from '../../shared/beir/reader.ts';
import { LatencyRecorder, RankingMetrics } from '../../shared/eval/metrics.ts';
import { CollectionStatistics } from '../../shared/model/lexical/statistics.ts';
import { QueryHead } from '../../shared/model/lexical/query-head.ts';
import { SparsePass } from '../../shared/model/lexical/sparse-pass.ts';
import { TermIndex } from '../../shared/model/lexical/term-index.ts';
import { documentTerms, queryWords } from '../../shared/model/lexical/terms.ts';
import { DEFAULT_HEAD_TRAINING, trainQueryHead } from '../../shared/model/lexical/train-head.ts';
import { loadQueryPairs } from '../indexing/query-pairs.ts';

const { values } = parseArgs({ options: { corpus: { type: 'string' }, split: { type: 'string', default: 'dev' }, limit: { type: 'string' }, set: { type: 'string', default: '{}' } } });
if (!values.corpus) throw new Error('--corpus DIR is required');
const { docs, docIndex } = await loadCorpus(values.corpus);
let t = performance.now();
const termSets = docs.map((d) => documentTerms(d.title, d.text));
const stats = CollectionStatistics.of(termSets);
const index = TermIndex.build(termSets, stats);
console.log(`lexical index: ${docs.length} documents, ${index.terms.length} terms, ${index.postings} postings, ${((performance.now() - t) / 1000).toFixed(1)} s`);
const pairs = (await loadQueryPairs(values.corpus, 'train', docIndex)).map((p) => ({ words: queryWords(p.query), doc: docIndex.get(p.doc)! }));
const initial = new QueryHead(stats);
const options = { ...DEFAULT_HEAD_TRAINING, ...JSON.parse(values.set) };
const { head: trained, report } = trainQueryHead(initial, index, pairs, options);
console.log(`head trained on ${report.pairs} pairs in ${report.seconds.toFixed(1)} s: ${report.translations} translations, ${trained.learnt.weights.ids.length} weights, ${trained.learnt.priors.ids.length} priors, losses ${report.losses.map((l) => l.toFixed(3)).join(' ')} (${JSON.stringify(options)})`);

const queries = await loadQueries(values.corpus);
const qrels = [...(await loadSplit(values.corpus, values.split, queries, docIndex))].slice(0, values.limit ? Number(values.limit) : undefined);
for (const [name, head] of [['bm25 (untrained head)', initial], ['trained head', trained]] as const) {
  const pass = SparsePass.withHead(index, head);
  const metrics = new RankingMetrics();
  const latency = new LatencyRecorder();
  for (const [id, relevant] of qrels) {
    const start = performance.now();
    const hits = pass.run(head.queryTerms(queryWords(queries.get(id)!)), 10);
    latency.record(performance.now() - start);
    metrics.add(hits.map((h) => docs[h.id]!.id), relevant);
  }
  const m = metrics.summary();
  const l = latency.summary();
  console.log(`${name}: ${values.split} ${qrels.length} queries hits@1 ${m['hits@1'].toFixed(4)} hits@10 ${m['hits@10'].toFixed(4)} mrr@10 ${m['mrr@10'].toFixed(4)} p50 ${l.p50_ms.toFixed(2)} ms p99 ${l.p99_ms.toFixed(2)} ms`);
}
