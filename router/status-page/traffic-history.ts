/**
 * Searches per second and their latency percentiles over the last minutes, for the live
 * plots of the status page (GET /v1/traffic). Time is cut into fixed buckets: recording
 * pushes one number into the open bucket (it sits on the request path); when a bucket
 * closes its percentiles are computed once and its samples dropped, so memory holds one
 * bucket's latencies plus a few numbers per closed bucket.
 */
export interface TrafficPoint {
  /** Start of the bucket, Unix milliseconds. */
  readonly t: number;
  readonly requests_per_s: number;
  /** Searches answered with a status of 500 or more (a shard or the bus unavailable, a timeout). */
  readonly errors_per_s: number;
  /** Percentiles of the bucket's search latencies as the router measured them; null for a bucket with no search. */
  readonly p50_ms: number | null;
  readonly p99_ms: number | null;
}

export interface TrafficSeries {
  readonly bucket_s: number;
  readonly window_s: number;
  /** Oldest first; the open bucket last (its figures so far). */
  readonly points: TrafficPoint[];
}

export interface TrafficHistoryOptions {
  readonly bucketMs?: number;
  /** Buckets kept, the open one included. */
  readonly buckets?: number;
  readonly now?: () => number;
}

interface OpenBucket {
  start: number;
  latencies: number[];
  errors: number;
}

export class TrafficHistory {
  readonly #bucketMs: number;
  readonly #capacity: number;
  readonly #now: () => number;
  readonly #closed: TrafficPoint[] = [];
  #open: OpenBucket;

  constructor(options: TrafficHistoryOptions = {}) {
    this.#bucketMs = options.bucketMs ?? 2000;
    this.#capacity = options.buckets ?? 300;
    this.#now = options.now ?? Date.now;
    this.#open = { start: this.#bucketStart(this.#now()), latencies: [], errors: 0 };
  }

  record(ms: number, status: number): void {
    this.#roll(this.#now());
    this.#open.latencies.push(ms);
    if (status >= 500) this.#open.errors++;
  }

  series(): TrafficSeries {
    const now = this.#now();
    this.#roll(now);
    // The open bucket's rate is over the time it has been open, so the last point does not dip.
    const openSeconds = Math.max(1, now - this.#open.start) / 1000;
    return {
      bucket_s: this.#bucketMs / 1000,
      window_s: (this.#bucketMs * this.#capacity) / 1000,
      points: [...this.#closed, pointOf(this.#open, Math.min(openSeconds, this.#bucketMs / 1000))],
    };
  }

  #bucketStart(t: number): number {
    return t - (t % this.#bucketMs);
  }

  /** Closes the open bucket and any empty ones after it up to `now`, keeping at most capacity - 1 closed. */
  #roll(now: number): void {
    const start = this.#bucketStart(now);
    if (start === this.#open.start) return;
    this.#closed.push(pointOf(this.#open, this.#bucketMs / 1000));
    // After a long quiet spell only the buckets still inside the window are filled in.
    const firstEmpty = Math.max(this.#open.start + this.#bucketMs, start - this.#bucketMs * (this.#capacity - 1));
    for (let t = firstEmpty; t < start; t += this.#bucketMs) this.#closed.push({ t, requests_per_s: 0, errors_per_s: 0, p50_ms: null, p99_ms: null });
    if (this.#closed.length > this.#capacity - 1) this.#closed.splice(0, this.#closed.length - (this.#capacity - 1));
    this.#open = { start, latencies: [], errors: 0 };
  }
}

function pointOf(bucket: OpenBucket, seconds: number): TrafficPoint {
  const n = bucket.latencies.length;
  if (n === 0) return { t: bucket.start, requests_per_s: 0, errors_per_s: 0, p50_ms: null, p99_ms: null };
  const sorted = Float64Array.from(bucket.latencies).sort();
  const rank = (q: number) => round(sorted[Math.min(n - 1, Math.max(0, Math.ceil(q * n) - 1))]!);
  return { t: bucket.start, requests_per_s: round(n / seconds), errors_per_s: round(bucket.errors / seconds), p50_ms: rank(0.5), p99_ms: rank(0.99) };
}

function round(x: number): number {
  return Math.round(x * 100) / 100;
}
