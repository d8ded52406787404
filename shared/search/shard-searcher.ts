import type { ShardAnswer, ShardQuery } from '../bus/protocol.ts';
import { DsiError, ErrorCode } from '../errors.ts';

/** How one shard of a search ended: its answer, or why it has none. */
export type ShardOutcome = { readonly shard: string; readonly answer: ShardAnswer } | { readonly shard: string; readonly error: DsiError };

/**
 * How the engine asks shards for hits: text and the routed topics in, scored hits out,
 * with the replica and model version that answered. How a shard scores is the expert's
 * business; the engine only routes and merges.
 *
 * Two implementations, one contract (shard-searcher.test.ts runs it against both):
 *   InProcessSearcher  the experts loaded in this process (dsi eval, dsi query, builds, benchmarks)
 *   BusSearcher        the expert processes, over NATS (the router)
 */
export interface ShardSearcher {
  /**
   * Resolves with the shard's answer; topics the shard does not hold are skipped, so a
   * query routed only to topics it lacks gets no hits. Rejects with a DsiError: a shard no
   * one serves is ShardUnavailable, one that did not answer in time is Timeout.
   */
  search(shard: string, query: ShardQuery): Promise<ShardAnswer>;
  /**
   * Every shard a search asks, at once (a searcher may ask several together): one outcome
   * per shard, in no particular order, each settled on its own, so one shard's failure
   * costs only that shard. Never rejects.
   */
  searchShards(queries: ReadonlyMap<string, ShardQuery>): Promise<ShardOutcome[]>;
}

/** searchShards for a searcher that asks each shard on its own: search() for each, at once. */
export function searchEach(searcher: Pick<ShardSearcher, 'search'>, queries: ReadonlyMap<string, ShardQuery>): Promise<ShardOutcome[]> {
  return Promise.all([...queries].map(([shard, query]) => settled(shard, searcher.search(shard, query))));
}

/** A shard's answer, or its failure, as its outcome: never rejects. */
export function settled(shard: string, answer: Promise<ShardAnswer>): Promise<ShardOutcome> {
  return answer.then(
    (a) => ({ shard, answer: a }),
    (cause: unknown) => ({ shard, error: asDsiError(cause, shard) }),
  );
}

/** A failure as a DsiError: ours pass through, anything else is an internal fault of the shard. */
export function asDsiError(cause: unknown, shard: string): DsiError {
  return cause instanceof DsiError ? cause : new DsiError(ErrorCode.Internal, `shard ${shard}: ${(cause as Error)?.message ?? String(cause)}`, { cause });
}
