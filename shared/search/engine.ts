import type { RoutedTopic, ShardAnswer, ShardHit, ShardQuery } from '../bus/protocol.ts';
import type { IndexConfig } from '../config.ts';
import { DsiError, ErrorCode, ShardUnavailableError } from '../errors.ts';
import type { GatingModel, RoutingOptions } from '../model/gating/gating-model.ts';
import { mergeHits, planRoute, type RoutePlan } from './route.ts';
import type { ShardSearcher } from './shard-searcher.ts';

/** What routes a query: the gating model, which shard holds each topic, and the index settings that shape routing. */
export interface RoutingTable {
  readonly gating: GatingModel;
  readonly shardOfTopic: ReadonlyMap<number, string>;
  readonly config: Readonly<Pick<IndexConfig, 'routing' | 'featurizer'>>;
}

/** Where the engine reads its routing table, once per search: fixed for an index folder, replaced as the registry changes for the router. */
export interface RoutingSource {
  readonly current: RoutingTable;
}

export interface EngineHit extends ShardHit {
  readonly shard: string;
}

export interface ShardFailure {
  readonly shard: string;
  readonly error: DsiError;
}

export interface EngineResult {
  /** The k best hits of every shard asked, by score. */
  readonly hits: EngineHit[];
  readonly routed: RoutedTopic[];
  /** Which replica and model version of each shard answered, by shard. */
  readonly answers: (Omit<ShardAnswer, 'hits'> & { readonly shard: string })[];
  /** Shards routed to that did not answer (the hits come from the others), by shard. */
  readonly failures: ShardFailure[];
}

/**
 * The one search, wherever the shards are: the gating model routes the query to its most
 * likely topics, the shards holding them are asked at once through a ShardSearcher, and
 * their hits are merged by score. The router runs it over the bus; evaluation, `dsi query`,
 * builds and benchmarks run it in process.
 */
export class Engine {
  readonly #routing: RoutingSource;
  readonly #searcher: ShardSearcher;
  /** Routing options of each fan-out asked for, built once per config rather than per request. */
  #options: { config: RoutingTable['config']; byFanout: Map<number | undefined, Readonly<RoutingOptions>> } | undefined;

  constructor(routing: RoutingSource, searcher: ShardSearcher) {
    this.#routing = routing;
    this.#searcher = searcher;
  }

  /** The topics a query is routed to, grouped by shard. */
  route(query: string, fanout?: number): RoutePlan {
    return this.#plan(this.#routing.current, query, fanout);
  }

  /**
   * Routes, asks and merges: the k best hits, asking at most `fanout` topics (the index's
   * fan-out when not given). A shard that fails is reported in `failures` and the others'
   * hits are still returned; when every shard asked fails, the search fails with
   * ShardUnavailableError.
   */
  async search(query: string, options: { readonly k: number; readonly fanout?: number }): Promise<EngineResult> {
    // One routing table for the whole search: one swapped in meanwhile serves the next search.
    const plan = this.#plan(this.#routing.current, query, options.fanout);
    const outcomes = await Promise.all([...plan.byShard].map(([shard, topics]) => this.#ask(shard, { query, topics, k: options.k })));
    const answers: EngineResult['answers'] = [];
    const lists: EngineHit[][] = [];
    const failures: ShardFailure[] = [];
    for (const outcome of outcomes) {
      if ('error' in outcome) {
        failures.push(outcome);
        continue;
      }
      const { shard, answer } = outcome;
      answers.push({ shard, replica: answer.replica, version: answer.version });
      lists.push(answer.hits.map((h) => ({ ...h, shard })));
    }
    if (answers.length === 0 && failures.length > 0) {
      throw new ShardUnavailableError(failures.map((f) => f.shard).join(','), failures.map((f) => f.error.message).join('; '));
    }
    const byShard = (a: { shard: string }, b: { shard: string }) => a.shard.localeCompare(b.shard);
    return { hits: mergeHits(lists, options.k), routed: plan.routed, answers: answers.sort(byShard), failures: failures.sort(byShard) };
  }

  /** Routes one query so the first real one does not pay for first-use allocations. */
  warmUp(): void {
    this.route('warm up');
  }

  #plan(table: RoutingTable, query: string, fanout: number | undefined): RoutePlan {
    return planRoute(table.gating, table.shardOfTopic, query, this.#routingOptions(table.config, fanout), table.config.featurizer);
  }

  #routingOptions(config: RoutingTable['config'], fanout: number | undefined): Readonly<RoutingOptions> {
    if (this.#options?.config !== config) this.#options = { config, byFanout: new Map([[undefined, config.routing]]) };
    let options = this.#options.byFanout.get(fanout);
    if (!options) this.#options.byFanout.set(fanout, (options = Object.freeze({ ...config.routing, maxFanout: fanout! })));
    return options;
  }

  async #ask(shard: string, query: ShardQuery): Promise<{ shard: string; answer: ShardAnswer } | ShardFailure> {
    try {
      return { shard, answer: await this.#searcher.search(shard, query) };
    } catch (cause) {
      const error = cause instanceof DsiError ? cause : new DsiError(ErrorCode.Internal, `shard ${shard}: ${(cause as Error)?.message ?? String(cause)}`, { cause });
      return { shard, error };
    }
  }
}
