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
import { formatSplitFigures, searchSplit } from './split-search.ts';

const USAGE = 'usage: candidate-sweep.ts --index DIR --corpus DIR [--split dev] [--queries N] LEXICAL:CLUSTERS:SEMANTIC...\n';

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
  console.log(`${lexicalCandidates}:${clusters}:${semanticCandidates}  ${formatSplitFigures(await searchSplit(index, queries, pairs))}`);
}
index.dispose();
