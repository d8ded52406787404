import { KNEE, parseDuration, peakRate, rampStages, scenarioMs, type Scenario } from '../scenarios.js';
import type { Check } from './endpoint-checks.ts';
import type { ProcessMemory } from './processes.ts';
import { figuresOf, quantile, type Figures, type Recorder } from './samples.ts';
import { evaluateThresholds, type ThresholdResult } from './thresholds.ts';

/** What `npm run load` writes as JSON and prints: the run's figures, each ramp step's, the knee, and the thresholds' verdicts. */
export interface StepFigures extends Figures {
  readonly step: number;
  readonly rate: number;
  /** Within the knee's limits (p99 and errors). */
  readonly within: boolean;
}

/** One stage of a ramping scenario without steps (spike): what the requests due in it saw. */
export interface StageFigures {
  readonly from_s: number;
  readonly to_s: number;
  /** Arrival rate at the stage's start and end. */
  readonly rates: readonly [number, number];
  readonly requests: number;
  readonly p50_ms: number | null;
  readonly p99_ms: number | null;
  readonly error_rate: number;
}

export interface LoadResult {
  readonly scenario: string;
  readonly description: string;
  readonly url: string;
  readonly queries: string;
  readonly started_at: string;
  readonly executor: Scenario['executor'];
  readonly planned_s: number;
  readonly elapsed_s: number;
  readonly peak_rate: number;
  readonly achieved_rps: number;
  readonly overall: Figures;
  readonly steps: StepFigures[];
  /** Per stage, for a spike: before, during and after it (latency must come back down). */
  readonly stages: StageFigures[];
  /** Highest step rate within the knee's limits, below the first two steps in a row over them (see kneeOf); null when none is within. */
  readonly knee_rps: number | null;
  readonly stopped_early: boolean;
  readonly checks: Check[];
  readonly thresholds: ThresholdResult[];
  readonly passed: boolean;
  readonly memory?: { start: ProcessMemory[]; end: ProcessMemory[]; peak: ProcessMemory[] };
}

export function buildResult(args: {
  scenario: Scenario;
  url: string;
  queries: string;
  startedAt: Date;
  elapsedMs: number;
  recorder: Recorder;
  checks: Check[];
  stoppedEarly: boolean;
  memory?: { start: ProcessMemory[]; end: ProcessMemory[]; peak: ProcessMemory[] };
}): LoadResult {
  const { scenario: s, recorder } = args;
  const overall = recorder.figures();
  const steps = stepFigures(s, recorder);
  const knee = kneeOf(steps);
  const thresholds = evaluateThresholds(s.thresholds, (metric, tag, aggregation) => {
    const samples = tag === undefined ? recorder.samples : tag.key === 'step' ? recorder.samples.filter((x) => String(x.step) === tag.value) : [];
    if (samples.length === 0 && metric !== 'checks') return null;
    switch (metric) {
      case 'http_req_duration': {
        const sorted = Float64Array.from(samples, (x) => x.ms).sort();
        if (aggregation.startsWith('p')) return quantile(sorted, Number(aggregation.slice(1)) / 100);
        if (aggregation === 'med') return quantile(sorted, 0.5);
        if (aggregation === 'max') return sorted[sorted.length - 1]!;
        if (aggregation === 'min') return sorted[0]!;
        if (aggregation === 'avg') return sorted.reduce((a, b) => a + b, 0) / sorted.length;
        return null;
      }
      case 'http_req_failed':
        return figuresOf(samples, 0).failed_rate;
      case 'search_degraded':
        return samples.filter((x) => x.degraded).length / samples.length;
      case 'dropped_iterations':
        return recorder.droppedAt.length;
      case 'checks': {
        // The searches' shape checks and, in smoke, the endpoint checks: one pool, as in k6.
        const passed = samples.filter((x) => x.shapeOk).length + args.checks.filter((c) => c.ok).length;
        const total = samples.length + args.checks.length;
        return total === 0 ? null : passed / total;
      }
      default:
        throw new Error(`threshold on ${metric}: the Node runner does not measure it`);
    }
  });
  return {
    scenario: s.name,
    description: s.description,
    url: args.url,
    queries: args.queries,
    started_at: args.startedAt.toISOString(),
    executor: s.executor,
    planned_s: scenarioMs(s) / 1000,
    elapsed_s: args.elapsedMs / 1000,
    peak_rate: peakRate(s),
    achieved_rps: overall.requests / (args.elapsedMs / 1000),
    overall,
    steps,
    stages: stageFigures(s, recorder),
    knee_rps: knee,
    stopped_early: args.stoppedEarly,
    checks: args.checks,
    thresholds,
    passed: thresholds.every((t) => t.ok) && args.checks.every((c) => c.ok),
    ...(args.memory ? { memory: args.memory } : {}),
  };
}

export function stepFigures(s: Scenario, recorder: Recorder): StepFigures[] {
  if (!s.steps) return [];
  const holdS = parseDuration(s.steps.hold) / 1000;
  const out: StepFigures[] = [];
  s.steps.rates.forEach((rate, step) => {
    const f = recorder.figures((x) => x.step === step);
    // A step the run stopped in the middle of says nothing about its rate: left out.
    if (f.requests + f.dropped < 0.9 * rate * holdS) return;
    out.push({ step, rate, ...f, within: withinKnee(f) });
  });
  return out;
}

export function stageFigures(s: Scenario, recorder: Recorder): StageFigures[] {
  if (s.executor !== 'ramping-arrival-rate' || s.steps) return [];
  const { startRate, stages } = rampStages(s);
  const out: StageFigures[] = [];
  let from = 0;
  let rate = startRate;
  for (const stage of stages) {
    const to = from + parseDuration(stage.duration);
    const f = recorder.figures((x) => x.dueMs >= from && x.dueMs < to);
    out.push({ from_s: from / 1000, to_s: to / 1000, rates: [rate, stage.target], requests: f.requests, p50_ms: f.latency_ms?.p50 ?? null, p99_ms: f.latency_ms?.p99 ?? null, error_rate: f.error_rate });
    from = to;
    rate = stage.target;
  }
  return out;
}

export function withinKnee(f: Figures): boolean {
  return f.latency_ms !== null && f.latency_ms.p99 <= KNEE.p99Ms && f.error_rate < KNEE.errorRate;
}

/**
 * The highest step within the knee's limits below the first two steps in a row that are
 * not (where the ramp stops). A lone step over the limits below that (a GC pause, a
 * neighbour on the machine) shows in the table but does not end the search for the knee.
 */
export function kneeOf(steps: readonly StepFigures[]): number | null {
  let knee: number | null = null;
  for (let i = 0; i < steps.length; i++) {
    const s = steps[i]!;
    if (!s.within && (i + 1 >= steps.length || !steps[i + 1]!.within)) break;
    if (s.within) knee = s.rate;
  }
  return knee;
}
