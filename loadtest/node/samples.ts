/**
 * What the Node runner records of each request, and the k6-like figures made from them:
 * counts, latency percentiles, errors by kind. Latency is k6's `http_req_duration`: from
 * sending the request to the last byte of the answer (no connection set-up). Samples are
 * kept whole (a few numbers each): a 30-minute soak at 20 req/s is 36,000 of them.
 */
export interface Sample {
  /** When the request was due, from the start of the run (ms). */
  readonly dueMs: number;
  /** How late the generator sent it: its own health, not the server's. */
  readonly lagMs: number;
  readonly ms: number;
  /** HTTP status; 0 when there was no answer. */
  readonly status: number;
  /** 'ok' for 2xx/3xx, else http_<status>, timeout, or the socket error's code. */
  readonly kind: string;
  readonly degraded: boolean;
  /** The answer had the search API's shape. */
  readonly shapeOk: boolean;
  /** Ramp step the request was due in, -1 outside measured steps. */
  readonly step: number;
  /** A degraded answer's missing shards, or an error answer's code and message: what the drills check. */
  readonly detail?: string;
}

export interface Figures {
  readonly requests: number;
  /** Iterations not started because maxVUs were busy (k6's dropped_iterations). */
  readonly dropped: number;
  readonly failed: number;
  /** Failed requests over requests made (k6's http_req_failed rate). */
  readonly failed_rate: number;
  /** Failed and dropped over everything due: what the knee and the drills count as errors. */
  readonly error_rate: number;
  readonly errors_by_kind: Record<string, number>;
  readonly degraded: number;
  readonly checks_rate: number;
  readonly latency_ms: { avg: number; min: number; p50: number; p90: number; p99: number; max: number } | null;
  readonly lag_ms: { p99: number; max: number } | null;
}

export const OK = 'ok';

export class Recorder {
  readonly samples: Sample[] = [];
  readonly droppedAt: { dueMs: number; step: number }[] = [];

  add(sample: Sample): void {
    this.samples.push(sample);
  }

  drop(dueMs: number, step: number): void {
    this.droppedAt.push({ dueMs, step });
  }

  figures(filter: (s: { dueMs: number; step: number }) => boolean = () => true): Figures {
    return figuresOf(this.samples.filter(filter), this.droppedAt.filter(filter).length);
  }
}

export function figuresOf(samples: readonly Sample[], dropped: number): Figures {
  const latencies = Float64Array.from(samples, (s) => s.ms).sort();
  const lags = Float64Array.from(samples, (s) => s.lagMs).sort();
  const errorsByKind: Record<string, number> = {};
  let failed = 0;
  let degraded = 0;
  let checksOk = 0;
  for (const s of samples) {
    if (s.kind !== OK) {
      failed++;
      errorsByKind[s.kind] = (errorsByKind[s.kind] ?? 0) + 1;
    }
    if (s.degraded) degraded++;
    if (s.shapeOk) checksOk++;
  }
  if (dropped > 0) errorsByKind.dropped = dropped;
  const n = samples.length;
  let sum = 0;
  for (const v of latencies) sum += v;
  return {
    requests: n,
    dropped,
    failed,
    failed_rate: n === 0 ? 0 : failed / n,
    error_rate: n + dropped === 0 ? 0 : (failed + dropped) / (n + dropped),
    errors_by_kind: errorsByKind,
    degraded,
    checks_rate: n === 0 ? 1 : checksOk / n,
    latency_ms: n === 0 ? null : { avg: sum / n, min: latencies[0]!, p50: quantile(latencies, 0.5), p90: quantile(latencies, 0.9), p99: quantile(latencies, 0.99), max: latencies[n - 1]! },
    lag_ms: n === 0 ? null : { p99: quantile(lags, 0.99), max: lags[n - 1]! },
  };
}

/** The q-quantile of sorted values, nearest rank (the smallest value with at least q of the samples at or below it). */
export function quantile(sorted: ArrayLike<number>, q: number): number {
  if (sorted.length === 0) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1))]!;
}
