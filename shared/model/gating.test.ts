import { describe, expect, it } from 'vitest';
import { selectTopics } from './gating.ts';

const logs = (...p: number[]) => Float32Array.from(p, Math.log);
const labels = Int32Array.from([10, 11, 12, 13]);

describe('selectTopics', () => {
  it('takes the fewest most likely topics whose mass reaches the threshold', () => {
    const chosen = selectTopics(logs(0.1, 0.6, 0.25, 0.05), labels, { threshold: 0.8, maxFanout: 4 });
    expect(chosen.map((t) => t.topic)).toEqual([11, 12]);
    expect(Math.exp(chosen[0]!.logp)).toBeCloseTo(0.6, 5);
  });

  it('never exceeds the fan-out cap, and always asks at least one topic', () => {
    expect(selectTopics(logs(0.25, 0.25, 0.25, 0.25), labels, { threshold: 0.99, maxFanout: 2 })).toHaveLength(2);
    expect(selectTopics(logs(0.97, 0.01, 0.01, 0.01), labels, { threshold: 0.5, maxFanout: 4 })).toHaveLength(1);
  });
});
