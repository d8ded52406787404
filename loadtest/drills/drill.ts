import type { Figures } from '../node/samples.ts';
import type { DrillCluster } from './drill-cluster.ts';

/** What a drill runs against: the cluster, realistic queries, and the search rate to keep up meanwhile. */
export interface DrillContext {
  readonly cluster: DrillCluster;
  readonly queries: readonly string[];
  /** Searches per second while the fault happens. */
  readonly rate: number;
  readonly log: (line: string) => void;
}

export type Outcome = 'pass' | 'fail' | 'skipped';

export interface DrillResult {
  readonly name: string;
  readonly title: string;
  readonly expectation: string;
  /** What load ran meanwhile, in words. */
  readonly load: string;
  readonly figures?: Figures;
  readonly measures: Record<string, number | string | boolean | null>;
  readonly outcome: Outcome;
  readonly notes: string[];
}

/**
 * A fault drill (the drills themselves are in drills.ts and bad-traffic.ts): it runs steady
 * searches against a DrillCluster while doing one bad thing to it, and judges what the
 * clients saw against the expectation it states.
 */
export interface Drill {
  readonly name: string;
  readonly title: string;
  readonly expectation: string;
  run(ctx: DrillContext): Promise<DrillResult>;
}

export function result(d: Drill, ctx: DrillContext, durationS: number, figures: Figures, measures: DrillResult['measures'], ok: boolean, notes: string[]): DrillResult {
  return { name: d.name, title: d.title, expectation: d.expectation, load: `${ctx.rate} req/s for ${durationS} s`, figures, measures, outcome: ok ? 'pass' : 'fail', notes };
}

export function skipped(d: Drill, reason: string): DrillResult {
  return { name: d.name, title: d.title, expectation: d.expectation, load: '-', measures: {}, outcome: 'skipped', notes: [reason] };
}

/** A measure in seconds or milliseconds, to one decimal. */
export function round(v: number): number {
  return Math.round(v * 10) / 10;
}
