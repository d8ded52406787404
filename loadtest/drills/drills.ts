import { HEARTBEAT_TIMEOUT_MS } from '../../shared/bus/protocol.ts';
import type { Figures } from '../node/samples.ts';
import { OK } from '../node/samples.ts';
import { badTrafficDrill } from './bad-traffic.ts';
import { killSupervisorDrill } from './kill-supervisor.ts';
import { result, round, skipped, type Drill, type DrillContext } from './drill.ts';
import { sleep } from './drill-cluster.ts';
import { underLoad, untilReadyFor } from './under-load.ts';
import { startLocalUp } from '../node/local-up.ts';
import { connectBus } from '../../shared/bus/connection.ts';
import { createLogger } from '../../shared/log.ts';
import { Registry } from '../../shared/registry/registry.ts';

/** Room over the router's deadline for the HTTP hop and a busy two-core machine. */
export const SLACK_MS = 250;
/** Seconds of steady load before the fault: the cluster is warm and answering when it strikes. */
const FAULT_AT_MS = 5000;

const killReplica: Drill = {
  name: 'kill-replica',
  title: 'SIGKILL one expert replica (another replica of its shard alive)',
  expectation: 'zero failed requests, zero degraded answers',
  async run(ctx) {
    const { cluster } = ctx;
    const shard = cluster.shards[0]!;
    if (cluster.o.replicas < 2) return skipped(this, 'needs 2 replicas per shard');
    const victim = cluster.replicasOf(shard)[0]!;
    const durationS = 15;
    const run = await underLoad({ url: cluster.url, queries: ctx.queries, rate: ctx.rate, durationS }, [
      { atMs: FAULT_AT_MS, run: async () => void victim.child.kill('SIGKILL') },
    ]);
    const f = run.recorder.figures();
    await restore(ctx, shard);
    const ok = f.failed === 0 && f.dropped === 0 && f.degraded === 0;
    return result(this, ctx, durationS, f, { victim: victim.name }, ok, []);
  },
};

const stopReplica: Drill = {
  name: 'stop-replica',
  title: 'SIGSTOP one expert replica (hung, not dead)',
  expectation: `error budget: 0 failed requests, ≤ 0.5% degraded, no answer slower than the deadline + ${SLACK_MS} ms; the router stops choosing it at its first timeout and drops it from its live view within the heartbeat timeout (${HEARTBEAT_TIMEOUT_MS} ms) + 1.5 s`,
  async run(ctx) {
    const { cluster } = ctx;
    const shard = cluster.shards[0]!;
    if (cluster.o.replicas < 2) return skipped(this, 'needs 2 replicas per shard');
    const victim = cluster.replicasOf(shard).at(-1)!;
    const durationS = 15;
    let droppedAfterMs: number | null = null;
    const run = await underLoad({ url: cluster.url, queries: ctx.queries, rate: ctx.rate, durationS }, [
      {
        atMs: FAULT_AT_MS,
        run: async () => {
          const stoppedAt = performance.now();
          victim.child.kill('SIGSTOP');
          const deadline = stoppedAt + 9000;
          while (performance.now() < deadline) {
            const live = await cluster.live().catch(() => undefined);
            if (live && live[shard] === cluster.o.replicas - 1) {
              droppedAfterMs = Math.round(performance.now() - stoppedAt);
              return;
            }
            await sleep(100);
          }
        },
      },
    ]);
    victim.child.kill('SIGCONT');
    const f = run.recorder.figures();
    await cluster.waitLive(cluster.o.replicas, shard);
    const maxMs = f.latency_ms?.max ?? 0;
    const limitMs = cluster.o.deadlineMs + SLACK_MS;
    const ok = f.failed === 0 && f.dropped === 0 && f.degraded <= 0.005 * f.requests && maxMs <= limitMs && droppedAfterMs !== null && droppedAfterMs <= HEARTBEAT_TIMEOUT_MS + 1500;
    return result(this, ctx, durationS, f, { victim: victim.name, dropped_from_view_ms: droppedAfterMs, max_ms: round(maxMs), limit_ms: limitMs }, ok, []);
  },
};

const killShard: Drill = {
  name: 'kill-shard',
  title: 'SIGKILL every replica of a shard, then start one again',
  expectation: 'answers degraded and naming the shard; a 5xx only for a query routed to that shard alone (503 shard_unavailable); full answers again within 5 s of a replica being ready',
  async run(ctx) {
    const { cluster } = ctx;
    const shard = cluster.shards.at(-1)!;
    const victims = cluster.replicasOf(shard);
    const OUTAGE_MS = 8000;
    const AFTER_MS = 8000;
    let killedAt = 0;
    const restart = untilReadyFor(AFTER_MS);
    const run = await underLoad(
      { url: cluster.url, queries: ctx.queries, rate: ctx.rate, durationS: 120, stopWhen: restart.stopWhen, onStart: restart.onStart },
      [
        {
          atMs: FAULT_AT_MS,
          run: async () => {
            killedAt = FAULT_AT_MS;
            for (const v of victims) v.child.kill('SIGKILL');
            await sleep(OUTAGE_MS);
            const back = cluster.startExpert(shard);
            await cluster.waitReady(back);
            restart.ready(back.readyAt!);
          },
        },
      ],
    );
    const readyMs = restart.readyMs();
    const f = run.recorder.figures();
    const bad = run.recorder.samples.filter((s) => s.kind !== OK || s.degraded);
    const degradedNamingShard = bad.filter((s) => s.degraded).every((s) => s.detail === shard);
    const policy5xx = bad.filter((s) => s.status >= 500).every((s) => (s.detail ?? '').startsWith('shard_unavailable: shard ' + shard + ':'));
    const otherErrors = bad.filter((s) => s.kind !== OK && s.status < 500).length;
    const lastBad = bad.length === 0 ? null : Math.max(...bad.map((s) => s.dueMs));
    const recoveryMs = readyMs === null ? null : lastBad === null || lastBad < readyMs ? 0 : Math.round(lastBad - readyMs);
    await restore(ctx, shard);
    const ok = degradedNamingShard && policy5xx && otherErrors === 0 && f.dropped === 0 && recoveryMs !== null && recoveryMs <= 5000;
    return result(this, ctx, Math.round(run.elapsedMs / 1000), f, {
      shard,
      outage_ms: readyMs === null ? null : Math.round(readyMs - killedAt),
      degraded_naming_shard: degradedNamingShard,
      '5xx_within_policy': policy5xx,
      recovery_ms: recoveryMs,
    }, ok, [`${victims.length} replica(s) killed at ${killedAt / 1000} s; one started ${OUTAGE_MS / 1000} s later, ready at ${readyMs === null ? '-' : (readyMs / 1000).toFixed(1)} s`]);
  },
};

const restartNats: Drill = {
  name: 'restart-nats',
  title: 'Restart nats-server (down 3 s)',
  expectation: `while NATS is down the router answers 503 quickly (p90 ≤ 100 ms; none slower than the deadline + ${SLACK_MS} ms: requests sent before it noticed wait out their deadline); router and experts reconnect by themselves and full answers resume within 5 s of NATS being back; no process crashes`,
  async run(ctx) {
    const { cluster } = ctx;
    const DOWN_MS = 3000;
    let downAt = 0;
    let backAt = 0;
    const before = cluster.running().filter((p) => p !== cluster.nats);
    const run = await underLoad({ url: cluster.url, queries: ctx.queries, rate: ctx.rate, durationS: 20 }, [
      {
        atMs: FAULT_AT_MS,
        run: async () => {
          const nats = cluster.nats!;
          downAt = performance.now();
          nats.child.kill('SIGTERM');
          await cluster.waitExit(nats);
          await sleep(DOWN_MS);
          await cluster.startNats();
          backAt = performance.now();
        },
      },
    ]);
    const down = run.at(downAt);
    const back = run.at(backAt);
    const f = run.recorder.figures();
    const samples = run.recorder.samples;
    const during = samples.filter((s) => s.dueMs >= down && s.dueMs < back);
    const refused = during.filter((s) => s.status === 503);
    const refusedP90 = quantileOf(refused.map((s) => s.ms), 0.9);
    const refusedMax = refused.length ? Math.max(...refused.map((s) => s.ms)) : 0;
    const bad = samples.filter((s) => s.kind !== OK || s.degraded);
    // Requests in flight when the server went away may fail: those due within one deadline before it are allowed to.
    const badBefore = bad.filter((s) => s.dueMs < down - cluster.o.deadlineMs - SLACK_MS).length;
    const lastBad = bad.length === 0 ? null : Math.max(...bad.map((s) => s.dueMs));
    const recoveryMs = lastBad === null || lastBad < back ? 0 : Math.round(lastBad - back);
    const crashed = before.filter((p) => p.exited).map((p) => p.name);
    await cluster.waitLive(cluster.o.replicas);
    const otherKinds = [...new Set(bad.filter((s) => s.kind !== OK && s.status !== 503).map((s) => s.kind))];
    const ok = crashed.length === 0 && badBefore === 0 && recoveryMs <= 5000 && (refused.length === 0 || (refusedP90 <= 100 && refusedMax <= cluster.o.deadlineMs + SLACK_MS)) && otherKinds.length === 0;
    return result(this, ctx, 20, f, {
      down_ms: Math.round(back - down),
      answered_503_while_down: refused.length,
      requests_while_down: during.length,
      p90_ms_of_503: refused.length ? round(refusedP90) : null,
      max_ms_of_503: refused.length ? round(refusedMax) : null,
      recovery_ms: recoveryMs,
      failed_before_down: badBefore,
      crashed: crashed.join(', ') || 'none',
    }, ok, otherKinds.length ? [`other failures: ${otherKinds.join(', ')}`] : []);
  },
};

const hotSwap: Drill = {
  name: 'hot-swap',
  title: "Hot-swap a shard's model under load",
  expectation: 'zero failed requests, zero degraded answers; the shard serves the new version within 30 s of its publication',
  async run(ctx) {
    // The swap is the registry's: a cluster of its own, run by `dsi up` (index published
    // into JetStream, experts and router reading the registry alone), at the drill's rate.
    const up = await startLocalUp({ indexDir: ctx.cluster.o.indexDir, replicas: ctx.cluster.o.replicas, env: { ...process.env, DSI_LOG_LEVEL: 'warn' }, log: ctx.log });
    const bus = await connectBus({ url: up.natsUrl, name: 'hot-swap-drill', token: up.natsToken, log: createLogger({ name: 'hot-swap-drill', level: 'warn' }) });
    try {
      const registry = await Registry.open(bus);
      const shard = ctx.cluster.shards[0]!;
      const durationS = 20;
      let publishedAt = 0;
      let swappedAfterMs: number | null = null;
      let to = 0;
      const run = await underLoad({ url: up.url, queries: ctx.queries, rate: ctx.rate, durationS }, [
        {
          atMs: FAULT_AT_MS,
          run: async () => {
            const record = await registry.shard(shard);
            const { version: _, ...current } = record.current;
            publishedAt = performance.now();
            to = (await registry.publishShard(shard, record.topics, { ...current, published_at: new Date().toISOString(), note: 'republished by the hot-swap drill' })).current.version;
            const deadline = publishedAt + 30_000;
            while (performance.now() < deadline) {
              const shards = ((await (await fetch(`${up.url}/v1/shards`)).json()) as { shards: { id: string; replicas: { version: number }[] }[] }).shards;
              const replicas = shards.find((s) => s.id === shard)?.replicas ?? [];
              if (replicas.length > 0 && replicas.every((r) => r.version === to)) {
                swappedAfterMs = Math.round(performance.now() - publishedAt);
                return;
              }
              await sleep(100);
            }
          },
        },
      ]);
      const f = run.recorder.figures();
      const ok = f.failed === 0 && f.dropped === 0 && f.degraded === 0 && swappedAfterMs !== null;
      return result(this, ctx, durationS, f, { shard, to_version: to, swapped_after_ms: swappedAfterMs }, ok, []);
    } finally {
      await bus.close();
      await up.stop();
    }
  },
};

/**
 * The fault drills: each runs steady searches against a DrillCluster while doing one bad
 * thing to it, measures what the clients saw, and judges that against the expectation it
 * states. Each leaves the cluster as it found it (every replica back and live).
 */
export const DRILLS: readonly Drill[] = [killReplica, stopReplica, killShard, restartNats, badTrafficDrill, hotSwap, killSupervisorDrill];

/** Restarts replicas of `shard` until it has as many as the cluster was started with, all live. */
async function restore(ctx: DrillContext, shard: string): Promise<void> {
  const { cluster } = ctx;
  const started = [];
  while (cluster.replicasOf(shard).length < cluster.o.replicas) started.push(cluster.startExpert(shard));
  await Promise.all(started.map((p) => cluster.waitReady(p)));
  await cluster.waitLive(cluster.o.replicas, shard);
}

function quantileOf(values: number[], q: number): number {
  if (values.length === 0) return NaN;
  const sorted = values.sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.ceil(q * sorted.length) - 1)]!;
}
