/**
 * How many candidates a shard should rank: one built index searched in process under
 * several `ranking` settings (lexical top list, clusters decoded, semantic leaves kept),
 * each printed with Hits@1 / Hits@10 / MRR@10 and p50 / p99 of the whole search. The
 * settings are read at query time, so one build serves every row (its fusion was fit
 * under the index's own setting: rebuild with --set to confirm a new default).
 *
 *   node --import tsx cluster/bench/candidate-sweep.ts --index DIR --corpus DIR [--split dev] [--queries N] LEXICAL:CLUSTERS:SEMANTIC...
 *
 * e.g. 100:8:100000 (every leaf of 8 clusters) 50:4:16 30:4:16. Time it on a quiet machine.
 */
import { parseArgs } from 'node:util';
import { loadCorpus, loadQueries, loadSplit } from '../../shared/beir/reader.ts';
import type { IndexConfig } from '../../shared/config.ts';
import { initBackend } from '../../shared/model/backend.ts';
import { LocalIndex } from '../local-index.ts';

const USAGE = 'usage: candidate-sweep.ts --index DIR --corpus DIR [--split dev] [--queries N] LEXICAL:CLUSTERS:SEMANTIC...\n';
const WARM_UP = 50;

const { values, positionals } = parseArgs({
  options: { index: { type: 'string' }, corpus: { type: 'string' }, split: { type: 'string', default: 'dev' }, queries: { type: 'string', default: '2000' } },
  allowPositionals: true,
});
const settings = positionals.map((p) => p.split(':').map(Number));
if (!values.index || !values.corpus || settings.length === 0 || settings.some((s) => s.length !== 3 || s.some((n) => !Number.isInteger(n) || n < 1))) {
  process.stderr.write(USAGE);
  process.exit(2);
}

await initBackend({ prefer: 'auto' });
const { index } = await LocalIndex.open(values.index);
const queries = await loadQueries(values.corpus);
const { docIndex } = await loadCorpus(values.corpus);
const pairs = [...(await loadSplit(values.corpus, values.split!, queries, docIndex))].slice(0, Number(values.queries));
// The searcher reads the index's config on every query: changing it here changes the next search.
const ranking = index.config.ranking as IndexConfig['ranking'];
for (const [lexicalCandidates, clusters, semanticCandidates] of settings) {
  Object.assign(ranking, { lexicalCandidates, clusters, semanticCandidates });
  let hits1 = 0;
  let hits10 = 0;
  let mrr = 0;
  const times: number[] = [];
  for (const [n, [id, relevant]] of pairs.entries()) {
    const started = performance.now();
    const { hits } = await index.search(queries.get(id)!, 10);
    if (n >= WARM_UP) times.push(performance.now() - started);
    const rank = hits.findIndex((h) => relevant.has(h.id));
    if (rank === 0) hits1++;
    if (rank >= 0) {
      hits10++;
      mrr += 1 / (rank + 1);
    }
  }
  times.sort((a, b) => a - b);
  const q = pairs.length;
  const at = (f: number) => times[Math.min(times.length - 1, Math.floor(times.length * f))]!.toFixed(2);
  console.log(`${lexicalCandidates}:${clusters}:${semanticCandidates}  hits@1 ${(hits1 / q).toFixed(4)}  hits@10 ${(hits10 / q).toFixed(4)}  mrr@10 ${(mrr / q).toFixed(4)}  p50 ${at(0.5)} ms  p99 ${at(0.99)} ms`);
}
index.dispose();
