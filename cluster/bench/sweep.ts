/**
 * A sweep of index settings on one collection: for each variant, `dsi index --set JSON`
 * then `dsi eval --no-bm25` on a split, one after the other; prints a row per variant
 * (Hits@1, Hits@10, MRR@10, routing, build time) and the rows as JSON lines. The
 * experiments behind the defaults are runs of it (cluster/bench/experiments.md).
 *
 *   node --import tsx cluster/bench/sweep.ts --corpus DIR [--split dev] [--shards 4] [--seed 1] [--out DIR] [--keep] VARIANT...
 *
 * A VARIANT is NAME=JSON, JSON being the settings over the defaults ('{}': the defaults):
 *   defaults='{}' 'expert-8={"expert":{"epochs":8}}'
 * Indexes go to --out (a new folder under the system's temporary folder by default) and are
 * removed once evaluated unless --keep. Builds take the machine's cores: time them on a
 * quiet machine, or read the build seconds as relative.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';

const DSI_BIN = fileURLToPath(new URL('../../bin/dsi.js', import.meta.url));
const USAGE = 'usage: sweep.ts --corpus DIR [--split dev] [--shards 4] [--seed 1] [--out DIR] [--keep] NAME=JSON...\n';

const { values, positionals } = parseArgs({
  options: {
    corpus: { type: 'string' },
    split: { type: 'string', default: 'dev' },
    shards: { type: 'string', default: '4' },
    seed: { type: 'string', default: '1' },
    out: { type: 'string' },
    keep: { type: 'boolean', default: false },
  },
  allowPositionals: true,
});
const variants = positionals.map(parseVariant);
if (!values.corpus || variants.length === 0 || variants.some((v) => v === undefined)) {
  process.stderr.write(USAGE);
  process.exit(2);
}
const out = values.out ?? mkdtempSync(join(tmpdir(), 'dsi-sweep-'));

interface Row {
  variant: string;
  set: string;
  'hits@1': number;
  'hits@10': number;
  'mrr@10': number;
  routing: number;
  mean_fanout: number;
  build_s: number;
}

const rows: Row[] = [];
for (const variant of variants as { name: string; set: string }[]) {
  const dir = join(out, variant.name);
  process.stderr.write(`sweep: ${variant.name} ${variant.set}\n`);
  const started = performance.now();
  await dsi(['index', '--corpus', values.corpus, '--out', dir, '--shards', values.shards!, '--seed', values.seed!, '--set', variant.set]);
  const buildSeconds = (performance.now() - started) / 1000;
  const report = JSON.parse(await dsi(['eval', '--index', dir, '--corpus', values.corpus, '--split', values.split!, '--json', '--no-bm25'])) as {
    dsi: { 'hits@1': number; 'hits@10': number; 'mrr@10': number };
    routing: { hits: number; mean_fanout: number };
  };
  rows.push({ variant: variant.name, set: variant.set, ...pick(report.dsi), routing: report.routing.hits, mean_fanout: report.routing.mean_fanout, build_s: Math.round(buildSeconds) });
  if (!values.keep) rmSync(dir, { recursive: true, force: true });
}
if (!values.keep && !values.out) rmSync(out, { recursive: true, force: true });

const cell = (v: unknown, width: number) => String(v).padStart(width);
process.stdout.write(`\n${'variant'.padEnd(24)} ${cell('hits@1', 7)} ${cell('hits@10', 8)} ${cell('mrr@10', 7)} ${cell('routing', 8)} ${cell('build s', 8)}\n`);
for (const r of rows) process.stdout.write(`${r.variant.padEnd(24)} ${cell(r['hits@1'].toFixed(3), 7)} ${cell(r['hits@10'].toFixed(3), 8)} ${cell(r['mrr@10'].toFixed(3), 7)} ${cell(r.routing.toFixed(3), 8)} ${cell(r.build_s, 8)}\n`);
for (const r of rows) process.stdout.write(`${JSON.stringify({ corpus: values.corpus, split: values.split, shards: Number(values.shards), seed: Number(values.seed), ...r })}\n`);

function parseVariant(arg: string): { name: string; set: string } | undefined {
  const at = arg.indexOf('=');
  if (at <= 0) return undefined;
  const set = arg.slice(at + 1);
  try {
    const parsed: unknown = JSON.parse(set);
    if (!parsed || typeof parsed !== 'object' || Array.isArray(parsed)) return undefined;
  } catch {
    return undefined;
  }
  return { name: arg.slice(0, at), set };
}

function pick(f: { 'hits@1': number; 'hits@10': number; 'mrr@10': number }) {
  return { 'hits@1': f['hits@1'], 'hits@10': f['hits@10'], 'mrr@10': f['mrr@10'] };
}

/** Runs `dsi ...args` to its end; resolves with its stdout, rejects on a non-zero exit (its stderr goes to ours). */
function dsi(args: string[]): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [DSI_BIN, ...args], { env: { DSI_LOG_LEVEL: 'warn', ...process.env }, stdio: ['ignore', 'pipe', 'inherit'] });
    let stdout = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.on('error', reject);
    child.on('close', (code) => (code === 0 ? resolve(stdout) : reject(new Error(`dsi ${args.join(' ')} exited with ${code}`))));
  });
}
