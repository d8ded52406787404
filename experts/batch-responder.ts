import type { Bus, BusMessage, BusSubscription } from '../shared/bus/connection.ts';
import { encode } from '../shared/bus/codec.ts';
import { decodeMessage } from '../shared/bus/decode-message.ts';
import { BatchSearchRequestSchema, Subjects, type BatchSearchReply, type SearchReply, type ShardQuery } from '../shared/bus/protocol.ts';
import { DsiError, ErrorCode } from '../shared/errors.ts';
import type { Logger } from '../shared/log.ts';

/** What the responder asks of a shard served here: its reply to one query, queued like any other search of it (experts/service.ts). */
export interface BatchMember {
  answer(query: ShardQuery, received: number): Promise<SearchReply>;
}

export interface BatchResponderOptions {
  readonly bus: Pick<Bus, 'subscribe'>;
  /** This process's replica id: the batch subject is this process's own. */
  readonly replica: string;
  /** The shard services of this process by shard id, read at each batch (shards are added while the process starts). */
  readonly members: ReadonlyMap<string, BatchMember>;
  readonly log: Logger;
}

/**
 * Answers batched searches sent to this process: one message carrying the queries of
 * several of the shards served here, answered with one message carrying each shard's
 * reply. Each query is answered by its shard's service exactly as a request on the
 * shard's own subject would be (same queue, counts, draining and version), so batching
 * changes how many messages a search costs, not what it answers. A shard not served
 * here gets shard_unavailable in its place and the others are still answered.
 */
export class BatchResponder {
  readonly #o: BatchResponderOptions;
  readonly #subject: string;
  #subscription: BusSubscription | undefined;

  constructor(options: BatchResponderOptions) {
    this.#o = options;
    this.#subject = Subjects.replicaBatch(options.replica);
  }

  /** Subscribes; the caller flushes the bus (a service's start() does) before announcing batches in heartbeats. */
  start(): void {
    this.#subscription = this.#o.bus.subscribe(this.#subject, {}, (message) => this.#onBatch(message));
  }

  /** Stops taking batches and resolves once every batch already here is answered. */
  async stop(): Promise<void> {
    await this.#subscription?.drain();
  }

  async #onBatch(message: BusMessage): Promise<void> {
    const received = performance.now();
    let reply: BatchSearchReply;
    try {
      const { v: _v, shards, ...query } = decodeMessage(BatchSearchRequestSchema, message.data, 'batch search request');
      const replies = await Promise.all(shards.map(({ shard, ...topics }) => this.#o.members.get(shard)?.answer({ ...query, ...topics }, received) ?? this.#notServed(shard)));
      reply = { ok: true, replica: this.#o.replica, replies };
    } catch (error) {
      this.#o.log.warn({ subject: message.subject, bytes: message.data.length, err: (error as Error).message }, 'rejected batch search request');
      const known = error instanceof DsiError;
      reply = { ok: false, replica: this.#o.replica, error: { code: known ? error.code : ErrorCode.Internal, message: known ? error.message : `batch failed: ${(error as Error)?.message ?? String(error)}` } };
    }
    try {
      message.respond(encode(reply));
    } catch (error) {
      this.#o.log.warn({ err: (error as Error).message }, 'batch reply not sent');
    }
  }

  #notServed(shard: string): SearchReply {
    return { ok: false, shard, replica: this.#o.replica, error: { code: ErrorCode.ShardUnavailable, message: `shard ${shard} is not served by replica ${this.#o.replica}` } };
  }
}
