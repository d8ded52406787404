import type { Bus } from '../bus/connection.ts';
import { encode } from '../bus/codec.ts';
import { PROTOCOL_VERSION, SearchReplySchema, ShardRequestKind, type SearchRequest, type ShardAnswer, type ShardQuery } from '../bus/protocol.ts';
import type { ShardView } from '../bus/shard-view.ts';
import { ShardRequests, type ShardRequestOptions } from '../bus/shard-requests.ts';
import { DsiError, ErrorCode } from '../errors.ts';
import type { ShardSearcher } from './shard-searcher.ts';

/** Told about every shard call once it ends (metrics, latency windows). */
export type ShardCallListener = (shard: string, ms: number, outcome: 'ok' | ErrorCode) => void;

export interface BusSearcherOptions extends ShardRequestOptions {
  readonly deadlineMs: number;
}

/**
 * The shards as separate processes, asked over the bus: each shard's request goes to a live
 * replica under a deadline, with one retry on another (shard-requests.ts). The engine asks
 * every routed shard at once, so one search has one deadline.
 */
export class BusSearcher implements ShardSearcher {
  readonly #requests: ShardRequests;
  readonly #listener: ShardCallListener;
  readonly #deadlineMs: number;
  readonly #now: () => number;

  constructor(bus: Pick<Bus, 'request'>, view: ShardView, listener: ShardCallListener, options: BusSearcherOptions) {
    this.#requests = new ShardRequests(bus, view, options);
    this.#listener = listener;
    this.#deadlineMs = options.deadlineMs;
    this.#now = options.now ?? (() => performance.now());
  }

  get deadlineMs(): number {
    return this.#deadlineMs;
  }

  async search(shard: string, query: ShardQuery): Promise<ShardAnswer> {
    const started = this.#now();
    const payload = encode({ v: PROTOCOL_VERSION, ...query } satisfies SearchRequest);
    try {
      const reply = await this.#requests.send(ShardRequestKind.search, shard, payload, this.#deadlineMs, SearchReplySchema);
      this.#listener(shard, this.#now() - started, 'ok');
      return { replica: reply.replica, version: reply.version, hits: reply.hits };
    } catch (error) {
      this.#listener(shard, this.#now() - started, error instanceof DsiError ? error.code : ErrorCode.Internal);
      throw error;
    }
  }
}
