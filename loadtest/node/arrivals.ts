import { parseDuration, rampStages, type ScenarioSpec } from '../scenarios.js';

/**
 * When each request of a scenario is due, in milliseconds from its start: the open model
 * of k6's arrival-rate executors. The n-th request (from 0) is due when the integral of
 * the arrival rate reaches n; within a stage the rate moves linearly from one target to
 * the next, so that integral is a quadratic in time and each due time has a closed form.
 * Pure, so the schedule can be tested without a clock.
 */
export function* arrivalTimes(s: ScenarioSpec): Generator<number> {
  if (s.executor === 'constant-arrival-rate') {
    const rate = s.rate ?? 0;
    const end = parseDuration(s.duration ?? '0s');
    if (rate <= 0) return;
    for (let n = 0; ; n++) {
      const t = (n / rate) * 1000;
      if (t >= end) return;
      yield t;
    }
  }
  const { startRate, stages } = rampStages(s);
  let from = startRate;
  let stageStart = 0;
  /** Requests due before the current stage began (a fraction: the integral of the rate so far). */
  let before = 0;
  let n = 0;
  for (const stage of stages) {
    const lengthS = parseDuration(stage.duration) / 1000;
    const to = stage.target;
    const inStage = ((from + to) / 2) * lengthS;
    for (; n < before + inStage; n++) {
      const m = n - before;
      const slope = lengthS > 0 ? (to - from) / lengthS : 0;
      // Solve from·t + slope·t²/2 = m for t in [0, lengthS].
      const t = Math.abs(slope) < 1e-12 ? m / from : (-from + Math.sqrt(Math.max(0, from * from + 2 * slope * m))) / slope;
      yield stageStart + Math.min(t, lengthS) * 1000;
    }
    before += inStage;
    stageStart += lengthS * 1000;
    from = to;
  }
}
