import { LocalIndex } from '../local-index.ts';
import { evaluate, type EvalReport } from '../eval/evaluate.ts';
import { intFlag, parseFlags, requireFlag, RUNTIME_FLAGS_HELP, type Command } from './context.ts';
import { RUNTIME_FLAGS, startRuntime } from './runtime.ts';

export const evalCommand: Command = {
  summary: 'measure an index on a split of a BEIR collection, next to a BM25 baseline on the same corpus',
  usage: `dsi eval --index DIR --corpus DIR --split NAME [--limit N] [--json] [--no-bm25] ${RUNTIME_FLAGS_HELP}`,
  async run(argv, ctx) {
    const { values } = parseFlags(argv, {
      index: { type: 'string' },
      corpus: { type: 'string' },
      split: { type: 'string' },
      limit: { type: 'string' },
      json: { type: 'boolean' },
      'no-bm25': { type: 'boolean' },
      ...RUNTIME_FLAGS,
    });
    const indexDir = requireFlag(values.index, '--index');
    const corpusDir = requireFlag(values.corpus, '--corpus');
    const split = requireFlag(values.split, '--split');
    const limit = intFlag(values.limit, '--limit', 1, 10_000_000);
    await startRuntime(ctx, 'dsi-eval', values);
    const { index, manifest } = await LocalIndex.open(indexDir);
    try {
      const report = await evaluate({ index, manifest, indexDir, corpusDir, split, limit, bm25: !values['no-bm25'] });
      ctx.stdout.write(values.json ? `${JSON.stringify(report)}\n` : formatReport(report));
      return 0;
    } finally {
      index.dispose();
    }
  },
};

function formatReport(r: EvalReport): string {
  const row = (name: string, f: EvalReport['dsi'] | null) =>
    f ? `${name.padEnd(6)} ${f['hits@1'].toFixed(3).padStart(7)} ${f['hits@10'].toFixed(3).padStart(8)} ${f['mrr@10'].toFixed(3).padStart(7)} ${f.p50_ms.toFixed(2).padStart(7)} ${f.p99_ms.toFixed(2).padStart(7)}\n` : '';
  let out = `${r.queries} queries of split '${r.split}'\n\nsystem  hits@1  hits@10  mrr@10  p50 ms  p99 ms\n`;
  out += row('dsi', r.dsi) + row('bm25', r.bm25);
  out += `\nrouting: relevant topic asked for ${(r.routing.hits * 100).toFixed(1)}% of queries, ${r.routing.mean_fanout.toFixed(2)} topics per query\n\n`;
  out += 'shard  docs   index_recall@1  collision_rate  hits@10  topics\n';
  for (const s of r.shards) {
    out += `${s.id.padEnd(6)} ${String(s.docs).padStart(5)}  ${s['index_recall@1'].toFixed(3).padStart(14)}  ${s.collision_rate.toFixed(3).padStart(14)}  ${s['hits@10'].toFixed(3).padStart(7)}  ${s.topics.join(',')}\n`;
  }
  return out;
}
