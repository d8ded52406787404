import { readFileSync } from 'node:fs';
import { isAbsolute, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { DEFAULT_QUERIES, parseQueries, type Scenario } from '../scenarios.js';
import { checkEndpoints, type Check } from './endpoint-checks.ts';
import { runScenario, type GeneratorRun } from './generator.ts';
import { treeMemory, type ProcessMemory } from './processes.ts';
import { rampStopper } from './ramp-stop.ts';
import { buildResult, type LoadResult } from './result.ts';

/** One scenario against one router URL: the endpoint checks (smoke), the searches, the result. */
export interface LoadRunOptions {
  readonly scenario: Scenario;
  readonly url: string;
  /** Path of a BEIR queries.jsonl; the demo collection's when undefined. */
  readonly queriesFile?: string;
  readonly token?: string;
  /** Root of the cluster's process tree (a local `dsi up`), for RSS at start and end. */
  readonly clusterPid?: number;
  readonly onStart?: (t0: number) => void;
}

const MEMORY_SAMPLE_MS = 5000;
const LOADTEST_DIR = fileURLToPath(new URL('..', import.meta.url));

/** The queries file as the k6 scripts resolve it: relative paths from loadtest/ for the default, from the working directory for a user's. */
export function queriesPath(file: string | undefined): string {
  if (file === undefined) return resolve(LOADTEST_DIR, DEFAULT_QUERIES);
  return isAbsolute(file) ? file : resolve(file);
}

export async function runLoad(o: LoadRunOptions): Promise<LoadResult & { run: GeneratorRun }> {
  const file = queriesPath(o.queriesFile);
  const queries = parseQueries(readFileSync(file, 'utf8'), file);
  const startedAt = new Date();
  const checks: Check[] = o.scenario.checkEndpoints ? await checkEndpoints(o.url, queries, o.token) : [];
  const memStart: ProcessMemory[] | undefined = o.clusterPid === undefined ? undefined : treeMemory(o.clusterPid);
  // The highest RSS each process reached, sampled every few seconds: memory that grows and shrinks back shows too.
  const peak = new Map<number, ProcessMemory>();
  const sample = () => {
    for (const m of o.clusterPid === undefined ? [] : treeMemory(o.clusterPid)) if ((peak.get(m.pid)?.rss_mb ?? -1) < m.rss_mb) peak.set(m.pid, m);
  };
  sample();
  const sampler = o.clusterPid === undefined ? undefined : setInterval(sample, MEMORY_SAMPLE_MS);
  let run;
  try {
    run = await runScenario(o.scenario, { url: o.url, queries, token: o.token, onStart: o.onStart, stopWhen: rampStopper(o.scenario) });
  } finally {
    clearInterval(sampler);
  }
  const memEnd = o.clusterPid === undefined ? undefined : treeMemory(o.clusterPid);
  for (const m of memEnd ?? []) if ((peak.get(m.pid)?.rss_mb ?? -1) < m.rss_mb) peak.set(m.pid, m);
  const result = buildResult({
    scenario: o.scenario,
    url: o.url,
    queries: file,
    startedAt,
    elapsedMs: run.elapsedMs,
    recorder: run.recorder,
    checks,
    stoppedEarly: run.stoppedEarly,
    ...(memStart && memEnd ? { memory: { start: memStart, end: memEnd, peak: [...peak.values()] } } : {}),
  });
  return { ...result, run };
}
