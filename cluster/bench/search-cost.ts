/**
 * Where a search's time goes, in process: one built index, the same queries timed part by
 * part, each part over every query, best of several rounds (the machine's noise only adds):
 *   route     the query head, the gating model and the lexical plan (Engine.shardQueries)
 *   pass      each asked shard's sparse pass alone
 *   find      each asked shard's candidates with their features (the pass included)
 *   expert    each asked shard's whole answer (searchExpert: find, then the fusion)
 *   search    the whole search (Engine.search: route, every shard, merge)
 * in ms per query, with the shards asked per query.
 *
 *   node --import tsx cluster/bench/search-cost.ts --index DIR --corpus DIR [--split test] [--queries 1000] [--rounds 7]
 */
import { parseArgs } from 'node:util';
import { loadCorpus, loadQueries, loadSplit } from '../../shared/beir/reader.ts';
import { initBackend } from '../../shared/model/backend.ts';
import { findCandidates, searchExpert } from '../../shared/model/expert/search-expert.ts';
import { LocalIndex } from '../local-index.ts';

const { values } = parseArgs({
  options: { index: { type: 'string' }, corpus: { type: 'string' }, split: { type: 'string', default: 'test' }, queries: { type: 'string', default: '1000' }, rounds: { type: 'string', default: '7' } },
});
if (!values.index || !values.corpus) {
  process.stderr.write('usage: search-cost.ts --index DIR --corpus DIR [--split test] [--queries 1000] [--rounds 7]\n');
  process.exit(2);
}

await initBackend({ prefer: 'auto' });
const { index } = await LocalIndex.open(values.index);
const queries = await loadQueries(values.corpus);
const { docIndex } = await loadCorpus(values.corpus);
const texts = [...(await loadSplit(values.corpus, values.split!, queries, docIndex))].slice(0, Number(values.queries)).map(([id]) => queries.get(id)!);
const asked = texts.flatMap((text) =>
  [...index.engine.shardQueries(text, { k: 10 })].map(([shard, query]) => ({
    expert: index.experts.get(shard)!,
    query,
    terms: { ids: Uint32Array.from(query.lexical?.terms ?? []), weights: Float32Array.from(query.lexical?.weights ?? []) },
  })),
);
const best = { route: Infinity, pass: Infinity, find: Infinity, expert: Infinity, search: Infinity };
const time = async (part: keyof typeof best, run: () => unknown) => {
  const started = performance.now();
  await run();
  best[part] = Math.min(best[part], performance.now() - started);
};
for (let round = 0; round < Number(values.rounds); round++) {
  await time('route', () => texts.forEach((text) => index.engine.shardQueries(text, { k: 10 })));
  await time('pass', () => asked.forEach((a) => a.expert.lexicon.pass.run(a.terms, Math.max(index.config.ranking.lexicalCandidates, 10))));
  await time('find', () => asked.forEach((a) => findCandidates(a.expert, a.query, index.config)));
  await time('expert', () => asked.forEach((a) => searchExpert(a.expert, a.query, index.config)));
  await time('search', async () => {
    for (const text of texts) await index.engine.search(text, { k: 10 });
  });
}
const perQuery = Object.entries(best).map(([part, ms]) => `${part} ${(ms / texts.length).toFixed(3)}`);
console.log(`${texts.length} queries, ${(asked.length / texts.length).toFixed(2)} shards asked per query; ms per query, best of ${values.rounds} rounds: ${perQuery.join('  ')}`);
index.dispose();
