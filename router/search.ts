import { ShardUnavailableError } from '../shared/errors.ts';
import type { Logger } from '../shared/log.ts';
import type { RoutingOptions } from '../shared/model/gating.ts';
import { mergeHits, planRoute } from '../shared/routing.ts';
import type { Catalog, CatalogSource } from './catalog.ts';
import type { Fanout, ShardFailure, ShardHit } from './fanout.ts';
import type { SearchBody } from './search-body.ts';

export interface SearchResult {
  readonly id: string;
  readonly docid: string;
  readonly score: number;
  readonly shard: string;
  readonly title: string;
}

export interface SearchResponse {
  readonly results: SearchResult[];
  readonly routed: { topic: number; p: number }[];
  readonly took_ms: number;
  /** Some shard the query was routed to did not answer: results come from the others. */
  readonly degraded: boolean;
  readonly missing_shards: string[];
  /** Which replica and model version of each shard answered. */
  readonly answered_by: { shard: string; replica: string; version: number }[];
}

/**
 * One search across the cluster, the same steps as LocalPipeline.search: gating → the
 * shards of the routed topics → merge; plus titles, and the shards that did not answer.
 */
export class SearchService {
  readonly #catalog: CatalogSource;
  readonly #fanout: Fanout;
  readonly #maxFanout: number;
  /** Routing options for each fanout a request may ask for, built once per catalog config. */
  #routing: { config: Catalog['config']; byFanout: Map<number | undefined, Readonly<RoutingOptions>> } | undefined;

  readonly #log: Logger;
  /** Degraded answers are logged at most once a second, with how many there were: an outage must not flood the log. */
  #degradedSince = 0;
  #degradedCount = 0;

  constructor(catalog: CatalogSource, fanout: Fanout, maxFanout: number, log: Logger) {
    this.#catalog = catalog;
    this.#fanout = fanout;
    this.#maxFanout = maxFanout;
    this.#log = log;
  }

  #routingFor(config: Catalog['config'], fanout: number | undefined): Readonly<RoutingOptions> {
    if (this.#routing?.config !== config) {
      const base = config.routing;
      const byFanout = new Map<number | undefined, Readonly<RoutingOptions>>([[undefined, base]]);
      for (let f = 1; f <= this.#maxFanout; f++) byFanout.set(f, Object.freeze({ ...base, maxFanout: f }));
      this.#routing = { config, byFanout };
    }
    return this.#routing.byFanout.get(fanout) ?? { ...config.routing, maxFanout: fanout ?? config.routing.maxFanout };
  }

  /** Runs the gating model once so the first request does not pay for compilation and first-use allocations. */
  warmUp(): void {
    const { gating, shardOfTopic, config } = this.#catalog.current;
    planRoute(gating, shardOfTopic, 'warm up', config.routing, config.featurizer);
  }

  async search(body: SearchBody): Promise<SearchResponse> {
    const started = performance.now();
    // One snapshot for the whole search: a catalog swapped in meanwhile serves the next one.
    const { gating, shardOfTopic, config, docs } = this.#catalog.current;
    const routing = this.#routingFor(config, body.fanout);
    const plan = planRoute(gating, shardOfTopic, body.query, routing, config.featurizer);
    const { answers, failures } = await this.#fanout.query(plan.byShard, body.query, body.k);
    if (answers.length === 0 && failures.length > 0) {
      throw new ShardUnavailableError(failures.map((f) => f.shard).join(','), failures.map((f) => f.error.message).join('; '));
    }
    const lists = answers.map((a) => a.hits.map((h: ShardHit) => ({ ...h, shard: a.shard })));
    const results = mergeHits(lists, body.k).map((h) => ({ id: h.id, docid: h.docid, score: h.score, shard: h.shard, title: docs.get(h.id)?.title ?? '' }));
    if (failures.length > 0) this.#noteDegraded(failures);
    return {
      results,
      routed: plan.routed.map((r) => ({ topic: r.topic, p: Math.exp(r.logp) })),
      took_ms: performance.now() - started,
      degraded: failures.length > 0,
      missing_shards: failures.map((f) => f.shard).sort(),
      answered_by: answers.map((a) => ({ shard: a.shard, replica: a.replica, version: a.version })).sort((a, b) => a.shard.localeCompare(b.shard)),
    };
  }

  #noteDegraded(failures: readonly ShardFailure[]): void {
    this.#degradedCount++;
    const now = performance.now();
    if (now - this.#degradedSince < 1000) return;
    this.#log.warn({ missing_shards: failures.map((f) => f.shard), reasons: failures.map((f) => f.error.message), degraded_answers: this.#degradedCount }, 'answering without some shards');
    this.#degradedSince = now;
    this.#degradedCount = 0;
  }
}
