import { readFileSync } from 'node:fs';
import { parseQueries } from '../scenarios.js';
import { queriesPath } from '../node/load-run.ts';
import { DrillCluster } from './drill-cluster.ts';
import type { DrillResult } from './drill.ts';
import { DRILLS } from './drills.ts';

/** Starts a DrillCluster, runs the named drills on it one after another, stops it. */
export interface DrillRunOptions {
  readonly indexDir: string;
  readonly replicas: number;
  readonly rate: number;
  readonly deadlineMs: number;
  readonly queriesFile?: string;
  /** Drill names; all when empty. */
  readonly names: readonly string[];
  readonly log: (line: string) => void;
}

export async function runDrills(o: DrillRunOptions): Promise<DrillResult[]> {
  const unknown = o.names.filter((n) => !DRILLS.some((d) => d.name === n));
  if (unknown.length > 0) throw new Error(`unknown drill '${unknown[0]}' (one of ${DRILLS.map((d) => d.name).join(', ')})`);
  const drills = o.names.length === 0 ? DRILLS : DRILLS.filter((d) => o.names.includes(d.name));
  const file = queriesPath(o.queriesFile);
  const queries = parseQueries(readFileSync(file, 'utf8'), file);
  const cluster = new DrillCluster({ indexDir: o.indexDir, replicas: o.replicas, deadlineMs: o.deadlineMs, log: o.log });
  const results: DrillResult[] = [];
  try {
    o.log(`drills: starting ${o.replicas} replica(s) per shard of ${o.indexDir}`);
    await cluster.start();
    o.log(`drills: cluster ready at ${cluster.url} (NATS ${cluster.natsUrl}, token required)`);
    for (const drill of drills) {
      o.log(`drill ${drill.name}: ${drill.title}`);
      // A drill that throws (a replica that never came back, say) is a failed drill, not the end of the others.
      const r = await drill.run({ cluster, queries, rate: o.rate, log: o.log }).catch((error: unknown): DrillResult => ({
        name: drill.name,
        title: drill.title,
        expectation: drill.expectation,
        load: `${o.rate} req/s`,
        measures: {},
        outcome: 'fail',
        notes: [`the drill could not finish: ${(error as Error).message.split('\n')[0]}`],
      }));
      o.log(`drill ${drill.name}: ${r.outcome.toUpperCase()}  ${JSON.stringify(r.measures)}`);
      results.push(r);
    }
  } finally {
    await cluster.stop();
  }
  return results;
}
