import type { Logger } from '../shared/log.ts';
import type { Engine, EngineHit, ShardFailure } from '../shared/search/engine.ts';
import type { SearchBody } from './search-body.ts';

/** A result as the API shows it: the engine's hit, always titled. */
export type SearchResult = EngineHit & { readonly title: string };

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
 * POST /v1/search: the engine's search (over the bus), as the HTTP API shows it: results
 * as the shards titled them (from their own documents: the router holds none), topics with
 * their probability, and the shards that did not answer.
 */
export class SearchService {
  readonly #engine: Engine;
  readonly #log: Logger;
  /** Degraded answers are logged at most once a second, with how many there were: an outage must not flood the log. */
  #degradedSince = 0;
  #degradedCount = 0;

  constructor(engine: Engine, log: Logger) {
    this.#engine = engine;
    this.#log = log;
  }

  /** Runs the gating model once so the first request does not pay for compilation and first-use allocations. */
  warmUp(): void {
    this.#engine.warmUp();
  }

  async search(body: SearchBody): Promise<SearchResponse> {
    const started = performance.now();
    const result = await this.#engine.search(body.query, { k: body.k, fanout: body.fanout });
    if (result.failures.length > 0) this.#noteDegraded(result.failures);
    return {
      results: result.hits.map((h) => ({ id: h.id, docid: h.docid, score: h.score, shard: h.shard, title: h.title ?? '' })),
      routed: result.routed.map((r) => ({ topic: r.topic, p: Math.exp(r.logp) })),
      took_ms: performance.now() - started,
      degraded: result.failures.length > 0,
      missing_shards: result.failures.map((f) => f.shard),
      answered_by: result.answers,
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
