/**
 * The last `capacity` latencies of something, for "recent" percentiles. Recording is a
 * store into a preallocated ring (it sits on the request path); percentiles sort a copy
 * and are only computed when someone asks (GET /v1/shards).
 */
export class LatencyWindow {
  readonly #samples: Float64Array;
  #next = 0;
  #count = 0;

  constructor(capacity: number) {
    if (!Number.isInteger(capacity) || capacity < 1) throw new RangeError(`capacity must be a positive integer, got ${capacity}`);
    this.#samples = new Float64Array(capacity);
  }

  record(ms: number): void {
    this.#samples[this.#next] = ms;
    this.#next = (this.#next + 1) % this.#samples.length;
    if (this.#count < this.#samples.length) this.#count++;
  }

  get count(): number {
    return this.#count;
  }

  /** Nearest-rank percentiles (q in [0, 1]) of the window; null while it is empty. */
  percentiles(qs: readonly number[]): (number | null)[] {
    if (this.#count === 0) return qs.map(() => null);
    const sorted = this.#samples.slice(0, this.#count).sort();
    return qs.map((q) => sorted[Math.min(this.#count - 1, Math.max(0, Math.ceil(q * this.#count) - 1))]!);
  }
}
