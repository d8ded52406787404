import type { z } from 'zod';
import { DsiError, ErrorCode, TimeoutError } from '../errors.ts';
import type { Bus } from './connection.ts';
import { decodeMessage } from './decode-message.ts';
import { RequestSubjects, type ShardErrorReply, type ShardRequestKind } from './protocol.ts';
import type { ShardView } from './shard-view.ts';

export interface ShardRequestOptions {
  /**
   * Share of the deadline the first attempt may use when another live replica could take
   * the retry. A hung replica only shows itself by not answering, so the first attempt
   * must give up early enough to leave the retry time of its own.
   */
  readonly firstAttemptShare?: number;
  readonly now?: () => number;
}

/** Below this, an attempt could not get a reply back anyway. */
export const MIN_ATTEMPT_MS = 2;
/** ShardRequestOptions.firstAttemptShare when not given. */
export const FIRST_ATTEMPT_SHARE = 0.5;
/** Errors that say the replica, not the request, is the problem: try another replica. */
const RETRYABLE: ReadonlySet<ErrorCode> = new Set([ErrorCode.Timeout, ErrorCode.ShardUnavailable, ErrorCode.BusUnavailable, ErrorCode.Internal]);
/** Errors after which the replica should get no requests until it heartbeats again. */
const REPLICA_FAILED: ReadonlySet<ErrorCode> = new Set([ErrorCode.Timeout, ErrorCode.ShardUnavailable]);

/** A first attempt made outside send() (in a batch): which replica was asked, and how it failed. */
export interface FirstAttempt {
  readonly replica: string;
  readonly error: DsiError;
}

/** The answer of a reply schema: every reply is this or a ShardErrorReply. */
type Answer<S extends z.ZodTypeAny> = Extract<z.output<S>, { ok: true }>;

/**
 * How the router asks one shard anything over the bus (a search, a document): a live
 * replica (known from heartbeats) with the fewest of this router's requests in flight,
 * under a deadline, with one retry on another live replica (every request is a read, so a
 * retry is always safe); a replica that fails is not chosen again until it heartbeats.
 * With no live replica known, the shard's queue group still reaches whoever subscribes.
 * Each request goes to one replica at a time, so a shard answers it once, however many
 * replicas it has.
 */
export class ShardRequests {
  readonly #bus: Pick<Bus, 'request'>;
  readonly #view: ShardView;
  readonly #firstShare: number;
  readonly #now: () => number;
  /** Formatted once per kind and shard, like the replica subjects the shard view holds: no subject is formatted per request. */
  readonly #queueSubjects: Readonly<Record<ShardRequestKind, Map<string, string>>> = { search: new Map(), doc: new Map() };

  constructor(bus: Pick<Bus, 'request'>, view: ShardView, options: ShardRequestOptions = {}) {
    this.#bus = bus;
    this.#view = view;
    this.#firstShare = options.firstAttemptShare ?? FIRST_ATTEMPT_SHARE;
    this.#now = options.now ?? (() => performance.now());
  }

  /**
   * Sends `payload`, a request of `kind`, to a replica of `shard` and resolves with its
   * answer, read with `schema`. Rejects with a DsiError: the replica's own error reply
   * (naming it), the last attempt's failure, or a TimeoutError when the deadline left no
   * time to try.
   *
   * `after`: the first attempt was made elsewhere (the shard's query went to `replica` in
   * a batch, and failed with `error`): the same rules apply to that failure, and only the
   * retry, on another replica, is left.
   */
  async send<S extends z.ZodTypeAny>(kind: ShardRequestKind, shard: string, payload: Uint8Array, deadlineMs: number, schema: S, after?: FirstAttempt): Promise<Answer<S>> {
    const deadline = this.#now() + deadlineMs;
    const tried = new Set<string>();
    let queueTried = false;
    // Built when needed: an error captures a stack trace, which every request would pay for.
    let error: DsiError | undefined;
    if (after) {
      tried.add(after.replica);
      error = after.error;
      if (!this.#mayRetry(after.replica, error)) throw error;
    }
    for (let attempt = after ? 1 : 0; attempt < 2; attempt++) {
      const remaining = deadline - this.#now();
      if (remaining < MIN_ATTEMPT_MS) break;
      const target = this.#view.choose(shard, tried);
      // No live replica known (yet, or any more): the queue group still reaches whoever subscribes.
      if (target === undefined && queueTried) break;
      const replica = target?.replica;
      const subject = target?.subjects[kind] ?? this.#queueSubject(kind, shard);
      if (replica === undefined) queueTried = true;
      else tried.add(replica);
      const budget = attempt === 0 && replica !== undefined && this.#view.usableCount(shard) > 1 ? remaining * this.#firstShare : remaining;
      const end = replica === undefined ? undefined : this.#view.begin(shard, replica);
      try {
        const reply = readReply(schema, await this.#bus.request(subject, payload, Math.max(1, Math.floor(budget))), `${kind} reply`, `shard ${shard}`) as { ok: true } | ShardErrorReply;
        if (!reply.ok) throw new DsiError(reply.error.code, `shard ${shard} replica ${reply.replica}: ${reply.error.message}`);
        return reply as Answer<S>;
      } catch (cause) {
        error = cause instanceof DsiError ? cause : new DsiError(ErrorCode.Internal, `shard ${shard}: ${String(cause)}`, { cause });
        if (!this.#mayRetry(replica, error)) break;
      } finally {
        end?.();
      }
    }
    throw error ?? new TimeoutError(`shard ${shard}: no time left within the ${deadlineMs} ms deadline`);
  }

  /** What a failed attempt means: a replica that did not answer is chosen no more until it heartbeats; true when another replica may be tried. */
  #mayRetry(replica: string | undefined, error: DsiError): boolean {
    if (replica !== undefined && REPLICA_FAILED.has(error.code)) this.#view.markFailed(replica);
    return RETRYABLE.has(error.code);
  }

  #queueSubject(kind: ShardRequestKind, shard: string): string {
    const subjects = this.#queueSubjects[kind];
    let subject = subjects.get(shard);
    if (subject === undefined) subjects.set(shard, (subject = RequestSubjects[kind].queue(shard)));
    return subject;
  }
}

/**
 * A reply read with its schema (`what` names it, `from` who sent it, in errors). One that
 * does not decode is the sender's fault, not the caller's: an internal error, never bad input.
 */
export function readReply<S extends z.ZodTypeAny>(schema: S, bytes: Uint8Array, what: string, from: string): z.output<S> {
  try {
    return decodeMessage(schema, bytes, what);
  } catch (cause) {
    throw new DsiError(ErrorCode.Internal, `${from}: ${(cause as Error).message}`, { cause });
  }
}
