import type { ShardAnswer, ShardQuery } from '../bus/protocol.ts';

/**
 * How the engine asks one shard for hits: text and the routed topics in, scored hits out,
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
}
