/**
 * How widely to route: one built index searched in process under several `routing`
 * settings (probability mass, the gating model's fan-out, topics the lexical plan adds),
 * each printed with how often the relevant document's topic and shard were asked, the
 * shards asked per query, Hits@1 / Hits@10 / MRR@10 and p50 / p99 of the whole search.
 * Routing is read at query time, so one build serves every row.
 *
 *   node --import tsx cluster/bench/routing-sweep.ts --index DIR --corpus DIR [--split dev] [--queries N] THRESHOLD:FANOUT:LEXICAL...
 *
 * e.g. 0.99:6:2 (the default) 0.99:8:4 0.999:12:4. Time it on a quiet machine.
 */
import { parseArgs } from 'node:util';
import { loadCorpus, loadQueries, loadSplit } from '../../shared/beir/reader.ts';
import type { IndexConfig } from '../../shared/config.ts';
import { initBackend } from '../../shared/model/backend.ts';
import { LocalIndex } from '../local-index.ts';
import { formatSplitFigures, searchSplit } from './split-search.ts';

const USAGE = 'usage: routing-sweep.ts --index DIR --corpus DIR [--split dev] [--queries N] THRESHOLD:FANOUT:LEXICAL...\n';

const { values, positionals } = parseArgs({
  options: { index: { type: 'string' }, corpus: { type: 'string' }, split: { type: 'string', default: 'dev' }, queries: { type: 'string', default: '2000' } },
  allowPositionals: true,
});
const settings = positionals.map((p) => p.split(':').map(Number) as [number, number, number]);
const valid = ([threshold, fanout, lexical]: number[]) => threshold! > 0 && threshold! <= 1 && Number.isInteger(fanout) && fanout! >= 1 && Number.isInteger(lexical) && lexical! >= 0;
if (!values.index || !values.corpus || settings.length === 0 || settings.some((s) => s.length !== 3 || !valid(s))) {
  process.stderr.write(USAGE);
  process.exit(2);
}

await initBackend({ prefer: 'auto' });
const { index } = await LocalIndex.open(values.index);
const queries = await loadQueries(values.corpus);
const { docIndex } = await loadCorpus(values.corpus);
const pairs = [...(await loadSplit(values.corpus, values.split!, queries, docIndex))].slice(0, Number(values.queries));
const home = new Map<string, { shard: string; topic: number }>();
for (const [shard, e] of index.experts) e.docIds.forEach((id, i) => home.set(id, { shard, topic: e.model.trie.pathOf(e.model.trie.leafOfDoc(i))[0]! }));
const shardOfTopic = index.routing.current.shardOfTopic;

// The engine reads the index's routing settings on every query: changing them here changes the next search.
const routing = index.config.routing as IndexConfig['routing'];
console.log(`${pairs.length} ${values.split} queries, ${index.experts.size} shards, ${index.gating.topicIds.length} topics`);
for (const [threshold, maxFanout, lexicalTopics] of settings) {
  Object.assign(routing, { threshold, maxFanout, lexicalTopics });
  let topicAsked = 0;
  let shardAsked = 0;
  let shards = 0;
  const figures = await searchSplit(index, queries, pairs, ({ routed }, relevant) => {
    const asked = new Set(routed.map((t) => shardOfTopic.get(t.topic)));
    const wanted = [...relevant].map((d) => home.get(d)).filter((h) => h !== undefined);
    if (wanted.some((h) => routed.some((t) => t.topic === h.topic))) topicAsked++;
    if (wanted.some((h) => asked.has(h.shard))) shardAsked++;
    shards += asked.size;
  });
  const share = (n: number) => (n / pairs.length).toFixed(4);
  console.log(`${threshold}:${maxFanout}:${lexicalTopics}  topic asked ${share(topicAsked)}  shard asked ${share(shardAsked)}  shards/query ${(shards / pairs.length).toFixed(2)}  ${formatSplitFigures(figures)}`);
}
index.dispose();
