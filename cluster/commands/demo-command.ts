import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { defaultIndexConfig } from '../../shared/config.ts';
import { createProgress } from '../../shared/progress.ts';
import { buildIndex } from '../indexing/build-index.ts';
import { LocalJobRunner } from '../indexing/local-job-runner.ts';
import { LocalIndex } from '../local-index.ts';
import { parseFlags, RUNTIME_FLAGS_HELP, type Command } from './context.ts';
import { childEnvironment, RUNTIME_FLAGS, startRuntime } from './runtime.ts';
import { availableParallelism } from 'node:os';

const REPO = fileURLToPath(new URL('../..', import.meta.url));
export const DEMO_CORPUS = join(REPO, 'data', 'demo');
export const DEMO_INDEX = join(REPO, '.dsi', 'demo-index');
export const SAMPLE_QUERIES = ['real-time strategy game', 'python library for parsing HTML', 'documentation for developers', 'command-line audio player'];

export const demoCommand: Command = {
  summary: 'build the demo index from the collection shipped in data/demo (once) and answer sample queries',
  usage: `dsi demo [--rebuild] ${RUNTIME_FLAGS_HELP}`,
  async run(argv, ctx) {
    const { values } = parseFlags(argv, { rebuild: { type: 'boolean' }, ...RUNTIME_FLAGS });
    const { log, format } = await startRuntime(ctx, 'dsi-demo', values);
    if (values.rebuild || !existsSync(join(DEMO_INDEX, 'manifest.json'))) {
      log.info({ corpus: DEMO_CORPUS, out: DEMO_INDEX }, 'building the demo index');
      await buildIndex({ corpusDir: DEMO_CORPUS, outDir: DEMO_INDEX, configFor: (n) => defaultIndexConfig(n, 2, 1), log, progress: createProgress({ tty: ctx.isTTY, log }), runner: new LocalJobRunner({ parallel: availableParallelism(), log, env: childEnvironment(ctx, values, format) }) });
    }
    const { index } = await LocalIndex.open(DEMO_INDEX);
    try {
      for (const q of SAMPLE_QUERIES) {
        const t = performance.now();
        const result = await index.search(q, 3);
        ctx.stdout.write(`\n"${q}"  (${(performance.now() - t).toFixed(2)} ms, topics ${result.routed.map((r) => r.topic).join(',')})\n`);
        for (const h of result.hits) ctx.stdout.write(`   ${h.docid.padEnd(10)} ${(h.title ?? '').padEnd(30)} score ${h.score.toFixed(2)}\n`);
      }
      ctx.stdout.write(`\nindex: ${DEMO_INDEX}\ntry:   node bin/dsi.js query --index ${DEMO_INDEX} "your words"\n`);
      return 0;
    } finally {
      index.dispose();
    }
  },
};
