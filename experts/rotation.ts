import { setTimeout as sleep } from 'node:timers/promises';
import type { Bus, BusSubscription } from '../shared/bus/connection.ts';
import { HEARTBEAT_INTERVAL_MS } from '../shared/bus/protocol.ts';
import { followHeartbeats, ShardView } from '../shared/bus/shard-view.ts';
import type { Logger } from '../shared/log.ts';

/** What the rotation takes out of service and puts back: every shard service of this process. */
export interface RotationMember {
  stepAside(): Promise<void>;
  stepBack(): void;
}

export interface RotationOptions {
  readonly bus: Pick<Bus, 'subscribe'>;
  /** This process's replica id (one per process, whatever shards it serves). */
  readonly replica: string;
  /** The shards served here: their peers' heartbeats are followed. */
  readonly shards: readonly string[];
  readonly members: () => readonly RotationMember[];
  readonly log: Logger;
  /** Longest wait for this replica's turn; after it, the load goes ahead anyway (a peer that never takes the version must not block this one). */
  readonly turnTimeoutMs?: number;
  /** How long after stepping aside before loading: routers see the heartbeat, and what they sent before it arrives and is answered. */
  readonly settleMs?: number;
}

const DEFAULT_TURN_TIMEOUT_MS = 60_000;
const DEFAULT_SETTLE_MS = 150;
const POLL_MS = 50;
/** A heartbeat interval and a half: every live peer has announced itself by then. */
const LISTEN_BEFORE_TURN_MS = 1.5 * HEARTBEAT_INTERVAL_MS;

/**
 * Loading a new model holds this process's thread for a while (parsing its files, building
 * its tables), so searches sent here meanwhile would wait behind it. The rotation takes
 * the process out of service for the load: every shard it serves steps aside (routers
 * choose other replicas), the model is loaded and swapped in, and they step back.
 *
 * Replicas of a shard take their turns one at a time, in order of replica id, so some
 * replica always serves: one goes only when no live peer of its shards is aside and every
 * live peer with a smaller id already serves the wanted version (a rollback's too). Peers are known from their
 * heartbeats, the same ones routers read. Loads within the process run one at a time.
 */
export class Rotation {
  readonly #o: RotationOptions;
  readonly #view: ShardView;
  #subscription: BusSubscription | undefined;
  #busy: Promise<unknown> = Promise.resolve();
  /** Peers are known only once each has had the time to send a heartbeat since start(). */
  #listeningSince = Number.POSITIVE_INFINITY;

  constructor(options: RotationOptions) {
    this.#o = options;
    this.#view = new ShardView(options.shards);
  }

  start(): void {
    this.#subscription = followHeartbeats(this.#o.bus, this.#view, this.#o.log);
    this.#listeningSince = performance.now();
  }

  /** Stops following heartbeats (a load in progress finishes on its own). */
  async stop(): Promise<void> {
    await this.#subscription?.drain();
  }

  /** Runs `work` (load a shard's new version and swap it in) with this process out of rotation, when its turn comes. */
  aside<T>(shard: string, version: number, work: () => Promise<T>): Promise<T> {
    const run = this.#busy.then(async () => {
      const waited = await this.#waitForTurn(shard, version);
      // A sole replica has nobody to hand its searches to: it loads while serving, as without a rotation.
      if (!this.#o.shards.some((id) => this.#peersOf(id).length > 0)) return work();
      const members = this.#o.members();
      await Promise.all(members.map((m) => m.stepAside()));
      this.#o.log.info({ shard, version, waited_ms: waited }, 'out of rotation to load a new model');
      try {
        await sleep(this.#o.settleMs ?? DEFAULT_SETTLE_MS);
        return await work();
      } finally {
        for (const m of members) m.stepBack();
        this.#o.log.info({ shard, version }, 'back in rotation');
      }
    });
    this.#busy = run.catch(() => undefined);
    return run;
  }

  /** Waits until it is this replica's turn to load `version` of `shard`; returns how long it waited. */
  async #waitForTurn(shard: string, version: number): Promise<number> {
    const started = performance.now();
    const deadline = started + (this.#o.turnTimeoutMs ?? DEFAULT_TURN_TIMEOUT_MS);
    while (!this.#isTurn(shard, version)) {
      if (performance.now() >= deadline) {
        this.#o.log.warn({ shard, version }, 'a peer replica has not taken the new version in time; loading anyway');
        break;
      }
      await sleep(POLL_MS);
    }
    return Math.round(performance.now() - started);
  }

  #isTurn(shard: string, version: number): boolean {
    if (performance.now() - this.#listeningSince < LISTEN_BEFORE_TURN_MS) return false;
    const me = this.#o.replica;
    // Anyone aside now is loading: wait for it, on any of this process's shards.
    if (this.#o.shards.some((id) => this.#peersOf(id).some((r) => r.draining))) return false;
    return this.#peersOf(shard).every((r) => r.replica > me || r.version === version);
  }

  /** The other replicas of a shard heard from within the heartbeat timeout. */
  #peersOf(shard: string) {
    return this.#view.replicas(shard).filter((r) => r.replica !== this.#o.replica && r.age_ms < this.#view.timeoutMs);
  }
}
