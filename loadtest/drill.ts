/**
 * Fault drills: a cluster started here (nats-server, experts, router as separate
 * processes), steady searches, and one bad thing done to it at a time; prints what the
 * clients saw against what was expected, writes it as JSON, exits 1 when a drill fails.
 *
 *   npm run load:drill -- [kill-replica|stop-replica|kill-shard|restart-nats|bad-traffic|hot-swap|kill-supervisor ...]
 *                         [--index DIR] [--replicas 2] [--rate 20] [--deadline-ms 300]
 *                         [--queries FILE] [--out FILE.json]
 *
 * The demo index (.dsi/demo-index, built by `dsi demo`) unless --index.
 */
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { parseArgs } from 'node:util';
import { REPO } from './node/local-up.ts';
import { formatDrill } from './drills/format.ts';
import { runDrills } from './drills/run-drills.ts';

async function main(argv: string[]): Promise<number> {
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: { index: { type: 'string' }, replicas: { type: 'string' }, rate: { type: 'string' }, 'deadline-ms': { type: 'string' }, queries: { type: 'string' }, out: { type: 'string' } },
  });
  const indexDir = values.index ?? join(REPO, '.dsi', 'demo-index');
  if (!existsSync(join(indexDir, 'manifest.json'))) throw new UsageError(`no index at ${indexDir}: pass --index DIR, or build the demo index with node bin/dsi.js demo`);
  const results = await runDrills({
    indexDir,
    replicas: int(values.replicas, '--replicas', 2),
    rate: int(values.rate, '--rate', 20),
    deadlineMs: int(values['deadline-ms'], '--deadline-ms', 300),
    queriesFile: values.queries,
    names: positionals,
    log: (l) => process.stderr.write(`${l}\n`),
  });
  for (const r of results) process.stdout.write(formatDrill(r));
  const out = values.out ?? join(REPO, 'loadtest', 'results', 'drills.json');
  mkdirSync(dirname(out), { recursive: true });
  writeFileSync(out, `${JSON.stringify({ index: indexDir, at: new Date().toISOString(), results }, null, 2)}\n`);
  process.stderr.write(`drills: results written to ${out}\n`);
  return results.some((r) => r.outcome === 'fail') ? 1 : 0;
}

class UsageError extends Error {}

function int(value: string | undefined, flag: string, fallback: number): number {
  if (value === undefined) return fallback;
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1) throw new UsageError(`${flag} must be a positive integer, got '${value}'`);
  return n;
}

try {
  process.exitCode = await main(process.argv.slice(2));
} catch (error) {
  const usage = error instanceof UsageError || (error as { code?: string }).code?.startsWith('ERR_PARSE_ARGS') || /^unknown drill/.test((error as Error).message);
  process.stderr.write(`drill: ${(error as Error).message.split('\n')[0]}\n`);
  process.exitCode = usage ? 2 : 1;
}
