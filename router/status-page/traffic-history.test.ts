import { describe, expect, it } from 'vitest';
import { TrafficHistory } from './traffic-history.ts';

describe('TrafficHistory', () => {
  it('gives each bucket its rate, errors and latency percentiles, the open bucket last', () => {
    const clock = { now: 10_000 };
    const history = new TrafficHistory({ bucketMs: 1000, buckets: 5, now: () => clock.now });
    for (let i = 1; i <= 100; i++) history.record(i, i <= 3 ? 503 : 200);
    clock.now = 11_500;
    history.record(7, 200);
    const { points, bucket_s, window_s } = history.series();
    expect([bucket_s, window_s]).toEqual([1, 5]);
    expect(points).toEqual([
      { t: 10_000, requests_per_s: 100, errors_per_s: 3, p50_ms: 50, p99_ms: 99 },
      // Open for half a second with one search: 2 per second so far.
      { t: 11_000, requests_per_s: 2, errors_per_s: 0, p50_ms: 7, p99_ms: 7 },
    ]);
  });

  it('fills quiet seconds with empty buckets and keeps only the window', () => {
    const clock = { now: 0 };
    const history = new TrafficHistory({ bucketMs: 1000, buckets: 4, now: () => clock.now });
    history.record(1, 200);
    clock.now = 2_100;
    expect(history.series().points.map((p) => [p.t, p.requests_per_s, p.p50_ms])).toEqual([
      [0, 1, 1],
      [1000, 0, null],
      [2000, 0, null],
    ]);
    clock.now = 1_000_000;
    history.record(4, 200);
    const points = history.series().points;
    expect(points.map((p) => p.t)).toEqual([997_000, 998_000, 999_000, 1_000_000]);
    expect(points.slice(0, 3).every((p) => p.requests_per_s === 0)).toBe(true);
  });
});
