/**
 * Regenerates the results in loadtest/README.md from a real run on this machine: every
 * scenario through the Node runner against one `dsi up` (ramp first, for the knee; steady
 * then runs at half the knee), then every fault drill on a cluster of its own. Writes the
 * raw results to loadtest/report.json and rewrites the README between its report markers.
 *
 *   npm run load:report -- [--index DIR] [--replicas 2] [--shards-per-expert 1] [--queries FILE]
 *                          [--steady-duration 5m] [--soak-duration 2m] [--drill-rate R]
 *
 * The demo index unless --index. Takes about steady + soak + 5 minutes.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { availableParallelism, cpus, loadavg, totalmem } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { scenario } from './scenarios.js';
import { runDrills } from './drills/run-drills.ts';
import type { DrillResult } from './drills/drill.ts';
import { runLoad } from './node/load-run.ts';
import { REPO, startLocalUp } from './node/local-up.ts';
import type { LoadResult } from './node/result.ts';
import { formatSummary } from './node/summary.ts';
import { renderReport, replaceReport } from './report-format.ts';

const { values } = parseArgs({
  options: {
    index: { type: 'string' },
    replicas: { type: 'string', default: '2' },
    'shards-per-expert': { type: 'string', default: '1' },
    queries: { type: 'string' },
    'steady-duration': { type: 'string', default: '5m' },
    'soak-duration': { type: 'string', default: '2m' },
    'drill-rate': { type: 'string' },
  },
});
const replicas = Number(values.replicas);
// Shards one expert process serves in the scenarios' cluster (the drills start a process per shard replica).
const shardsPerExpert = Number(values['shards-per-expert']);
// The machine's load before this run adds its own: figures from a busy machine say little.
const startedAt = new Date().toISOString();
const loadBefore = loadavg().map((x) => Math.round(x * 100) / 100);
const log = (l: string) => process.stderr.write(`${l}\n`);
const indexDir = values.index ?? join(REPO, '.dsi', 'demo-index');
const command = `npm run load:report -- ${process.argv.slice(2).join(' ')}`.trim();

const scenarios: LoadResult[] = [];
const up = await startLocalUp({ indexDir, replicas, shardsPerExpert, env: process.env, log });
let knee: number | null = null;
try {
  const run = async (name: string, overrides: { rate?: number; duration?: string } = {}) => {
    const s = scenario(name, overrides);
    log(`report: ${name} ${JSON.stringify(overrides)}`);
    const { run: _run, ...result } = await runLoad({ scenario: s, url: up.url, queriesFile: values.queries, clusterPid: up.pid });
    process.stdout.write(formatSummary(result));
    scenarios.push(result);
    return result;
  };
  await run('smoke');
  knee = (await run('ramp')).knee_rps;
  const steadyRate = Math.max(1, Math.floor((knee ?? 2) / 2));
  await run('steady', { rate: steadyRate, duration: values['steady-duration'] });
  await run('spike');
  await run('soak', { duration: values['soak-duration'] });
} finally {
  await up.stop();
}

const drillRate = values['drill-rate'] ? Number(values['drill-rate']) : Math.max(5, Math.min(40, Math.floor((knee ?? 20) / 2)));
const drills: DrillResult[] = await runDrills({ indexDir, replicas, rate: drillRate, deadlineMs: 300, queriesFile: values.queries, names: [], log });

const report = {
  command,
  at: startedAt,
  machine: { cores: availableParallelism(), cpu: cpus()[0]?.model ?? 'unknown', memory_gb: Math.round(totalmem() / 2 ** 30), load_average_before: loadBefore },
  index: indexDir,
  replicas,
  shards_per_expert: shardsPerExpert,
  knee_rps: knee,
  scenarios,
  drills,
};
writeFileSync(join(REPO, 'loadtest', 'report.json'), `${JSON.stringify(report, null, 2)}\n`);
const readme = join(REPO, 'loadtest', 'README.md');
writeFileSync(readme, replaceReport(readFileSync(readme, 'utf8'), renderReport(report)));
log(`report: loadtest/README.md and loadtest/report.json rewritten`);
