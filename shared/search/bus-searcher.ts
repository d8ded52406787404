import type { Bus } from '../bus/connection.ts';
import { encode } from '../bus/codec.ts';
import {
  BatchSearchReplySchema,
  PROTOCOL_VERSION,
  SearchReplySchema,
  ShardRequestKind,
  type BatchSearchRequest,
  type SearchReply,
  type SearchRequest,
  type ShardAnswer,
  type ShardQuery,
} from '../bus/protocol.ts';
import type { ReplicaTarget, ShardView } from '../bus/shard-view.ts';
import { FIRST_ATTEMPT_SHARE, MIN_ATTEMPT_MS, readReply, ShardRequests, type FirstAttempt, type ShardRequestOptions } from '../bus/shard-requests.ts';
import { DsiError, ErrorCode, TimeoutError } from '../errors.ts';
import { asDsiError, settled, type ShardOutcome, type ShardSearcher } from './shard-searcher.ts';

/** Told about every shard call once it ends (metrics, latency windows). */
export type ShardCallListener = (shard: string, ms: number, outcome: 'ok' | ErrorCode) => void;

export interface BusSearcherOptions extends ShardRequestOptions {
  readonly deadlineMs: number;
}

/** The shards of one search sent to one process, each counted in flight to it until the batch ends. */
interface Batch {
  readonly target: ReplicaTarget & { readonly batch: string };
  readonly shards: [string, ShardQuery][];
  readonly ends: (() => void)[];
}

/**
 * The shards as separate processes, asked over the bus. Each shard of a search goes to a
 * live replica (ShardView.choose), preferring the processes the search already asks, and
 * the shards that land on the same process go to it in one batch, answered in one reply:
 * messages on the loopback cost more than a shard's search, so a search costs one message
 * per process it needs rather than one per shard (with every process serving every shard,
 * one message: measured cheaper, and no slower at one client, than spreading a search's
 * shards over processes to search them in parallel). A shard whose part of a batch fails
 * is retried on its own on another replica (shard-requests.ts, also the path of processes
 * that do not announce batches and of shards with no live replica known), within the same
 * deadline: one search has one deadline.
 */
export class BusSearcher implements ShardSearcher {
  readonly #bus: Pick<Bus, 'request'>;
  readonly #view: ShardView;
  readonly #requests: ShardRequests;
  readonly #listener: ShardCallListener;
  readonly #deadlineMs: number;
  readonly #firstShare: number;
  readonly #now: () => number;

  constructor(bus: Pick<Bus, 'request'>, view: ShardView, listener: ShardCallListener, options: BusSearcherOptions) {
    this.#bus = bus;
    this.#view = view;
    this.#requests = new ShardRequests(bus, view, options);
    this.#listener = listener;
    this.#deadlineMs = options.deadlineMs;
    this.#firstShare = options.firstAttemptShare ?? FIRST_ATTEMPT_SHARE;
    this.#now = options.now ?? (() => performance.now());
  }

  get deadlineMs(): number {
    return this.#deadlineMs;
  }

  async search(shard: string, query: ShardQuery): Promise<ShardAnswer> {
    return this.#alone(shard, query, this.#now());
  }

  async searchShards(queries: ReadonlyMap<string, ShardQuery>): Promise<ShardOutcome[]> {
    const started = this.#now();
    const batches = new Map<string, Batch>();
    const outcomes: Promise<ShardOutcome[]>[] = [];
    const asked = new Set<string>();
    for (const shard of this.#view.inRankOrder(queries.keys())) {
      const query = queries.get(shard)!;
      const target = this.#view.choose(shard, undefined, asked);
      const batch = target?.batch === undefined ? undefined : batches.get(target.replica);
      if (target?.batch === undefined || (batch !== undefined && !sameQuery(batch.shards[0]![1], query))) {
        // No live replica known, one of before batching, or (not from the engine) another query than its batch's: the shard is asked on its own.
        outcomes.push(settled(shard, this.#alone(shard, query, started)).then((o) => [o]));
        continue;
      }
      const joined = batch ?? { target: target as Batch['target'], shards: [], ends: [] };
      if (!batch) {
        batches.set(target.replica, joined);
        asked.add(target.replica);
      }
      joined.shards.push([shard, query]);
      // In flight from now: the next search prefers a process with less to do.
      joined.ends.push(this.#view.begin(shard, target.replica));
    }
    for (const batch of batches.values()) outcomes.push(this.#batch(batch, started));
    return (await Promise.all(outcomes)).flat();
  }

  /** One batch: each shard's answer from the reply, or its retry on another replica when its part failed. */
  async #batch(batch: Batch, started: number): Promise<ShardOutcome[]> {
    const { target, shards } = batch;
    const replies = new Map<string, SearchReply>();
    let failure: DsiError | undefined;
    try {
      const remaining = started + this.#deadlineMs - this.#now();
      if (remaining < MIN_ATTEMPT_MS) throw new TimeoutError(`replica ${target.replica}: no time left within the ${this.#deadlineMs} ms deadline`);
      // As for one shard (shard-requests.ts): a hung process shows itself only by not
      // answering, so when a retry elsewhere is possible the batch leaves it time.
      const retryable = shards.some(([shard]) => this.#view.usableCount(shard) > 1);
      const budget = Math.max(1, Math.floor(retryable ? remaining * this.#firstShare : remaining));
      const { topics: _t, otherTopics: _o, ...common } = shards[0]![1];
      const request: BatchSearchRequest = { v: PROTOCOL_VERSION, ...common, shards: shards.map(([shard, { topics, otherTopics }]) => ({ shard, topics, otherTopics })) };
      const reply = readReply(BatchSearchReplySchema, await this.#bus.request(target.batch, encode(request), budget), 'batch search reply', `replica ${target.replica}`);
      if (!reply.ok) throw new DsiError(reply.error.code, `replica ${target.replica}: ${reply.error.message}`);
      for (const part of reply.replies) replies.set(part.shard, part);
    } catch (cause) {
      failure = asDsiError(cause, target.replica);
    } finally {
      for (const end of batch.ends) end();
    }
    return Promise.all(
      shards.map(([shard, query]) => {
        const reply = replies.get(shard);
        if (reply?.ok) {
          this.#listener(shard, this.#now() - started, 'ok');
          return { shard, answer: { replica: reply.replica, version: reply.version, hits: reply.hits } };
        }
        const error = failure ?? shardError(shard, target.replica, reply);
        return settled(shard, this.#alone(shard, query, started, { replica: target.replica, error }));
      }),
    );
  }

  /** One shard on its own request, within the deadline of a search begun at `started`: both attempts, or (after a failed batch) the retry alone. */
  async #alone(shard: string, query: ShardQuery, started: number, after?: FirstAttempt): Promise<ShardAnswer> {
    const payload = encode({ v: PROTOCOL_VERSION, ...query } satisfies SearchRequest);
    try {
      const reply = await this.#requests.send(ShardRequestKind.search, shard, payload, started + this.#deadlineMs - this.#now(), SearchReplySchema, after);
      this.#listener(shard, this.#now() - started, 'ok');
      return { replica: reply.replica, version: reply.version, hits: reply.hits };
    } catch (error) {
      this.#listener(shard, this.#now() - started, error instanceof DsiError ? error.code : ErrorCode.Internal);
      throw error;
    }
  }
}

/** Whether two shards are asked the same query (the engine asks every shard of a search the same, lexical terms included), so one batch can carry it once. */
function sameQuery(a: ShardQuery, b: ShardQuery): boolean {
  return a.query === b.query && a.k === b.k && a.lexical === b.lexical && a.scoring === b.scoring;
}

/** Why a shard's part of a batch reply is not an answer: its own error reply, or none at all (the process's fault). */
function shardError(shard: string, replica: string, reply: SearchReply | undefined): DsiError {
  if (reply && !reply.ok) return new DsiError(reply.error.code, `shard ${shard} replica ${reply.replica}: ${reply.error.message}`);
  return new DsiError(ErrorCode.Internal, `shard ${shard}: replica ${replica} sent no reply of it in its batch`);
}

