import { decode } from './codec.ts';
import type { Bus, BusSubscription } from './connection.ts';
import { setTimeout as sleep } from 'node:timers/promises';
import { HEARTBEAT_INTERVAL_MS, HEARTBEAT_TIMEOUT_MS, HeartbeatSchema, RequestSubjects, Subjects, type Heartbeat, type ShardRequestKind } from './protocol.ts';
import type { Logger } from '../log.ts';

/** What is known of one replica from its heartbeats and this process's requests to it (GET /v1/shards, dsi status). */
export interface ReplicaStatus {
  readonly replica: string;
  readonly pid: number;
  readonly version: number;
  readonly topics: readonly number[];
  readonly docs: number;
  /** Requests the replica reported in flight at its last heartbeat, and served since start. */
  readonly inflight: number;
  readonly served: number;
  readonly started_at: string;
  readonly draining: boolean;
  /** Milliseconds since its last heartbeat. */
  readonly age_ms: number;
  /** A request to it failed after its last heartbeat. */
  readonly suspect: boolean;
  /** Requests this router has in flight to it now. */
  readonly router_inflight: number;
}

export interface ShardViewOptions {
  timeoutMs?: number;
  now?: () => number;
}

/** A replica to send a request to, with its subject for each kind of request (formatted once, when the replica was first heard from). */
export interface ReplicaTarget {
  readonly replica: string;
  readonly subjects: Readonly<Record<ShardRequestKind, string>>;
  /** The subject of its process's batched searches, when its heartbeats say the process answers them. */
  readonly batch?: string;
}

interface Replica {
  target: ReplicaTarget;
  heartbeat: Heartbeat;
  seenAt: number;
  suspect: boolean;
  inflight: number;
}

interface Shard {
  readonly replicas: Map<string, Replica>;
  /** The shard's place in the index's list: which of its replicas it prefers when all are equally busy (see choose()). */
  rank: number;
}

/** Replicas silent for this many timeouts are forgotten (replica ids change on every restart). */
const FORGET_AFTER_TIMEOUTS = 10;

/**
 * Which replicas of which shard are alive, from their heartbeats alone. A replica is live
 * while its last heartbeat is fresher than the timeout, it is not draining, and no
 * request to it has failed since that heartbeat. The last rule matters: NATS keeps
 * delivering to a hung (SIGSTOP'd) or dead member, so the router must stop choosing a
 * replica the moment it fails, not seconds later when its heartbeats are overdue; a
 * replica that is merely slow comes back with its next heartbeat.
 *
 * Pure state, no bus and no timers: staleness is computed when asked, against the clock
 * given at construction (monotonic milliseconds), so tests drive time by hand.
 */
export class ShardView {
  readonly #timeoutMs: number;
  readonly #now: () => number;
  readonly #shards = new Map<string, Shard>();
  /** Requests in flight from this router, by replica id (one id per expert process, whatever shards it serves). */
  readonly #inflightOf = new Map<string, number>();

  constructor(shards: readonly string[], options: ShardViewOptions = {}) {
    this.#timeoutMs = options.timeoutMs ?? HEARTBEAT_TIMEOUT_MS;
    this.#now = options.now ?? (() => performance.now());
    this.track(shards);
  }

  /** After how long without a heartbeat a replica counts as gone. */
  get timeoutMs(): number {
    return this.#timeoutMs;
  }

  get shards(): string[] {
    return [...this.#shards.keys()];
  }

  /** Follows the catalog's shard list: new shards start with no replicas, removed ones are forgotten. */
  track(ids: readonly string[]): void {
    const wanted = new Set(ids);
    for (const id of wanted) if (!this.#shards.has(id)) this.#shards.set(id, { replicas: new Map(), rank: 0 });
    for (const id of [...this.#shards.keys()]) if (!wanted.has(id)) this.#shards.delete(id);
    let rank = 0;
    for (const id of ids) if (wanted.delete(id)) this.#shards.get(id)!.rank = rank++;
  }

  /**
   * Takes one decoded heartbeat message. Returns false (and changes nothing) for a message
   * that is not a valid heartbeat or names a shard this index does not have.
   */
  observe(message: unknown): boolean {
    const parsed = HeartbeatSchema.safeParse(message);
    if (!parsed.success) return false;
    const hb = parsed.data;
    const shard = this.#shards.get(hb.shard);
    if (!shard) return false;
    const now = this.#now();
    const known = shard.replicas.get(hb.replica);
    if (known) {
      if (hb.batch !== known.heartbeat.batch) known.target = targetOf(hb);
      known.heartbeat = hb;
      known.seenAt = now;
      known.suspect = false;
    } else {
      shard.replicas.set(hb.replica, { target: targetOf(hb), heartbeat: hb, seenAt: now, suspect: false, inflight: 0 });
      this.#forgetSilent(shard, now);
    }
    return true;
  }

  /**
   * The replica to send the next request of a shard to: the live one, not in `exclude`,
   * with the fewest requests from this router in flight; undefined when there is none.
   * When some of the live replicas are in `prefer` (the processes a search already asks),
   * only those are considered: a search then costs as few messages as its shards allow,
   * and messages on the loopback cost more than a shard's search. Among equally busy
   * replicas a shard always prefers the same one (by its rank, over the replicas in id
   * order), so an idle cluster answers from the same processes, with their caches warm.
   */
  choose(shardId: string, exclude?: ReadonlySet<string>, prefer?: ReadonlySet<string>): ReplicaTarget | undefined {
    const shard = this.#shards.get(shardId);
    if (!shard) return undefined;
    const now = this.#now();
    let candidates: [string, Replica][] = [];
    for (const entry of shard.replicas) if (this.#usable(entry[1], now) && !exclude?.has(entry[0])) candidates.push(entry);
    if (candidates.length === 0) return undefined;
    if (prefer !== undefined && prefer.size > 0) {
      const preferred = candidates.filter((c) => prefer.has(c[0]));
      if (preferred.length > 0) candidates = preferred;
    }
    if (candidates.length > 1) candidates.sort(byReplicaId);
    // Load is the replica's, all its shards together: a process serving several shards gets
    // the next shard of a search only if no other process is less busy.
    const start = shard.rank % candidates.length;
    let best = candidates[start]!;
    for (let j = 1; j < candidates.length; j++) {
      const c = candidates[(start + j) % candidates.length]!;
      if (this.#load(c[0]) < this.#load(best[0])) best = c;
    }
    return best[1].target;
  }

  /**
   * A search's shards in the order of their ranks: choosing their replicas in this order
   * makes the same choices for the same shards whenever the processes are equally busy,
   * however the search happened to list them.
   */
  inRankOrder(shards: Iterable<string>): string[] {
    return [...shards].sort((a, b) => (this.#shards.get(a)?.rank ?? 0) - (this.#shards.get(b)?.rank ?? 0));
  }

  /** How many replicas of a shard choose() could return now. */
  usableCount(shardId: string): number {
    const shard = this.#shards.get(shardId);
    if (!shard) return 0;
    const now = this.#now();
    let n = 0;
    for (const r of shard.replicas.values()) if (this.#usable(r, now)) n++;
    return n;
  }

  /** Counts a request from this router to a replica as in flight; returns the function that ends it. */
  begin(shardId: string, replica: string): () => void {
    const r = this.#shards.get(shardId)?.replicas.get(replica);
    if (!r) return noop;
    r.inflight++;
    this.#inflightOf.set(replica, this.#load(replica) + 1);
    return () => {
      r.inflight--;
      const left = this.#load(replica) - 1;
      if (left > 0) this.#inflightOf.set(replica, left);
      else this.#inflightOf.delete(replica);
    };
  }

  /** Requests from this router in flight to a replica (a process), whichever of its shards they are for. */
  #load(replica: string): number {
    return this.#inflightOf.get(replica) ?? 0;
  }

  /**
   * A request to the replica failed (timeout, no responders): choose it no more until it
   * heartbeats again, for any shard. A replica id is a process, and a process that does
   * not answer for one shard (hung, dead) answers for none: its other shards must not be
   * sent to it on the next search only to time out again.
   */
  markFailed(replica: string): void {
    for (const shard of this.#shards.values()) {
      const r = shard.replicas.get(replica);
      if (r) r.suspect = true;
    }
  }

  /** Replicas heartbeating and not draining (failed requests aside): what readiness and GET /v1/shards count. */
  liveReplicas(shardId: string): ReplicaStatus[] {
    return this.replicas(shardId).filter((r) => !r.draining && r.age_ms < this.#timeoutMs);
  }

  /** Every replica of a shard heard from recently enough to remember, live or not. */
  replicas(shardId: string): ReplicaStatus[] {
    const shard = this.#shards.get(shardId);
    if (!shard) return [];
    const now = this.#now();
    this.#forgetSilent(shard, now);
    return [...shard.replicas].map(([id, r]) => ({
      replica: id,
      pid: r.heartbeat.pid,
      version: r.heartbeat.version,
      topics: r.heartbeat.topics,
      docs: r.heartbeat.docs,
      inflight: r.heartbeat.inflight,
      served: r.heartbeat.served,
      started_at: r.heartbeat.started_at,
      draining: r.heartbeat.draining,
      age_ms: Math.round(now - r.seenAt),
      suspect: r.suspect,
      router_inflight: r.inflight,
    }));
  }

  /** Shards of the index with no live replica. */
  uncovered(): string[] {
    return this.shards.filter((id) => this.liveReplicas(id).length === 0);
  }

  #usable(r: Replica, now: number): boolean {
    return !r.suspect && !r.heartbeat.draining && now - r.seenAt < this.#timeoutMs;
  }

  #forgetSilent(shard: Shard, now: number): void {
    for (const [id, r] of shard.replicas) {
      if (now - r.seenAt > FORGET_AFTER_TIMEOUTS * this.#timeoutMs && r.inflight === 0) shard.replicas.delete(id);
    }
  }
}

function noop(): void {}

function byReplicaId(a: [string, Replica], b: [string, Replica]): number {
  return a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0;
}

/** A replica's subjects, formatted once, when it is first heard from (or says it now answers batches). */
function targetOf(hb: Heartbeat): ReplicaTarget {
  const subjects = Object.freeze({ search: RequestSubjects.search.replica(hb.shard, hb.replica), doc: RequestSubjects.doc.replica(hb.shard, hb.replica) });
  return Object.freeze(hb.batch ? { replica: hb.replica, subjects, batch: Subjects.replicaBatch(hb.replica) } : { replica: hb.replica, subjects });
}

/**
 * Feeds a view from the heartbeat subjects of every shard. Undecodable or foreign
 * messages are logged at debug level and dropped: a stray publisher must not unsettle liveness.
 */
export function followHeartbeats(bus: Pick<Bus, 'subscribe'>, view: ShardView, log: Logger): BusSubscription {
  return bus.subscribe(Subjects.heartbeatWildcard, {}, (message) => {
    let decoded: unknown;
    try {
      decoded = decode(message.data);
    } catch (error) {
      log.debug({ subject: message.subject, err: (error as Error).message }, 'undecodable heartbeat dropped');
      return;
    }
    if (!view.observe(decoded)) log.debug({ subject: message.subject }, 'heartbeat of no shard of this index, or invalid: dropped');
  });
}

/**
 * The first live replica of `shard` heard within `waitMs`, by a view of its own following
 * the shard's heartbeats (undefined when none is heard): what a command that has just
 * published a shard, or a drill that needs a replica's id, waits for.
 */
export async function waitForLiveReplica(bus: Pick<Bus, 'subscribe'>, shard: string, waitMs: number, log: Logger): Promise<ReplicaStatus | undefined> {
  const view = new ShardView([shard]);
  const heartbeats = followHeartbeats(bus, view, log);
  try {
    const deadline = performance.now() + waitMs;
    while (performance.now() < deadline) {
      const live = view.liveReplicas(shard)[0];
      if (live) return live;
      await sleep(Math.min(HEARTBEAT_INTERVAL_MS / 4, Math.max(1, deadline - performance.now())));
    }
    return view.liveReplicas(shard)[0];
  } finally {
    await heartbeats.drain();
  }
}
