/**
 * Retrieval quality and latency figures, computed the same way for DSI and for the BM25
 * baseline so that the two are comparable line for line.
 */
import { DsiError, ErrorCode } from '../errors.ts';

/** Cut-off for Hits@10 and MRR@10; results past it count as misses. */
const CUTOFF = 10;

export interface RankingSummary {
  'hits@1': number;
  'hits@10': number;
  'mrr@10': number;
}

/**
 * Accumulates per-query ranking outcomes. Hits@k is the fraction of queries with at
 * least one relevant document in the top k; MRR@10 averages 1/rank of the first relevant
 * document within the top 10 (0 when there is none).
 */
export class RankingMetrics {
  #count = 0;
  #hits1 = 0;
  #hits10 = 0;
  #reciprocalRanks = 0;

  add(ranked: readonly string[], relevant: ReadonlySet<string>): void {
    this.#count++;
    const limit = Math.min(ranked.length, CUTOFF);
    for (let i = 0; i < limit; i++) {
      if (!relevant.has(ranked[i])) continue;
      if (i === 0) this.#hits1++;
      this.#hits10++;
      this.#reciprocalRanks += 1 / (i + 1);
      return;
    }
  }

  get count(): number {
    return this.#count;
  }

  /** Means over the queries added so far; all zero before the first. */
  summary(): RankingSummary {
    const n = this.#count;
    if (n === 0) return { 'hits@1': 0, 'hits@10': 0, 'mrr@10': 0 };
    return { 'hits@1': this.#hits1 / n, 'hits@10': this.#hits10 / n, 'mrr@10': this.#reciprocalRanks / n };
  }
}

export interface LatencySummary {
  p50_ms: number;
  p99_ms: number;
  mean_ms: number;
  count: number;
}

/** Collects latencies in milliseconds; keeps every sample so percentiles are exact. */
export class LatencyRecorder {
  // A growable typed array: load tests record millions of samples, which as a number[]
  // would cost several times the memory.
  #samples = new Float64Array(1024);
  #count = 0;
  #sum = 0;

  record(ms: number): void {
    if (!Number.isFinite(ms) || ms < 0) {
      throw new DsiError(ErrorCode.Internal, `latency must be a finite, non-negative number of ms, got ${ms}`);
    }
    if (this.#count === this.#samples.length) {
      const grown = new Float64Array(this.#samples.length * 2);
      grown.set(this.#samples);
      this.#samples = grown;
    }
    this.#samples[this.#count++] = ms;
    this.#sum += ms;
  }

  /** All zero before the first sample. */
  summary(): LatencySummary {
    const n = this.#count;
    if (n === 0) return { p50_ms: 0, p99_ms: 0, mean_ms: 0, count: 0 };
    const sorted = this.#samples.slice(0, n).sort();
    return {
      p50_ms: nearestRank(sorted, 50),
      p99_ms: nearestRank(sorted, 99),
      mean_ms: this.#sum / n,
      count: n,
    };
  }
}

/**
 * The p-th percentile (p in [0, 100]) by the nearest-rank method: the smallest value
 * such that at least p% of the values are less than or equal to it. Works on a sorted
 * copy, leaving the input alone; 0 for no values.
 */
export function percentile(values: readonly number[] | Float64Array, p: number): number {
  if (!(p >= 0 && p <= 100)) {
    throw new DsiError(ErrorCode.Internal, `percentile must be within [0, 100], got ${p}`);
  }
  if (values.length === 0) return 0;
  return nearestRank(Float64Array.from(values).sort(), p);
}

/** Typed-array sort is numeric, unlike Array.prototype.sort's default string order. */
function nearestRank(sorted: Float64Array, p: number): number {
  // p·n first: for integer p and n it is exact, so ceil cannot be pushed up a rank by
  // rounding in p/100 (0.07·100 is 7.000000000000001).
  const rank = Math.min(sorted.length, Math.max(1, Math.ceil((p * sorted.length) / 100)));
  return sorted[rank - 1];
}
