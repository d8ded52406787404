/**
 * What an index build costs, so the cost of growth can be read off:
 * training throughput, wall time by phase, size on disk, parameter bytes per document,
 * and peak memory.
 *
 *   npm run bench:index -- [--corpus DIR] [--shards N] [--epochs N] [--out DIR]
 *
 * Defaults to the demo collection; pass the Debian collection for the real figures.
 */
import { mkdtempSync, readdirSync, statSync, rmSync } from 'node:fs';
import { availableParallelism, tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { defaultIndexConfig } from '../../shared/config.ts';
import { createLogger } from '../../shared/log.ts';
import { initBackend } from '../../shared/model/backend.ts';
import { createProgress } from '../../shared/progress.ts';
import { buildIndex } from '../indexing/build-index.ts';
import { LocalJobRunner } from '../indexing/local-job-runner.ts';

const { values } = parseArgs({
  options: { corpus: { type: 'string', default: 'data/demo' }, shards: { type: 'string', default: '4' }, epochs: { type: 'string' }, out: { type: 'string' } },
});
const log = createLogger({ name: 'bench-index', level: 'warn' });
const backend = await initBackend({ prefer: 'auto', log });
const out = values.out ?? join(mkdtempSync(join(tmpdir(), 'dsi-bench-')), 'index');
const shards = Number(values.shards);

const result = await buildIndex({
  corpusDir: values.corpus!,
  outDir: out,
  configFor: (n) => {
    const c = defaultIndexConfig(n, shards, 1);
    return values.epochs ? { ...c, expert: { ...c.expert, epochs: Number(values.epochs) } } : c;
  },
  log,
  progress: createProgress({ tty: false, log }),
  runner: new LocalJobRunner({ parallel: availableParallelism(), log, env: { ...process.env, DSI_LOG_LEVEL: 'warn' } }),
});

const size = (dir: string): number => readdirSync(dir, { withFileTypes: true }).reduce((n, e) => n + (e.isDirectory() ? size(join(dir, e.name)) : statSync(join(dir, e.name)).size), 0);
/** Bytes of the files named `names` under dir: the semantic half's weights, or the lexical half's term sets and query head. */
const bytesOf = (dir: string, names: readonly string[]): number =>
  readdirSync(dir, { withFileTypes: true }).reduce((n, e) => n + (e.isDirectory() ? bytesOf(join(dir, e.name), names) : names.includes(e.name) ? statSync(join(dir, e.name)).size : 0), 0);
const weightBytes = (dir: string) => bytesOf(dir, ['weights.bin']);
const lexicalBytes = (dir: string) => bytesOf(dir, ['lexicon.bin', 'head.bin']);
const docs = result.manifest.corpus.documents;
const examples = result.reports.reduce((n, r) => n + r.training.examples, 0);
const trainSeconds = result.reports.reduce((n, r) => n + r.training.seconds, 0);
const figures = {
  backend,
  documents: docs,
  shards: result.reports.length,
  build_seconds: +result.seconds.toFixed(1),
  tower_seconds: result.tower ? +result.tower.seconds.toFixed(1) : 0,
  tower_examples_per_s: result.tower ? Math.round(result.tower.examplesPerSecond) : 0,
  expert_examples_per_s: Math.round(examples / Math.max(trainSeconds, 1e-9)),
  index_bytes: size(out),
  parameter_bytes: weightBytes(out),
  parameter_bytes_per_doc: Math.round(weightBytes(out) / docs),
  lexical_bytes_per_doc: Math.round(lexicalBytes(out) / docs),
  peak_rss_mb: Math.round(result.peakRssBytes / 2 ** 20),
  shards_detail: result.reports.map((r) => ({ id: r.id, docs: r.docs, examples_per_s: r.training.examples_per_s, 'index_recall@1': r['index_recall@1'], collision_rate: r.collision_rate })),
};
console.log(JSON.stringify(figures, null, 2));
if (!values.out) rmSync(join(out, '..'), { recursive: true, force: true });
