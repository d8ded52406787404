/**
 * How much slower a larger index answers: two built indexes (e.g. the 60K and the 800K
 * builds of bench:scale) loaded in one process and searched with this checkout's code, the
 * same queries (the first N of a split both corpora share) block by block in alternating
 * order, so the host's speed, which drifts from minute to minute on a shared machine, weighs
 * on both alike. Prints each index's p50 / p99 / mean and the ratio of the p50s, the figure
 * the scale target is set in (in-process p50 at 800K ≤ 1.5× that at 60K).
 *
 *   node --import tsx cluster/bench/latency-ratio.ts --small DIR --small-corpus DIR --large DIR --large-corpus DIR
 *                                                   [--split test] [--queries 2000] [--blocks 10]
 */
import { parseArgs } from 'node:util';
import { loadCorpus, loadQueries, loadSplit } from '../../shared/beir/reader.ts';
import { initBackend } from '../../shared/model/backend.ts';
import { LocalIndex } from '../local-index.ts';
import { mean, quantile, timeInAlternatingBlocks } from './alternating-blocks.ts';

const USAGE = 'usage: latency-ratio.ts --small DIR --small-corpus DIR --large DIR --large-corpus DIR [--split test] [--queries 2000] [--blocks 10]\n';
const { values } = parseArgs({
  options: {
    small: { type: 'string' },
    'small-corpus': { type: 'string' },
    large: { type: 'string' },
    'large-corpus': { type: 'string' },
    split: { type: 'string', default: 'test' },
    queries: { type: 'string', default: '2000' },
    blocks: { type: 'string', default: '10' },
  },
});
const blocks = Number(values.blocks);
const limit = Number(values.queries);
if (!values.small || !values['small-corpus'] || !values.large || !values['large-corpus'] || !(blocks >= 2) || !(limit >= blocks)) {
  process.stderr.write(USAGE);
  process.exit(2);
}

await initBackend({ prefer: 'auto' });

/** The split's query texts of a corpus, in qrels order. */
async function splitTexts(corpus: string): Promise<string[]> {
  const queries = await loadQueries(corpus);
  const { docIndex } = await loadCorpus(corpus);
  return [...(await loadSplit(corpus, values.split!, queries, docIndex))].slice(0, limit).map(([id]) => queries.get(id)!);
}

const sides = {
  small: { index: (await LocalIndex.open(values.small)).index, texts: await splitTexts(values['small-corpus']!) },
  large: { index: (await LocalIndex.open(values.large)).index, texts: await splitTexts(values['large-corpus']!) },
};
const count = Math.min(sides.small.texts.length, sides.large.texts.length);
// Every query once on both before timing: first-use allocations and compilation are not what is measured.
for (const side of Object.values(sides)) for (const text of side.texts.slice(0, count)) await side.index.search(text, 10);

const times = await timeInAlternatingBlocks(['small', 'large'], count, blocks, (name, q) => sides[name].index.search(sides[name].texts[q]!, 10));

console.log(`${count} ${values.split} queries on each index, ${blocks} alternating blocks`);
for (const name of ['small', 'large'] as const) {
  const docs = [...sides[name].index.experts.values()].reduce((n, e) => n + e.docIds.length, 0);
  console.log(`${name.padEnd(5)}  ${docs} documents, ${sides[name].index.experts.size} shards  p50 ${quantile(times[name], 0.5).toFixed(3)} ms  p99 ${quantile(times[name], 0.99).toFixed(3)} ms  mean ${mean(times[name]).toFixed(3)} ms`);
}
console.log(`p50 large / small: ${(quantile(times.large, 0.5) / quantile(times.small, 0.5)).toFixed(3)}`);
for (const side of Object.values(sides)) side.index.dispose();
