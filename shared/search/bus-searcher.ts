import type { Bus } from '../bus/connection.ts';
import { encode } from '../bus/codec.ts';
import { decodeMessage } from '../bus/decode-message.ts';
import { PROTOCOL_VERSION, SearchReplySchema, Subjects, type SearchRequest, type ShardAnswer, type ShardQuery } from '../bus/protocol.ts';
import type { ShardView } from '../bus/shard-view.ts';
import { DsiError, ErrorCode, TimeoutError } from '../errors.ts';
import type { ShardSearcher } from './shard-searcher.ts';

/** Told about every shard call once it ends (metrics, latency windows). */
export type ShardCallListener = (shard: string, ms: number, outcome: 'ok' | ErrorCode) => void;

export interface BusSearcherOptions {
  readonly deadlineMs: number;
  /**
   * Share of the deadline the first attempt may use when another live replica could take
   * the retry. A hung replica only shows itself by not answering, so the first attempt
   * must give up early enough to leave the retry time of its own.
   */
  readonly firstAttemptShare?: number;
  readonly now?: () => number;
}

/** Below this, an attempt could not get a reply back anyway. */
const MIN_ATTEMPT_MS = 2;
/** Errors that say the replica, not the request, is the problem: try another replica. */
const RETRYABLE: ReadonlySet<ErrorCode> = new Set([ErrorCode.Timeout, ErrorCode.ShardUnavailable, ErrorCode.BusUnavailable, ErrorCode.Internal]);
/** Errors after which the replica should get no requests until it heartbeats again. */
const REPLICA_FAILED: ReadonlySet<ErrorCode> = new Set([ErrorCode.Timeout, ErrorCode.ShardUnavailable]);

/**
 * The shards as separate processes, asked over the bus: each shard's request goes to a live
 * replica (known from heartbeats) under a deadline, with one retry on another live replica
 * (searches are reads, so a retry is always safe); a replica that fails is not chosen again
 * until it heartbeats. The engine asks every routed shard at once, so one search has one
 * deadline.
 */
export class BusSearcher implements ShardSearcher {
  readonly #bus: Pick<Bus, 'request'>;
  readonly #view: ShardView;
  readonly #listener: ShardCallListener;
  readonly #deadlineMs: number;
  readonly #firstShare: number;
  readonly #now: () => number;
  /** Built once, like the replica subjects the shard view holds: no subject is formatted per request. */
  readonly #queueSubjects: Map<string, string>;

  constructor(bus: Pick<Bus, 'request'>, view: ShardView, listener: ShardCallListener, options: BusSearcherOptions) {
    this.#bus = bus;
    this.#view = view;
    this.#listener = listener;
    this.#deadlineMs = options.deadlineMs;
    this.#firstShare = options.firstAttemptShare ?? 0.5;
    this.#now = options.now ?? (() => performance.now());
    this.#queueSubjects = new Map(view.shards.map((s) => [s, Subjects.search(s)]));
  }

  get deadlineMs(): number {
    return this.#deadlineMs;
  }

  async search(shard: string, query: ShardQuery): Promise<ShardAnswer> {
    const started = this.#now();
    const deadline = started + this.#deadlineMs;
    const payload = encode({ v: PROTOCOL_VERSION, ...query } satisfies SearchRequest);
    const tried = new Set<string>();
    let queueTried = false;
    // Built when needed: an error captures a stack trace, which every search would pay for.
    let error: DsiError | undefined;
    for (let attempt = 0; attempt < 2; attempt++) {
      const remaining = deadline - this.#now();
      if (remaining < MIN_ATTEMPT_MS) break;
      const target = this.#view.choose(shard, tried);
      // No live replica known (yet, or any more): the queue group still reaches whoever subscribes.
      if (target === undefined && queueTried) break;
      const replica = target?.replica;
      const subject = target?.subject ?? this.#queueSubjects.get(shard) ?? Subjects.search(shard);
      if (replica === undefined) queueTried = true;
      else tried.add(replica);
      const budget = attempt === 0 && replica !== undefined && this.#view.usableCount(shard) > 1 ? remaining * this.#firstShare : remaining;
      const end = replica === undefined ? undefined : this.#view.begin(shard, replica);
      try {
        const reply = readReply(await this.#bus.request(subject, payload, Math.max(1, Math.floor(budget))), shard);
        if (!reply.ok) throw new DsiError(reply.error.code, `shard ${shard} replica ${reply.replica}: ${reply.error.message}`);
        this.#listener(shard, this.#now() - started, 'ok');
        return { replica: reply.replica, version: reply.version, hits: reply.hits };
      } catch (cause) {
        error = cause instanceof DsiError ? cause : new DsiError(ErrorCode.Internal, `shard ${shard}: ${String(cause)}`, { cause });
        if (replica !== undefined && REPLICA_FAILED.has(error.code)) this.#view.markFailed(shard, replica);
        if (!RETRYABLE.has(error.code)) break;
      } finally {
        end?.();
      }
    }
    error ??= new TimeoutError(`shard ${shard}: no time left within the ${this.#deadlineMs} ms deadline`);
    this.#listener(shard, this.#now() - started, error.code);
    throw error;
  }
}

/** A reply that does not decode is the replica's fault, not the caller's: it is an internal error, never bad input. */
function readReply(bytes: Uint8Array, shard: string) {
  try {
    return decodeMessage(SearchReplySchema, bytes, 'search reply');
  } catch (cause) {
    throw new DsiError(ErrorCode.Internal, `shard ${shard}: ${(cause as Error).message}`, { cause });
  }
}
