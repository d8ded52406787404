/**
 * Two versions of the search code on one index, in one process: this checkout and another
 * (`--baseline`, e.g. a `git worktree` of an earlier commit), each loading the index with
 * its own code. The same queries are searched by both, block by block in alternating
 * order, so the host's speed, which drifts by half from minute to minute on a shared
 * machine, weighs on both alike. Prints how many top-10 lists differ (ids and scores to five
 * decimals, and ids or order alone),
 * each version's p50 / p90 / mean, and the median over queries of this version's time
 * divided by the baseline's on the same query.
 *
 *   node --import tsx cluster/bench/search-ab.ts --baseline DIR --index DIR --corpus DIR [--split test] [--queries 3000] [--blocks 12]
 */
import { parseArgs } from 'node:util';
import { fileURLToPath } from 'node:url';
import { mean, quantile, timeInAlternatingBlocks } from './alternating-blocks.ts';

const USAGE = 'usage: search-ab.ts --baseline DIR --index DIR --corpus DIR [--split test] [--queries 3000] [--blocks 12]\n';
const { values } = parseArgs({
  options: {
    baseline: { type: 'string' },
    index: { type: 'string' },
    corpus: { type: 'string' },
    split: { type: 'string', default: 'test' },
    queries: { type: 'string', default: '3000' },
    blocks: { type: 'string', default: '12' },
  },
});
const blocks = Number(values.blocks);
const limit = Number(values.queries);
if (!values.baseline || !values.index || !values.corpus || !(blocks >= 2) || !(limit >= blocks)) {
  process.stderr.write(USAGE);
  process.exit(2);
}

interface Searcher {
  search(text: string, k: number): Promise<{ hits: { id: string; score: number }[] }>;
}

/** The index opened by the code of the checkout at `root`. */
async function open(root: string): Promise<Searcher> {
  const { initBackend } = await import(`${root}/shared/model/backend.ts`);
  const { LocalIndex } = await import(`${root}/cluster/local-index.ts`);
  await initBackend({ prefer: 'auto' });
  return (await LocalIndex.open(values.index!)).index as Searcher;
}

const here = fileURLToPath(new URL('../..', import.meta.url));
const { loadCorpus, loadQueries, loadSplit } = await import(`${here}/shared/beir/reader.ts`);
const queries: Map<string, string> = await loadQueries(values.corpus);
const { docIndex } = await loadCorpus(values.corpus);
const texts = [...(await loadSplit(values.corpus, values.split!, queries, docIndex))].slice(0, limit).map(([id]: [string]) => queries.get(id)!);
const versions = { baseline: await open(values.baseline), current: await open(here) };

const idsOf = (hits: { id: string }[]) => hits.map((h) => h.id).join(' ');
const listOf = (hits: { id: string; score: number }[]) => hits.map((h) => `${h.id}:${h.score.toFixed(5)}`).join(' ');
let differing = 0;
let differingIds = 0;
for (const text of texts) {
  const [a, b] = [(await versions.baseline.search(text, 10)).hits, (await versions.current.search(text, 10)).hits];
  if (listOf(a) !== listOf(b)) differing++;
  if (idsOf(a) !== idsOf(b)) differingIds++;
}

const times = await timeInAlternatingBlocks(['baseline', 'current'], texts.length, blocks, (name, q) => versions[name].search(texts[q]!, 10));

console.log(`${texts.length} queries, each searched once by both versions before timing (comparing their lists warms both up); top-10 lists that differ: ${differing} (in their ids or order: ${differingIds})`);
for (const name of ['baseline', 'current'] as const) {
  console.log(`${name.padEnd(8)}  p50 ${quantile(times[name], 0.5).toFixed(3)} ms  p90 ${quantile(times[name], 0.9).toFixed(3)} ms  mean ${mean(times[name]).toFixed(3)} ms`);
}
console.log(`current / baseline, median over queries: ${quantile(times.current.map((t, q) => t / times.baseline[q]!), 0.5).toFixed(3)}`);
