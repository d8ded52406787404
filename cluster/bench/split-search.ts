import type { LocalIndex, LocalSearchResult } from '../local-index.ts';

/** Searches timed before this many are left out of the latency: first-use allocations and compilation are not what is measured. */
const WARM_UP = 50;

export interface SplitFigures {
  readonly hits1: number;
  readonly hits10: number;
  readonly mrr10: number;
  readonly p50Ms: number;
  readonly p99Ms: number;
}

/**
 * Every query of a split searched once in process (top 10), one at a time: Hits@1, Hits@10,
 * MRR@10 and the whole search's p50 / p99. `each` sees every query's result and relevant
 * documents, for a sweep's figures of its own.
 */
export async function searchSplit(
  index: LocalIndex,
  queries: ReadonlyMap<string, string>,
  pairs: readonly (readonly [string, ReadonlySet<string>])[],
  each?: (result: LocalSearchResult, relevant: ReadonlySet<string>) => void,
): Promise<SplitFigures> {
  let hits1 = 0;
  let hits10 = 0;
  let mrr = 0;
  const times: number[] = [];
  for (const [n, [id, relevant]] of pairs.entries()) {
    const started = performance.now();
    const result = await index.search(queries.get(id)!, 10);
    if (n >= WARM_UP) times.push(performance.now() - started);
    each?.(result, relevant);
    const rank = result.hits.findIndex((h) => relevant.has(h.id));
    if (rank === 0) hits1++;
    if (rank >= 0) {
      hits10++;
      mrr += 1 / (rank + 1);
    }
  }
  times.sort((a, b) => a - b);
  const at = (f: number) => times[Math.min(times.length - 1, Math.floor(times.length * f))]!;
  const q = pairs.length;
  return { hits1: hits1 / q, hits10: hits10 / q, mrr10: mrr / q, p50Ms: at(0.5), p99Ms: at(0.99) };
}

/** A sweep row's figures: `hits@1 … mrr@10 … p50 … ms  p99 … ms`. */
export function formatSplitFigures(f: SplitFigures): string {
  return `hits@1 ${f.hits1.toFixed(4)}  hits@10 ${f.hits10.toFixed(4)}  mrr@10 ${f.mrr10.toFixed(4)}  p50 ${f.p50Ms.toFixed(2)} ms  p99 ${f.p99Ms.toFixed(2)} ms`;
}
