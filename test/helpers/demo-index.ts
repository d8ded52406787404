import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { DEMO_CORPUS, runDsi } from './cli.ts';

/**
 * A small real index of the demo collection for tests that need trained shards but not
 * good ones (serving, routing, transport): few epochs keep it to ~10–15 s on two cores.
 * Built with the real `dsi index` command, so it is exactly what a user would serve.
 */
export interface DemoIndexOptions {
  shards?: number;
  epochs?: number;
  gatingEpochs?: number;
  seed?: number;
  /** Another BEIR collection than the demo's (e.g. a part of it). */
  corpus?: string;
}

/** Builds the index into `dir` (replacing what is there) and returns `dir`. */
export async function buildDemoIndex(dir: string, opts: DemoIndexOptions = {}): Promise<string> {
  const { shards = 2, epochs = 2, gatingEpochs = 1, seed = 1, corpus = DEMO_CORPUS } = opts;
  const args = ['index', '--corpus', corpus, '--out', dir, '--shards', String(shards), '--epochs', String(epochs), '--gating-epochs', String(gatingEpochs), '--seed', String(seed)];
  const result = await runDsi(args);
  if (result.code !== 0) throw new Error(`dsi ${args.join(' ')} failed (exit ${result.code}):\n${result.stderr.slice(-4000)}`);
  return dir;
}

/** Texts of every `every`-th query of the demo collection: realistic traffic for tests. */
export function demoQueries(every: number): string[] {
  return readFileSync(join(DEMO_CORPUS, 'queries.jsonl'), 'utf8')
    .trim()
    .split('\n')
    .map((l) => (JSON.parse(l) as { text: string }).text)
    .filter((_, i) => i % every === 0);
}
