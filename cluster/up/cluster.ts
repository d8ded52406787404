import type { BusCredentials } from '../../shared/bus/address.ts';
import { connectBus, type Bus } from '../../shared/bus/connection.ts';
import type { KeyValueWatch } from '../../shared/bus/stores.ts';
import { Registry } from '../../shared/registry/registry.ts';
import { publishIndex } from '../registry/publish-index.ts';
import { DsiError, ErrorCode } from '../../shared/errors.ts';
import type { Logger } from '../../shared/log.ts';
import { describeExit, spawnChild, type ChildExit, type ManagedChild } from './children.ts';
import { startLocalNats, type LocalNats } from './local-nats.ts';
import { freePort } from './ports.ts';
import { RestartBudget } from './restart-budget.ts';

/**
 * A whole cluster on one machine: NATS with JetStream (started here unless one is given),
 * the index published into the registry, `dsi expert` processes (per replica, one per
 * shard or one per group of shards) and the router, all of which read the registry alone; ready when the router's /readyz says so.
 * The registry is followed: a shard added later (dsi add-shard) gets its experts started
 * here, a removed one has them stopped. Once the cluster is up, an expert or the router
 * that dies is restarted (within a restart budget); NATS dying, or a child dying during
 * start-up, ends the cluster. Stopping goes front to back: the router first
 * (no new searches), then the experts (each drains what it was sent), then NATS.
 */
export interface ClusterOptions {
  /** Published into the registry at start; undefined: serve what the registry already holds. */
  readonly indexDir: string | undefined;
  readonly host: string;
  /** 0: pick a free port. */
  readonly port: number;
  readonly replicas: number;
  /**
   * Shards served by each expert process (of the shards published at start; a shard added
   * later gets processes of its own): fewer processes keep more of the machine's caches
   * for each, and a search's shards can share a process.
   */
  readonly shardsPerExpert: number;
  /** Join this NATS server; undefined: start one, which requires `credentials` when there are any. */
  readonly natsUrl: string | undefined;
  readonly deadlineMs: number | undefined;
  readonly readyTimeoutMs: number;
  /** `node` and the path of bin/dsi.js, to start the children with. */
  readonly node: string;
  /** Flags for every child's node before bin/dsi.js (e.g. --cpu-prof, which NODE_OPTIONS refuses). */
  readonly nodeArgs: readonly string[];
  readonly dsiBin: string;
  /** Environment of every child (NATS credentials and runtime settings travel here, not in argv). */
  readonly childEnv: NodeJS.ProcessEnv;
  /** This process's own NATS credentials (to publish the index and follow the registry). */
  readonly credentials: BusCredentials;
  /** Bearer token for the router's readiness probes, when it requires one. */
  readonly authToken?: string;
  /** Where to look for nats-server. */
  readonly path: string;
  readonly log: Logger;
}

export class ClusterStartError extends DsiError {
  constructor(message: string, options?: { cause?: unknown }) {
    super(ErrorCode.Internal, message, options);
  }
}

const STOP_GRACE_MS = 15_000;
const READY_POLL_MS = 100;

export class LocalCluster {
  readonly #o: ClusterOptions;
  /** Expert processes by the group of shards they serve (its key: the shards joined by '+'), one per replica. */
  readonly #experts = new Map<string, { readonly shards: readonly string[]; readonly children: ManagedChild[] }>();
  #bus: Bus | undefined;
  /** Set once the cluster is up: from then on a child that dies is restarted rather than ending the cluster. */
  #ready = false;
  #watchRegistry: KeyValueWatch | undefined;
  /** Experts stopped on purpose (their shard left the registry): their exit is not a failure. */
  readonly #retired = new Set<ManagedChild>();
  #router: ManagedChild | undefined;
  #nats: LocalNats | undefined;
  #stopping: Promise<void> | undefined;
  #unexpected: (exit: ChildExit) => void = () => {};
  /** Resolves with the first child that exits while the cluster is meant to be running. */
  readonly failure: Promise<ChildExit>;
  #url = '';
  #natsUrl = '';

  constructor(options: ClusterOptions) {
    this.#o = options;
    this.failure = new Promise((resolve) => (this.#unexpected = resolve));
  }

  get url(): string {
    return this.#url;
  }

  get natsUrl(): string {
    return this.#natsUrl;
  }

  /** File holding the token of the NATS server started here, when it requires one. */
  get natsTokenFile(): string | undefined {
    return this.#nats?.tokenFile;
  }

  /** Every process this cluster started (NATS, experts, router), running or not. */
  get children(): ManagedChild[] {
    return [...(this.#nats ? [this.#nats.child] : []), ...this.#expertChildren(), ...(this.#router ? [this.#router] : [])];
  }

  async start(): Promise<void> {
    const o = this.#o;
    if (o.natsUrl === undefined) {
      this.#nats = await startLocalNats(o.path, o.log, o.credentials);
      this.#watch(this.#nats.child);
    }
    this.#natsUrl = o.natsUrl ?? this.#nats!.url;
    this.#checkNotStopping();
    this.#bus = await connectBus({ url: this.#natsUrl, name: 'dsi-up', ...o.credentials, log: o.log });
    const registry = await Registry.open(this.#bus);
    if (o.indexDir !== undefined) await publishIndex(registry, o.indexDir, o.log);
    const shards = await registry.shards();
    if (shards.length === 0) throw new ClusterStartError(`the registry at ${this.#natsUrl} has no shards: give --index DIR to publish one`);
    this.#checkNotStopping();

    const ids = shards.map((shard) => shard.id);
    for (let i = 0; i < ids.length; i += o.shardsPerExpert) this.#startExperts(ids.slice(i, i + o.shardsPerExpert));
    const port = o.port === 0 ? await freePort(o.host) : o.port;
    this.#checkNotStopping();
    const routerArgs = ['router', '--host', o.host, '--port', String(port), '--nats', this.#natsUrl];
    if (o.deadlineMs !== undefined) routerArgs.push('--deadline-ms', String(o.deadlineMs));
    this.#router = this.#spawn('router', routerArgs, (next) => (this.#router = next));
    const probeHost = o.host === '0.0.0.0' ? '127.0.0.1' : o.host === '::' ? '[::1]' : o.host.includes(':') ? `[${o.host}]` : o.host;
    this.#url = `http://${probeHost}:${port}`;
    o.log.info({ shards: shards.length, replicas: o.replicas, nats: this.#natsUrl }, 'starting experts and router');
    await this.#waitReady(o.replicas);
    this.#ready = true;
    this.#watchRegistry = await registry.watch((change) => {
      if (change.kind !== 'shard' || this.#stopping) return;
      const key = this.#groupOf(change.shard);
      if (change.record && key === undefined) {
        o.log.info({ shard: change.shard, topics: change.record.topics }, 'new shard in the registry: starting its experts');
        this.#startExperts([change.shard]);
      } else if (!change.record && key !== undefined) {
        o.log.info({ shard: change.shard }, 'shard removed from the registry: stopping its experts');
        const group = this.#experts.get(key)!;
        this.#experts.delete(key);
        // The other shards of its processes get processes of their own before those stop (they drain what they were sent).
        const others = group.shards.filter((shard) => shard !== change.shard);
        if (others.length > 0) this.#startExperts(others);
        for (const child of group.children) {
          this.#retired.add(child);
          void child.stop('SIGTERM', STOP_GRACE_MS);
        }
      }
    });
  }

  /** Stops every child this cluster started, in order; safe to call at any time and more than once. */
  stop(): Promise<void> {
    this.#stopping ??= (async () => {
      const log = this.#o.log;
      this.#watchRegistry?.stop();
      if (this.#router) log.info(describeExit(await this.#router.stop('SIGTERM', STOP_GRACE_MS)));
      const exits = await Promise.all(this.#expertChildren().map((e) => e.stop('SIGTERM', STOP_GRACE_MS)));
      for (const exit of exits) log.info(describeExit(exit));
      await this.#bus?.close();
      await this.#nats?.stop();
      log.info('cluster stopped');
    })();
    return this.#stopping;
  }

  /** The key of the group of expert processes serving a shard; undefined when none does. */
  #groupOf(shard: string): string | undefined {
    for (const [key, group] of this.#experts) if (group.shards.includes(shard)) return key;
    return undefined;
  }

  #expertChildren(): ManagedChild[] {
    return [...this.#experts.values()].flatMap((group) => group.children);
  }

  /** One expert process per replica serving `shards`. */
  #startExperts(shards: readonly string[]): void {
    const o = this.#o;
    const key = shards.join('+');
    const children: ManagedChild[] = [];
    for (let r = 1; r <= o.replicas; r++) {
      const args = ['expert', ...shards.flatMap((shard) => ['--shard', shard]), '--nats', this.#natsUrl];
      children.push(this.#spawn(`expert ${key}#${r}`, args, (next) => {
        const group = this.#experts.get(key);
        if (group) group.children[r - 1] = next;
      }));
    }
    this.#experts.set(key, { shards, children });
  }

  /**
   * Starts a child; once the cluster is ready, one that dies is restarted (the same
   * command: experts and router read everything from the registry) within its restart
   * budget, and `replace` learns the new process. Before the cluster is ready, or with the
   * budget spent, a death is the cluster's failure.
   */
  #spawn(name: string, args: string[], replace?: (next: ManagedChild) => void, budget = new RestartBudget()): ManagedChild {
    const child = spawnChild({ name, command: this.#o.node, args: [...this.#o.nodeArgs, this.#o.dsiBin, ...args], env: this.#o.childEnv, stdio: ['ignore', 'inherit', 'inherit'], supervised: true }, this.#o.log);
    if (!replace) {
      this.#watch(child);
      return child;
    }
    void child.exited.then(async (exit) => {
      if (this.#stopping || this.#retired.has(child)) return;
      const delay = this.#ready ? budget.nextDelayMs() : undefined;
      if (delay === undefined) {
        this.#o.log.error(describeExit(exit));
        this.#unexpected(exit);
        return;
      }
      this.#o.log.warn({ child: name, code: exit.code, signal: exit.signal, restart_in_ms: delay }, `${describeExit(exit)}; restarting it`);
      await new Promise((r) => setTimeout(r, delay));
      if (this.#stopping || this.#retired.has(child)) return;
      const next = this.#spawn(name, args, replace, budget);
      replace(next);
    });
    return child;
  }

  #watch(child: ManagedChild): void {
    void child.exited.then((exit) => {
      if (this.#stopping || this.#retired.has(child)) return;
      this.#o.log.error(describeExit(exit));
      this.#unexpected(exit);
    });
  }

  #checkNotStopping(): void {
    if (this.#stopping) throw new ClusterStartError('stopped while starting');
  }

  /** Ready: the router says so (every shard has a live replica) and every replica started here is heartbeating. */
  async #waitReady(expected: number): Promise<void> {
    const deadline = performance.now() + this.#o.readyTimeoutMs;
    let failed: ChildExit | undefined;
    void this.failure.then((exit) => (failed = exit));
    let last = 'no answer yet';
    while (performance.now() < deadline) {
      if (failed) throw new ClusterStartError(`${describeExit(failed)} before the cluster was ready`);
      this.#checkNotStopping();
      try {
        last = await this.#notReadyBecause(expected);
        if (last === '') return;
      } catch (error) {
        last = (error as Error).message;
      }
      await new Promise((r) => setTimeout(r, READY_POLL_MS));
    }
    throw new ClusterStartError(`not ready after ${this.#o.readyTimeoutMs} ms: ${last}`);
  }

  async #notReadyBecause(expected: number): Promise<string> {
    const headers: Record<string, string> = this.#o.authToken ? { authorization: `Bearer ${this.#o.authToken}` } : {};
    const ready = await fetch(`${this.#url}/readyz`, { signal: AbortSignal.timeout(1000), headers });
    if (!ready.ok) return ((await ready.json()) as { reasons?: string[] }).reasons?.join('; ') ?? `readyz: HTTP ${ready.status}`;
    const { shards } = (await (await fetch(`${this.#url}/v1/shards`, { signal: AbortSignal.timeout(1000), headers })).json()) as { shards: { id: string; live_replicas: number }[] };
    const short = shards.filter((s) => s.live_replicas < expected);
    return short.map((s) => `shard ${s.id}: ${s.live_replicas} of ${expected} replicas live`).join('; ');
  }
}
