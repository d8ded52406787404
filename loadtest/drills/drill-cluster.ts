import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { canConnect, freePort } from '../../cluster/up/ports.ts';
import { REPO } from '../node/local-up.ts';

/**
 * A cluster the drills may hurt: nats-server, every expert replica and the router as
 * separate processes this module starts, signals and restarts one by one. (`dsi up` is the
 * wrong tool here: it stops the whole cluster when one of its children dies, which is what
 * a supervisor should do and not what a drill wants to watch.) NATS requires a random
 * token, so every process of a drill also proves it speaks NATS with credentials.
 */
export interface DrillProcess {
  readonly name: string;
  readonly shard?: string;
  readonly pid: number;
  /** performance.now() of the line "expert ready" / "router listening", once seen. */
  readyAt: number | undefined;
  exited: boolean;
  readonly lines: string[];
  readonly child: ChildProcess;
}

export interface DrillClusterOptions {
  readonly indexDir: string;
  readonly replicas: number;
  readonly deadlineMs: number;
  readonly log: (line: string) => void;
}

const READY_MS = 180_000;
const DSI_BIN = join(REPO, 'bin', 'dsi.js');

export class DrillCluster {
  readonly o: DrillClusterOptions;
  readonly natsToken = randomBytes(18).toString('hex');
  readonly processes: DrillProcess[] = [];
  natsPort = 0;
  nats: DrillProcess | undefined;
  router: DrillProcess | undefined;
  url = '';
  shards: string[] = [];

  constructor(o: DrillClusterOptions) {
    this.o = o;
  }

  get natsUrl(): string {
    return `nats://127.0.0.1:${this.natsPort}`;
  }

  async start(): Promise<void> {
    const manifest = JSON.parse(readFileSync(join(this.o.indexDir, 'manifest.json'), 'utf8')) as { shards: { id: string }[] };
    this.shards = manifest.shards.map((s) => s.id);
    this.natsPort = await freePort();
    await this.startNats();
    const experts = this.shards.flatMap((shard) => Array.from({ length: this.o.replicas }, () => this.startExpert(shard)));
    const port = await freePort();
    this.router = this.#spawnDsi('router', undefined, ['router', '--index', this.o.indexDir, '--port', String(port), '--nats', this.natsUrl, '--deadline-ms', String(this.o.deadlineMs)], /"router listening"/);
    this.url = `http://127.0.0.1:${port}`;
    await Promise.all([...experts, this.router].map((p) => this.waitReady(p)));
    await this.waitLive(this.o.replicas);
  }

  /** nats-server on the cluster's port (the same after a restart, as a real restart keeps its address). */
  async startNats(): Promise<DrillProcess> {
    const child = spawn('nats-server', ['-a', '127.0.0.1', '-p', String(this.natsPort), '--auth', this.natsToken], { stdio: ['ignore', 'ignore', 'pipe'] });
    const p = this.#track('nats-server', undefined, child, /Server is ready/);
    this.nats = p;
    await this.waitReady(p);
    const deadline = performance.now() + 10_000;
    while (!(await canConnect('127.0.0.1', this.natsPort))) {
      if (performance.now() > deadline) throw new Error('nats-server is not accepting connections');
      await sleep(20);
    }
    return p;
  }

  startExpert(shard: string): DrillProcess {
    const n = this.processes.filter((p) => p.shard === shard).length + 1;
    return this.#spawnDsi(`expert ${shard}#${n}`, shard, ['expert', '--index', this.o.indexDir, '--shard', shard, '--nats', this.natsUrl], /"expert ready"/);
  }

  /** Running replicas of a shard, oldest first. */
  replicasOf(shard: string): DrillProcess[] {
    return this.processes.filter((p) => p.shard === shard && !p.exited);
  }

  /** Every process of the cluster still running. */
  running(): DrillProcess[] {
    return this.processes.filter((p) => !p.exited);
  }

  async waitReady(p: DrillProcess, timeoutMs = READY_MS): Promise<void> {
    const deadline = performance.now() + timeoutMs;
    while (p.readyAt === undefined) {
      if (p.exited) throw new Error(`${p.name} exited before it was ready:\n${p.lines.slice(-5).join('\n')}`);
      if (performance.now() > deadline) throw new Error(`${p.name} not ready within ${timeoutMs} ms`);
      await sleep(20);
    }
  }

  async waitExit(p: DrillProcess, timeoutMs = 10_000): Promise<void> {
    const deadline = performance.now() + timeoutMs;
    while (!p.exited) {
      if (performance.now() > deadline) throw new Error(`${p.name} did not exit within ${timeoutMs} ms`);
      await sleep(10);
    }
  }

  /** Live replicas per shard, as the router sees them. */
  async live(): Promise<Record<string, number>> {
    const r = await fetch(`${this.url}/v1/shards`, { signal: AbortSignal.timeout(2000) });
    const { shards } = (await r.json()) as { shards: { id: string; live_replicas: number }[] };
    return Object.fromEntries(shards.map((s) => [s.id, s.live_replicas]));
  }

  /** Until the router sees `n` live replicas of every shard (or of the one named). */
  async waitLive(n: number, shard?: string, timeoutMs = 60_000): Promise<void> {
    const deadline = performance.now() + timeoutMs;
    for (;;) {
      try {
        const live = await this.live();
        if ((shard ? [shard] : this.shards).every((s) => live[s] === n)) return;
      } catch {
        // router busy or not up yet
      }
      if (performance.now() > deadline) throw new Error(`the router did not see ${n} live replica(s) of ${shard ?? 'every shard'} within ${timeoutMs} ms`);
      await sleep(100);
    }
  }

  async stop(): Promise<void> {
    for (const p of this.running()) p.child.kill('SIGCONT');
    const order = [this.router, ...this.processes.filter((p) => p.shard), this.nats];
    for (const p of order) {
      if (!p || p.exited) continue;
      p.child.kill('SIGTERM');
      const timer = setTimeout(() => p.child.kill('SIGKILL'), 10_000);
      await this.waitExit(p, 15_000).catch(() => {});
      clearTimeout(timer);
    }
  }

  #spawnDsi(name: string, shard: string | undefined, args: string[], ready: RegExp): DrillProcess {
    const child = spawn(process.execPath, [DSI_BIN, ...args], {
      cwd: REPO,
      env: { ...process.env, DSI_LOG_JSON: '1', DSI_LOG_LEVEL: 'info', DSI_NATS_TOKEN: this.natsToken },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    return this.#track(name, shard, child, ready);
  }

  #track(name: string, shard: string | undefined, child: ChildProcess, ready: RegExp): DrillProcess {
    const p: DrillProcess = { name, shard, pid: child.pid ?? -1, readyAt: undefined, exited: false, lines: [], child };
    for (const stream of [child.stdout, child.stderr]) {
      let partial = '';
      stream?.on('data', (d: Buffer) => {
        const parts = (partial + d.toString()).split('\n');
        partial = parts.pop() ?? '';
        for (const line of parts) {
          // Keep what a drill reads (warnings, errors, lifecycle), not every info line of a long run.
          if (p.lines.length < 20_000) p.lines.push(line);
          if (p.readyAt === undefined && ready.test(line)) p.readyAt = performance.now();
        }
      });
    }
    child.once('exit', (code, signal) => {
      p.exited = true;
      this.o.log(`${name} (pid ${p.pid}) exited ${signal ? `on ${signal}` : `with code ${code}`}`);
    });
    this.processes.push(p);
    return p;
  }
}

export function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}
