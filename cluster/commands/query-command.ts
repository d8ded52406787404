import { BadInputError } from '../../shared/errors.ts';
import { LocalIndex } from '../local-index.ts';
import { intFlag, parseFlags, requireFlag, RUNTIME_FLAGS_HELP, type Command } from './context.ts';
import { RUNTIME_FLAGS, startRuntime } from './runtime.ts';

export const queryCommand: Command = {
  summary: 'answer a query from an index, in this process',
  usage: `dsi query --index DIR [--k N] [--json] "some text" ${RUNTIME_FLAGS_HELP}`,
  async run(argv, ctx) {
    const { values, positionals } = parseFlags(argv, { index: { type: 'string' }, k: { type: 'string' }, json: { type: 'boolean' }, ...RUNTIME_FLAGS }, true);
    const indexDir = requireFlag(values.index, '--index');
    const k = intFlag(values.k, '--k', 1, 100) ?? 10;
    const text = positionals.join(' ').trim();
    if (!text) throw new BadInputError('give the query text, e.g. dsi query --index DIR "image viewer"');
    await startRuntime(ctx, 'dsi-query', values, { level: 'warn' });
    const { index } = await LocalIndex.open(indexDir);
    try {
      const t = performance.now();
      const result = await index.search(text, k);
      const tookMs = performance.now() - t;
      const hits = result.hits.map((h) => ({ ...h, title: h.title ?? '' }));
      if (values.json) {
        ctx.stdout.write(`${JSON.stringify({ results: hits, routed: result.routed.map((r) => ({ topic: r.topic, p: Math.exp(r.logp) })), took_ms: tookMs })}\n`);
      } else {
        ctx.stdout.write(`routed to topics ${result.routed.map((r) => `${r.topic} (p=${Math.exp(r.logp).toFixed(2)})`).join(', ')} in ${tookMs.toFixed(2)} ms\n`);
        hits.forEach((h, i) => ctx.stdout.write(`${String(i + 1).padStart(2)}. ${h.title.padEnd(32)} ${h.id}  ${h.docid.padEnd(10)} ${h.score.toFixed(3)}  [${h.shard}]\n`));
      }
      return 0;
    } finally {
      index.dispose();
    }
  },
};
