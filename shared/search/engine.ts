import type { LexicalQuery, RoutedTopic, Scoring, ShardAnswer, ShardHit, ShardQuery } from '../bus/protocol.ts';
import type { QueryHead } from '../model/lexical/query-head.ts';
import { queryWords } from '../model/lexical/terms.ts';
import type { IndexConfig } from '../config.ts';
import { ShardUnavailableError, type DsiError } from '../errors.ts';
import type { GatingModel, RoutingOptions } from '../model/gating/gating-model.ts';
import { mergeHits, planRoute, type RoutePlan } from './route.ts';
import type { ShardSearcher } from './shard-searcher.ts';

/** What routes a query: the gating model, which shard holds each topic, and the index settings that shape routing. */
export interface RoutingTable {
  readonly gating: GatingModel;
  /** The lexical half's query side: weighs a query's terms once for every shard. */
  readonly head: QueryHead;
  readonly shardOfTopic: ReadonlyMap<number, string>;
  readonly config: Readonly<Pick<IndexConfig, 'routing' | 'featurizer'>>;
}

/** Where the engine reads its routing table, once per search: fixed for an index folder, replaced as the registry changes for the router. */
export interface RoutingSource {
  readonly current: RoutingTable;
}

export interface SearchOptions {
  readonly k: number;
  /** Topics asked at most, lexical ones included (when not given: the index's fan-out, plus up to routing.lexicalTopics where the lexical half expects candidates). */
  readonly fanout?: number;
  /** Both halves fused (the default), or one alone. */
  readonly scoring?: Scoring;
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

/** A shard's hit named with its shard: built field by field, as a spread of hits of two shapes (titled or not) is several times slower. */
function withShard(hit: ShardHit, shard: string): EngineHit {
  const { id, docid, score, title } = hit;
  return title === undefined ? { id, docid, score, shard } : { id, docid, score, title, shard };
}

/** Each shard's topics, as indexes into gating.topicIds: what otherTopics walks, built once per routing table rather than per shard asked. */
function topicsByShard(table: RoutingTable): Map<string, number[]> {
  const out = new Map<string, number[]>();
  const ids = table.gating.topicIds;
  for (let i = 0; i < ids.length; i++) {
    const shard = table.shardOfTopic.get(ids[i]!);
    if (shard === undefined) continue;
    const list = out.get(shard);
    if (list) list.push(i);
    else out.set(shard, [i]);
  }
  return out;
}

/** log P(topic) of the shard's topics the query was not routed to, where its lexical half may still find documents. */
function otherTopics(table: RoutingTable, plan: RoutePlan, shardTopics: readonly number[], routed: readonly RoutedTopic[]): RoutedTopic[] {
  const out: RoutedTopic[] = [];
  const ids = table.gating.topicIds;
  for (const i of shardTopics) {
    const topic = ids[i]!;
    if (!routed.some((t) => t.topic === topic)) out.push({ topic, logp: Math.min(0, plan.logp[i]!) });
  }
  return out;
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
  /** Each shard's topics under the current routing table. */
  #shardTopics: { table: RoutingTable; byShard: Map<string, number[]> } | undefined;

  constructor(routing: RoutingSource, searcher: ShardSearcher) {
    this.#routing = routing;
    this.#searcher = searcher;
  }

  /** The topics a query is routed to (the gating model's, widened by its lexical terms), grouped by shard: what a search asks. */
  route(query: string, fanout?: number): RoutePlan {
    return this.#ask(this.#routing.current, query, { k: 1, fanout }).plan;
  }

  /**
   * Routes, asks and merges: the k best hits, asking at most `fanout` topics (the index's
   * fan-out when not given). A shard that fails is reported in `failures` and the others'
   * hits are still returned; when every shard asked fails, the search fails with
   * ShardUnavailableError.
   */
  async search(query: string, options: SearchOptions): Promise<EngineResult> {
    // One routing table for the whole search: one swapped in meanwhile serves the next search.
    const { plan, queries } = this.#ask(this.#routing.current, query, options);
    const outcomes = await this.#searcher.searchShards(queries);
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
      lists.push(answer.hits.map((h) => withShard(h, shard)));
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

  #plan(table: RoutingTable, query: string, fanout: number | undefined, lexicalBounds?: ReadonlyMap<number, number>): RoutePlan {
    return planRoute(table.gating, table.shardOfTopic, query, this.#routingOptions(table.config, fanout), table.config.featurizer, lexicalBounds);
  }

  #routingOptions(config: RoutingTable['config'], fanout: number | undefined): Readonly<RoutingOptions> {
    if (this.#options?.config !== config) this.#options = { config, byFanout: new Map([[undefined, config.routing]]) };
    let options = this.#options.byFanout.get(fanout);
    if (!options) this.#options.byFanout.set(fanout, (options = Object.freeze({ ...config.routing, maxFanout: fanout!, cap: fanout! })));
    return options;
  }

  /**
   * What each shard asked is asked: the routed topics it holds, the query's lexical terms
   * (weighed once, here) and log P of its other topics.
   */
  shardQueries(query: string, options: SearchOptions): Map<string, ShardQuery> {
    return this.#ask(this.#routing.current, query, options).queries;
  }

  #ask(table: RoutingTable, query: string, options: SearchOptions): { plan: RoutePlan; queries: Map<string, ShardQuery> } {
    const weighted = table.head.queryTerms(queryWords(query));
    const lexical: LexicalQuery = { terms: Array.from(weighted.ids), weights: Array.from(weighted.weights), bound: table.head.bound(weighted) };
    const plan = this.#plan(table, query, options.fanout, table.head.topics.bounds(weighted));
    if (this.#shardTopics?.table !== table) this.#shardTopics = { table, byShard: topicsByShard(table) };
    const queries = new Map<string, ShardQuery>();
    for (const [shard, topics] of plan.byShard) {
      const others = otherTopics(table, plan, this.#shardTopics.byShard.get(shard) ?? [], topics);
      const shardQuery: ShardQuery = { query, topics, k: options.k, lexical, otherTopics: others };
      queries.set(shard, options.scoring ? { ...shardQuery, scoring: options.scoring } : shardQuery);
    }
    return { plan, queries };
  }
}
