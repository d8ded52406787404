import { setImmediate as yieldToEventLoop } from 'node:timers/promises';
import type { ShardEntry } from '../shared/artifact/manifest.ts';
import type { Bus, BusMessage, BusSubscription } from '../shared/bus/connection.ts';
import { encode } from '../shared/bus/codec.ts';
import { decodeMessage } from '../shared/bus/decode-message.ts';
import {
  DocRequestSchema,
  HEARTBEAT_INTERVAL_MS,
  PROTOCOL_VERSION,
  SearchRequestSchema,
  Subjects,
  type DocReply,
  type Heartbeat,
  type SearchReply,
  type SearchRequest,
  type ShardErrorReply,
  type ShardQuery,
} from '../shared/bus/protocol.ts';
import { DsiError, ErrorCode } from '../shared/errors.ts';
import type { Logger } from '../shared/log.ts';
import { searchExpert, warmUpExpert, type ExpertSearchConfig } from '../shared/model/expert/search-expert.ts';
import type { ServedExpert } from '../shared/model/expert/shard-documents.ts';

export interface ExpertServiceOptions {
  /** The model served first, with its documents; swap() replaces both. */
  readonly expert: ServedExpert;
  /** The shard's manifest entry: its id names the subjects, topics and docs go into heartbeats. */
  readonly shard: Readonly<Pick<ShardEntry, 'id' | 'topics' | 'docs'>>;
  /** The index's config: queries are featurized and decoded the way the shard was trained. */
  readonly config: ExpertSearchConfig;
  readonly bus: Bus;
  readonly replica: string;
  /** Model version this replica serves, announced in heartbeats and replies. */
  readonly version: number;
  readonly log: Logger;
  /** Defaults to the protocol's HEARTBEAT_INTERVAL_MS; tests may go faster. */
  readonly heartbeatIntervalMs?: number;
  /** This process answers batched searches (experts/batch-responder.ts): heartbeats say so, and routers send them. */
  readonly batch?: boolean;
}

export interface ExpertServiceStats {
  inflight: number;
  served: number;
  draining: boolean;
}

type Identity = Omit<Heartbeat, 'inflight' | 'served' | 'draining' | 'version' | 'docs' | 'batch'> & Pick<Heartbeat, 'batch'>;

/**
 * Serves one loaded shard over the bus: answers search and document requests sent to the
 * shard's queue group (any replica) or to this replica by name, and announces itself with
 * heartbeats so the router knows which replicas are alive, how busy they are, and when one
 * is draining.
 */
export class ExpertService {
  readonly #opts: ExpertServiceOptions;
  readonly #log: Logger;
  // Subjects and the static part of heartbeats are fixed for the life of the process, so
  // they are built here once instead of on every message.
  readonly #subjects: { search: string; replicaSearch: string; doc: string; replicaDoc: string; queue: string; heartbeat: string };
  readonly #identity: Identity;
  /** The model answering requests (with its documents), its version and document count: replaced together by swap(). */
  #serving: { expert: ServedExpert; version: number; docs: number };
  readonly #subscriptions: BusSubscription[] = [];
  #inflight = 0;
  #served = 0;
  #draining = false;
  /** Out of rotation for a while (a new model loading in this process): heartbeats say draining, requests are still answered. */
  #resting = false;
  /** Settles when the last queued request is answered; the next one waits for it. */
  #queueTail: Promise<void> = Promise.resolve();
  #timer: NodeJS.Timeout | undefined;
  #stopped: Promise<void> | undefined;

  constructor(opts: ExpertServiceOptions) {
    this.#opts = opts;
    const { shard, replica } = opts;
    this.#log = opts.log.child({ shard: shard.id, replica });
    this.#subjects = {
      search: Subjects.search(shard.id),
      replicaSearch: Subjects.replicaSearch(shard.id, replica),
      doc: Subjects.doc(shard.id),
      replicaDoc: Subjects.replicaDoc(shard.id, replica),
      queue: Subjects.queueGroup(shard.id),
      heartbeat: Subjects.heartbeat(shard.id),
    };
    this.#identity = {
      v: PROTOCOL_VERSION,
      shard: shard.id,
      replica,
      topics: [...shard.topics],
      pid: process.pid,
      started_at: new Date().toISOString(),
      ...(opts.batch ? { batch: true } : {}),
    };
    this.#serving = { expert: opts.expert, version: opts.version, docs: shard.docs };
  }

  /** The model answering requests now (whoever stops the service frees it). */
  get expert(): ServedExpert {
    return this.#serving.expert;
  }

  /** The model version answering requests now. */
  get version(): number {
    return this.#serving.version;
  }

  /**
   * Serves `expert` from the next request on and returns the model it replaces, for the
   * caller to free. Searches run one at a time and synchronously (see #answer), so no
   * search ever sees half of a swap and none waits for it: the switch is one assignment
   * between two searches. The documents come with the model, so a document request is
   * answered from the version that searches use. The new model is warmed up first
   * (warmUpExpert) so its first searches are not its slowest; one whose search fails is
   * not swapped in (this throws). A heartbeat goes out at once so routers see the new version.
   */
  swap(expert: ServedExpert, version: number, docs: number): ServedExpert {
    warmUpExpert(expert, this.#opts.shard.topics, this.#opts.config);
    const old = this.#serving.expert;
    this.#serving = { expert, version, docs };
    this.#log.info({ version, docs }, 'serving new model version');
    this.#heartbeat();
    return old;
  }

  get replica(): string {
    return this.#opts.replica;
  }

  /** What heartbeats and stats say: draining to stop, or out of rotation for a while. */
  get #announcedDraining(): boolean {
    return this.#draining || this.#resting;
  }

  stats(): ExpertServiceStats {
    return { inflight: this.#inflight, served: this.#served, draining: this.#announcedDraining };
  }

  /**
   * Takes this replica out of rotation: heartbeats say it is draining (routers stop
   * choosing it), and this resolves once every request already here is answered. It keeps
   * answering whatever still arrives (a router that has not seen the heartbeat yet, the
   * shard's queue group) until stepBack().
   */
  async stepAside(): Promise<void> {
    this.#resting = true;
    this.#heartbeat();
    while (this.#inflight > 0) await this.#queueTail;
  }

  /** Back in rotation: the next heartbeat, sent now, says so. */
  stepBack(): void {
    this.#resting = false;
    this.#heartbeat();
  }

  /** Subscribes, waits until the server has the subscriptions (so a request sent after this resolves finds us), and starts the heartbeat. */
  async start(): Promise<void> {
    const { bus } = this.#opts;
    try {
      warmUpExpert(this.#serving.expert, this.#opts.shard.topics, this.#opts.config);
    } catch (error) {
      // The model given at start is served whatever happens: its requests get the fault as an error reply.
      this.#log.warn({ err: (error as Error).message }, 'warm-up search failed; serving anyway');
    }
    const onRequest = (message: BusMessage) => this.#onRequest(message);
    const onDocRequest = (message: BusMessage) => this.#onDocRequest(message);
    this.#subscriptions.push(bus.subscribe(this.#subjects.search, { queue: this.#subjects.queue }, onRequest));
    this.#subscriptions.push(bus.subscribe(this.#subjects.replicaSearch, {}, onRequest));
    this.#subscriptions.push(bus.subscribe(this.#subjects.doc, { queue: this.#subjects.queue }, onDocRequest));
    this.#subscriptions.push(bus.subscribe(this.#subjects.replicaDoc, {}, onDocRequest));
    await bus.flush();
    this.#heartbeat();
    this.#timer = setInterval(() => this.#heartbeat(), this.#opts.heartbeatIntervalMs ?? HEARTBEAT_INTERVAL_MS);
  }

  /**
   * Drains: announces it (so the router stops choosing this replica), stops taking new
   * requests, answers every request the server had already routed here, then resolves.
   * Heartbeats go on while draining so the router sees the replica wind down.
   */
  stop(): Promise<void> {
    this.#stopped ??= this.#drain();
    return this.#stopped;
  }

  async #drain(): Promise<void> {
    this.#draining = true;
    this.#heartbeat();
    this.#log.info({ inflight: this.#inflight, served: this.#served }, 'draining');
    try {
      await Promise.all(this.#subscriptions.map((s) => s.drain()));
    } finally {
      clearInterval(this.#timer);
      this.#timer = undefined;
    }
    this.#log.info({ served: this.#served }, 'drained');
  }

  #onRequest(message: BusMessage): Promise<void> | undefined {
    const received = performance.now();
    let request: SearchRequest;
    try {
      request = decodeMessage(SearchRequestSchema, message.data, 'search request');
    } catch (error) {
      this.#log.warn({ subject: message.subject, bytes: message.data.length, err: (error as Error).message }, 'rejected search request');
      this.#reply(message, this.#failure(error));
      return undefined;
    }
    return this.answer(request, received).then((reply) => void this.#respond(message, reply));
  }

  /**
   * This shard's reply to a query (its hits, or its error), queued behind the searches
   * already here: what a search request on this shard's subjects gets, and what a batch
   * sent to this process gets for this shard. Counted in `inflight` from now, and in
   * `served` once answered.
   */
  answer(query: ShardQuery, received: number = performance.now()): Promise<SearchReply> {
    this.#inflight++;
    return this.#queued(query, received);
  }

  async #queued(query: ShardQuery, received: number): Promise<SearchReply> {
    // A search is synchronous and holds the thread anyway, so requests queue here and run one
    // per turn of the event loop: a burst read from the socket at once is counted in
    // `inflight` (the load heartbeats report), and heartbeat timers, signals and new messages
    // are handled between two searches instead of after the whole burst.
    const previous = this.#queueTail;
    let done!: () => void;
    this.#queueTail = new Promise<void>((resolve) => (done = resolve));
    try {
      await previous;
      await yieldToEventLoop();
      const { expert, version } = this.#serving;
      const hits = searchExpert(expert, query, this.#opts.config);
      // took_ms counts from receipt, so time spent queued behind other requests in this process shows.
      return { ok: true, shard: this.#identity.shard, replica: this.#identity.replica, version, hits, took_ms: performance.now() - received };
    } catch (error) {
      this.#log.error({ err: error, query: query.query }, 'search failed');
      return this.#failure(error);
    } finally {
      this.#inflight--;
      this.#served++;
      done();
    }
  }

  /**
   * A document's record, or null when it is not one of this shard's: a lookup in memory,
   * answered at once rather than queued behind searches (it holds the thread for
   * microseconds), from the documents of the model version being served.
   */
  #onDocRequest(message: BusMessage): void {
    let reply: DocReply;
    try {
      const { id } = decodeMessage(DocRequestSchema, message.data, 'document request');
      const { expert, version } = this.#serving;
      reply = { ok: true, shard: this.#identity.shard, replica: this.#identity.replica, version, doc: expert.documents.record(id) ?? null };
    } catch (error) {
      this.#log.warn({ subject: message.subject, bytes: message.data.length, err: (error as Error).message }, 'rejected document request');
      reply = this.#failure(error, 'document request');
    }
    this.#reply(message, reply);
  }

  /** The error reply for a failure: its own code for our typed errors, `internal` for anything else (a fault in the model). */
  #failure(error: unknown, what = 'search'): ShardErrorReply {
    const known = error instanceof DsiError;
    return {
      ok: false,
      shard: this.#identity.shard,
      replica: this.#identity.replica,
      error: { code: known ? error.code : ErrorCode.Internal, message: known ? error.message : `${what} failed: ${(error as Error)?.message ?? String(error)}` },
    };
  }

  /** Sends a reply that is not a search's answer (a document, a rejection): counted in `served` here, as answers are where they are made. */
  #reply(message: BusMessage, reply: SearchReply | DocReply): void {
    if (this.#respond(message, reply)) this.#served++;
  }

  #respond(message: BusMessage, reply: SearchReply | DocReply): boolean {
    try {
      if (message.respond(encode(reply))) return true;
      this.#log.debug({ subject: message.subject }, 'request without a reply subject; nothing sent');
    } catch (error) {
      this.#log.warn({ err: (error as Error).message }, 'reply not sent');
    }
    return false;
  }

  #heartbeat(): void {
    const beat: Heartbeat = { ...this.#identity, version: this.#serving.version, docs: this.#serving.docs, inflight: this.#inflight, served: this.#served, draining: this.#announcedDraining };
    try {
      this.#opts.bus.publish(this.#subjects.heartbeat, encode(beat));
    } catch (error) {
      // Closed connection: the next heartbeat after a reconnect (or none, when shutting down) says the rest.
      this.#log.debug({ err: (error as Error).message }, 'heartbeat not sent');
    }
  }
}
