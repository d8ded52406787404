/**
 * The load scenarios of loadtest/scenarios.js, run from Node (no k6 needed): an open-model
 * generator sends the scenario's searches on schedule, prints a k6-like summary, writes the
 * result as JSON, and exits 1 when a threshold is missed.
 *
 *   npm run load -- <smoke|steady|ramp|spike|soak> [--url URL] [--queries FILE]
 *                   [--rate R] [--duration D] [--token T] [--out FILE.json]
 *                   [--index DIR] [--replicas N]
 *
 * Without --url it starts a cluster here with `dsi up` (the demo index unless --index),
 * runs the scenario against it and stops it; load goes only to that loopback cluster or to
 * the URL given. The token may also come from DSI_LOAD_TOKEN.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { parseArgs } from 'node:util';
import { SCENARIOS, scenario } from './scenarios.js';
import { runLoad } from './node/load-run.ts';
import { REPO, startLocalUp, type LocalUp } from './node/local-up.ts';
import { formatSummary } from './node/summary.ts';

const USAGE = `usage: npm run load -- <${Object.keys(SCENARIOS).join('|')}> [--url URL] [--queries FILE] [--rate R] [--duration D] [--token T] [--out FILE.json] [--index DIR] [--replicas N]`;

async function main(argv: string[]): Promise<number> {
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: {
      url: { type: 'string' },
      queries: { type: 'string' },
      rate: { type: 'string' },
      duration: { type: 'string' },
      token: { type: 'string' },
      out: { type: 'string' },
      index: { type: 'string' },
      replicas: { type: 'string' },
      help: { type: 'boolean', short: 'h' },
    },
  });
  if (values.help) {
    process.stdout.write(`${USAGE}\n`);
    return 0;
  }
  if (positionals.length !== 1) throw new UsageError(positionals.length === 0 ? 'name a scenario' : 'name one scenario');
  const rate = values.rate === undefined ? undefined : Number(values.rate);
  if (rate !== undefined && !(rate > 0)) throw new UsageError(`--rate must be a positive number, got '${values.rate}'`);
  const replicas = values.replicas === undefined ? 1 : Number(values.replicas);
  if (!Number.isInteger(replicas) || replicas < 1 || replicas > 16) throw new UsageError(`--replicas must be an integer in [1, 16], got '${values.replicas}'`);
  if (values.url && (values.index || values.replicas)) throw new UsageError('--index and --replicas start a local cluster: not with --url');
  let s;
  try {
    s = scenario(positionals[0]!, { rate, duration: values.duration });
  } catch (error) {
    throw new UsageError((error as Error).message);
  }
  const token = values.token ?? process.env.DSI_LOAD_TOKEN;

  let local: LocalUp | undefined;
  const onSignal = () => void local?.stop().finally(() => process.exit(130));
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  try {
    if (!values.url) local = await startLocalUp({ indexDir: values.index, replicas, env: process.env, log: (l) => process.stderr.write(`${l}\n`) });
    const url = values.url ?? local!.url;
    process.stderr.write(`load: ${s.name} against ${url}\n`);
    const { run: _run, ...result } = await runLoad({ scenario: s, url, queriesFile: values.queries, token, clusterPid: local?.pid });
    process.stdout.write(formatSummary(result));
    const out = values.out ?? join(REPO, 'loadtest', 'results', `${s.name}.json`);
    mkdirSync(dirname(out), { recursive: true });
    writeFileSync(out, `${JSON.stringify(result, null, 2)}\n`);
    process.stderr.write(`load: result written to ${out}\n`);
    return result.passed ? 0 : 1;
  } finally {
    await local?.stop();
  }
}

class UsageError extends Error {}

try {
  process.exitCode = await main(process.argv.slice(2));
} catch (error) {
  const usage = error instanceof UsageError || (error as { code?: string }).code?.startsWith('ERR_PARSE_ARGS');
  process.stderr.write(`load: ${(error as Error).message.split('\n')[0]}${usage ? ` (npm run load -- --help)` : ''}\n`);
  process.exitCode = usage ? 2 : 1;
}
