import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildDemoIndex, demoQueries } from './helpers/demo-index.ts';
import { startNatsServer, type NatsServerHandle } from './helpers/nats-server.ts';
import { ProcessRegistry, type DsiProcess } from './helpers/processes.ts';
import { failedOutcomes, search as searchAt, sleep, underTraffic as underTrafficAt, waitFor, type Outcome } from './helpers/traffic.ts';

/**
 * Replicas failing under traffic, with two replicas per shard on a real nats-server:
 * a crash (SIGKILL), a drain (SIGTERM) and a hang (SIGSTOP) of one replica lose no
 * request; losing every replica of a shard degrades answers within the deadline.
 */
const DEADLINE_MS = 300;
/** Room for the HTTP round trip and a busy two-core machine on top of the router's deadline. */
const SLACK_MS = 250;

let work: string;
let indexDir: string;
let nats: NatsServerHandle;
let base: string;
const processes = new ProcessRegistry();
const replicas: Record<string, DsiProcess[]> = { s0: [], s1: [] };
const queriesOf: Record<string, string[]> = { s0: [], s1: [] };
let bothShards: string;

const QUERIES = demoQueries(12);

beforeAll(async () => {
  work = mkdtempSync(join(tmpdir(), 'dsi-failover-'));
  indexDir = join(work, 'index');
  [, nats] = await Promise.all([buildDemoIndex(indexDir), startNatsServer()]);
  for (const shard of ['s0', 's1']) for (let i = 0; i < 2; i++) startReplica(shard);
  const router = processes.spawnDsi(['router', '--index', indexDir, '--port', '0', '--nats', nats.url, '--deadline-ms', String(DEADLINE_MS)]);
  base = (JSON.parse(await router.waitForLine(/router listening/)) as { url: string }).url;
  await waitFor(async () => (await liveReplicas()).s0 === 2 && (await liveReplicas()).s1 === 2, 30_000);

  // Which queries each shard serves, from the router's own routing.
  const manifest = JSON.parse(readFileSync(join(indexDir, 'manifest.json'), 'utf8')) as { shards: { id: string; topics: number[] }[] };
  const shardOf = (topic: number) => manifest.shards.find((s) => s.topics.includes(topic))!.id;
  for (const query of QUERIES) {
    const r = await search(query);
    const shards = new Set(r.body.routed.map((t) => shardOf(t.topic)));
    for (const s of shards) queriesOf[s]!.push(query);
    if (shards.size === 2) bothShards ??= query;
  }
  expect(queriesOf.s0!.length).toBeGreaterThan(5);
  expect(queriesOf.s1!.length).toBeGreaterThan(5);
  expect(bothShards).toBeDefined();
}, 120_000);

afterAll(async () => {
  for (const list of Object.values(replicas)) for (const p of list) p.signal('SIGCONT');
  await processes.killAll();
  await nats?.stop();
  rmSync(work, { recursive: true, force: true });
});

describe('one replica of a shard fails under traffic', () => {
  it('SIGKILL: no request is lost', async () => {
    const victim = replicas.s0![0]!;
    const outcomes = await underTraffic(queriesOf.s0!, async () => {
      victim.signal('SIGKILL');
      await victim.exited(5000);
    });
    expectAllAnswered(outcomes);
    await replaceReplica('s0', victim);
  });

  it('SIGTERM: the replica drains, exits 0, and no request fails', async () => {
    const victim = replicas.s1![0]!;
    const outcomes = await underTraffic(queriesOf.s1!, async () => {
      victim.signal('SIGTERM');
      expect((await victim.exited(10_000)).code).toBe(0);
    });
    expectAllAnswered(outcomes);
    expect(victim.lines().some((l) => l.includes('"drained"'))).toBe(true);
    await replaceReplica('s1', victim);
  });

  it('SIGSTOP (hung, still subscribed): requests go to the other replica within the deadline', async () => {
    const victim = replicas.s0![0]!;
    try {
      const outcomes = await underTraffic(queriesOf.s0!, async () => {
        victim.signal('SIGSTOP');
        await sleep(1500);
      });
      expectAllAnswered(outcomes);
      for (const o of outcomes) expect(o.ms).toBeLessThan(DEADLINE_MS + SLACK_MS);
      // It stops heartbeating, so it drops out of the live set.
      await waitFor(async () => (await liveReplicas()).s0 === 1, 6000);
    } finally {
      victim.signal('SIGCONT');
    }
    await waitFor(async () => (await liveReplicas()).s0 === 2, 6000);
  });
});

describe('every replica of a shard fails', () => {
  it('hung: answers come from the other shard, degraded and naming the missing one, within the deadline', async () => {
    for (const p of replicas.s1!) p.signal('SIGSTOP');
    try {
      for (let i = 0; i < 3; i++) {
        const started = performance.now();
        const { status, body } = await search(bothShards);
        const ms = performance.now() - started;
        expect(status).toBe(200);
        expect(body.degraded).toBe(true);
        expect(body.missing_shards).toEqual(['s1']);
        expect(body.results.length).toBeGreaterThan(0);
        expect(body.results.every((r) => r.shard === 's0')).toBe(true);
        expect(ms).toBeLessThan(DEADLINE_MS + SLACK_MS);
      }
    } finally {
      for (const p of replicas.s1!) p.signal('SIGCONT');
    }
  });

  it('killed: the same, at once', async () => {
    for (const p of replicas.s1!) p.signal('SIGKILL');
    await Promise.all(replicas.s1!.map((p) => p.exited(5000)));
    const started = performance.now();
    const { status, body } = await search(bothShards);
    expect(status).toBe(200);
    expect(body).toMatchObject({ degraded: true, missing_shards: ['s1'] });
    expect(performance.now() - started).toBeLessThan(DEADLINE_MS + SLACK_MS);
  });
});

function expectAllAnswered(outcomes: Outcome[]): void {
  expect(outcomes.length).toBeGreaterThan(20);
  const failed = failedOutcomes(outcomes);
  expect(failed, JSON.stringify(failed.slice(0, 5))).toEqual([]);
}

const underTraffic = (queries: string[], during: () => Promise<void>) => underTrafficAt(base, queries, during);
const search = (query: string) => searchAt(base, query);

function startReplica(shard: string): DsiProcess {
  const p = processes.spawnDsi(['expert', '--index', indexDir, '--shard', shard, '--nats', nats.url]);
  replicas[shard]!.push(p);
  return p;
}

async function replaceReplica(shard: string, gone: DsiProcess): Promise<void> {
  replicas[shard] = replicas[shard]!.filter((p) => p !== gone);
  startReplica(shard);
  await waitFor(async () => (await liveReplicas())[shard] === 2, 30_000);
}

async function liveReplicas(): Promise<Record<string, number>> {
  const { shards } = (await (await fetch(`${base}/v1/shards`)).json()) as { shards: { id: string; live_replicas: number }[] };
  return Object.fromEntries(shards.map((s) => [s.id, s.live_replicas]));
}

