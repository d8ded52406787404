import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { parseDuration, rampStages, scenario, scenarioMs, SCENARIOS, stepAt } from '../scenarios.js';
import { arrivalTimes } from './arrivals.ts';
import { kneeOf, stepFigures } from './result.ts';
import { Recorder } from './samples.ts';
import { evaluateThresholds } from './thresholds.ts';

/** The pure parts of the Node runner: the arrival schedule, thresholds in k6's syntax, the knee. */
describe('arrival schedule', () => {
  it('spaces a constant rate evenly over the duration, first request at zero', () => {
    const times = [...arrivalTimes(scenario('smoke'))];
    expect(times).toHaveLength(50);
    expect(times[0]).toBe(0);
    expect(times[1]).toBeCloseTo(200, 9);
    expect(times.at(-1)).toBeCloseTo(9800, 9);
  });

  it('follows a linear ramp: the count due by time t is the integral of the rate', () => {
    const s = { ...SCENARIOS.spike, stages: [{ target: 100, duration: '10s' }], startRate: 0 };
    const times = [...arrivalTimes(s)];
    // ∫0..10 s of 10·t req/s = 500 requests; half of them in the last 2.93 s (t² grows).
    expect(times.length).toBeGreaterThanOrEqual(499);
    expect(times.length).toBeLessThanOrEqual(500);
    const byFive = times.filter((t) => t < 5000).length;
    expect(byFive).toBeGreaterThanOrEqual(124);
    expect(byFive).toBeLessThanOrEqual(126);
    for (let i = 1; i < times.length; i++) expect(times[i]!).toBeGreaterThanOrEqual(times[i - 1]!);
  });

  it('holds each ramp step at its rate and tags only the holds', () => {
    const s = scenario('ramp');
    const { stages } = rampStages(s);
    expect(stages.slice(0, 4)).toEqual([{ target: 10, duration: '2s' }, { target: 10, duration: '15s' }, { target: 25, duration: '2s' }, { target: 25, duration: '15s' }]);
    const times = [...arrivalTimes(s)];
    const inFirstHold = times.filter((t) => stepAt(s, t) === 0).length;
    expect(inFirstHold).toBeGreaterThanOrEqual(149);
    expect(inFirstHold).toBeLessThanOrEqual(151);
    expect(stepAt(s, 1000)).toBe(-1);
    expect(stepAt(s, 2500)).toBe(0);
    expect(stepAt(s, 17_500)).toBe(-1);
    expect(stepAt(s, 19_500)).toBe(1);
    expect(times.at(-1)!).toBeLessThan(scenarioMs(s));
  });

  it('takes overrides: a rate and a duration for constant scenarios, a scaled top for ramps', () => {
    expect(scenario('steady', { rate: 7, duration: '5m' })).toMatchObject({ rate: 7, duration: '5m' });
    expect(scenario('ramp', { rate: 150 }).steps!.rates.at(-1)).toBe(150);
    expect(() => scenario('ramp', { duration: '1m' })).toThrow(/constant-rate/);
    expect(() => scenario('nope')).toThrow(/unknown scenario 'nope'/);
    expect(parseDuration('1m30s')).toBe(90_000);
    expect(() => parseDuration('5 minutes')).toThrow(/not a duration/);
  });
});

describe('thresholds', () => {
  it('evaluates k6 expressions against measured values, tag filters included', () => {
    const values: Record<string, number> = { 'http_req_duration/p99': 30, 'http_req_failed/rate': 0.0005, 'http_req_duration{step:0}/p99': 12 };
    const results = evaluateThresholds(
      { http_req_duration: ['p(99)<25'], http_req_failed: ['rate<0.001'], 'http_req_duration{step:0}': ['p(99)<25'], 'http_req_duration{step:9}': ['p(99)<25'] },
      (metric, tag, aggregation) => values[`${metric}${tag ? `{${tag.key}:${tag.value}}` : ''}/${aggregation}`] ?? null,
    );
    expect(results.map((r) => [r.metric, r.ok])).toEqual([
      ['http_req_duration', false],
      ['http_req_failed', true],
      ['http_req_duration{step:0}', true],
      // No samples: passes, as in k6.
      ['http_req_duration{step:9}', true],
    ]);
  });

  it('refuses an expression it cannot evaluate rather than passing it', () => {
    expect(() => evaluateThresholds({ http_req_duration: ['p99 below 25'] }, () => 1)).toThrow(/not an expression/);
  });
});

describe('the knee of a ramp', () => {
  it('is the highest step within p99 and errors, below the first two steps in a row that are not', () => {
    const s = scenario('ramp');
    const recorder = new Recorder();
    const add = (step: number, ms: number, kind = 'ok') => recorder.add({ dueMs: 0, lagMs: 0, ms, status: kind === 'ok' ? 200 : 503, kind, degraded: false, shapeOk: kind === 'ok', step });
    // A full hold of each step: rate × 15 s requests.
    const hold = (step: number, ms: (i: number) => number) => {
      for (let i = 0; i < s.steps!.rates[step]! * 15; i++) add(step, ms(i));
    };
    hold(0, () => 5);
    hold(1, (i) => (i < 290 ? 8 : 80));
    hold(2, () => 8);
    hold(3, () => 9);
    hold(4, (i) => (i < 700 ? 9 : 90));
    hold(5, () => 200);
    // A step the run stopped in is left out.
    for (let i = 0; i < 100; i++) add(6, 900);
    const steps = stepFigures(s, recorder);
    expect(steps.map((x) => x.within)).toEqual([true, false, true, true, false, false]);
    // Step 1 alone over the limits is a blip; steps 4 and 5 in a row end the ramp.
    expect(kneeOf(steps)).toBe(s.steps!.rates[3]);
    for (let i = 0; i < 2; i++) add(0, 5, 'http_503');
    expect(kneeOf(stepFigures(s, recorder))).toBeNull();
  });
});

describe('the k6 scripts', () => {
  it('exist for every scenario and run that scenario, from the shared definitions', () => {
    for (const name of Object.keys(SCENARIOS)) {
      const script = readFileSync(new URL(`../${name}.js`, import.meta.url), 'utf8');
      expect(script).toContain(`scenarioFromEnv('${name}')`);
      expect(script).toMatch(/export const options = optionsFor\(s\)/);
    }
  });
});
