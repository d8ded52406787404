/**
 * Where retrieval quality is lost: routing (is the relevant document's topic asked?),
 * or the expert (given the right topic, is the document decoded into the top 10?).
 *
 *   node --import tsx cluster/bench/quality-breakdown.ts INDEX_DIR CORPUS_DIR [SPLIT=dev] [LIMIT=1500]
 *
 * Prints, over the split's first LIMIT queries: routed (relevant topic among those asked),
 * gatingTop1, pipeline Hits@1/@10, and the expert alone from the true topic node
 * (trueTopic) or from the shard's root (shardRoot).
 */
import { initBackend } from '../../shared/model/backend.ts';
import { loadCorpus, loadQueries, loadSplit } from '../../shared/beir/reader.ts';
import { featurize } from '../../shared/text/featurizer.ts';
import { beamFor } from '../../shared/model/expert/search-expert.ts';
import { LocalIndex } from '../local-index.ts';

const [indexDir, corpusDir, split = 'dev', limitArg = '1500'] = process.argv.slice(2);
if (!indexDir || !corpusDir) {
  process.stderr.write('usage: quality-breakdown.ts INDEX_DIR CORPUS_DIR [SPLIT] [LIMIT]\n');
  process.exit(2);
}
await initBackend({ prefer: 'auto' });
const { index } = await LocalIndex.open(indexDir);
const { docIndex } = await loadCorpus(corpusDir);
const queries = await loadQueries(corpusDir);
const where = new Map<string, { shard: string; local: number; topic: number }>();
for (const [shard, e] of index.experts) e.docIds.forEach((id, i) => where.set(id, { shard, local: i, topic: e.model.trie.pathOf(e.model.trie.leafOfDoc(i))[0]! }));
const qrels = [...(await loadSplit(corpusDir, split, queries, docIndex))].slice(0, Number(limitArg));
const count = { n: 0, routed: 0, gatingTop1: 0, pipeline1: 0, pipeline10: 0, trueTopic1: 0, trueTopic10: 0, shardRoot10: 0 };
const beam = beamFor(10, index.config.decode.beamWidth);
for (const [queryId, relevant] of qrels) {
  const text = queries.get(queryId)!;
  const id = [...relevant][0]!;
  const w = where.get(id)!;
  const result = await index.search(text, 10);
  count.n++;
  if (result.routed.some((r) => r.topic === w.topic)) count.routed++;
  if (result.routed[0]?.topic === w.topic) count.gatingTop1++;
  const ids = result.hits.map((h) => h.id);
  if (ids.includes(id)) count.pipeline10++;
  if (ids[0] === id) count.pipeline1++;
  const { model } = index.experts.get(w.shard)!;
  const v = model.encode([model.encoder.vocabulary.encode(featurize(text, index.config.featurizer))]);
  const fromTopic = model.search(v, 0, [{ node: model.topicNode(w.topic), logp: 0 }], beam).map((h) => h.doc);
  if (fromTopic.includes(w.local)) count.trueTopic10++;
  if (fromTopic[0] === w.local) count.trueTopic1++;
  if (model.search(v, 0, [{ node: 0, logp: 0 }], beam).some((h) => h.doc === w.local)) count.shardRoot10++;
}
const { n, ...rest } = count;
console.log(JSON.stringify({ split, queries: n, ...Object.fromEntries(Object.entries(rest).map(([k, v]) => [k, +(v / Math.max(n, 1)).toFixed(3)])) }));
index.dispose();
