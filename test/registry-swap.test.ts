import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connectBus, type Bus } from '../shared/bus/connection.ts';
import { createLogger } from '../shared/log.ts';
import type { ShardVersion } from '../shared/registry/records.ts';
import { Registry } from '../shared/registry/registry.ts';
import { runDsi } from './helpers/cli.ts';
import { buildDemoIndex, demoQueries } from './helpers/demo-index.ts';
import { startNatsServer, type NatsServerHandle } from './helpers/nats-server.ts';
import { ProcessRegistry, type DsiProcess } from './helpers/processes.ts';
import { failedOutcomes, search, startTraffic, waitFor, type Outcome } from './helpers/traffic.ts';

/**
 * A cluster that knows nothing but a NATS URL: the index is published into the registry,
 * experts are given only a shard id, the router nothing. New versions of a shard are then
 * published, rolled back and sabotaged while clients search, with one replica per shard
 * (no other replica to hide a pause behind).
 */
let work: string;
let nats: NatsServerHandle;
let bus: Bus;
let registry: Registry;
let base: string;
const processes = new ProcessRegistry();
const experts: Record<string, DsiProcess> = {};
const QUERIES = demoQueries(7);

beforeAll(async () => {
  work = mkdtempSync(join(tmpdir(), 'dsi-registry-'));
  const indexDir = join(work, 'index');
  [, nats] = await Promise.all([buildDemoIndex(indexDir), startNatsServer({ jetstream: true })]);
  const published = await runDsi(['publish', '--index', indexDir, '--nats', nats.url]);
  expect(published.code, published.stderr).toBe(0);
  expect(published.stdout).toMatch(/gating v1; s0 v1, s1 v1/);
  bus = await connectBus({ url: nats.url, name: 'registry-test', log: createLogger({ name: 'registry-test', level: 'silent' }) });
  registry = await Registry.open(bus);
  for (const shard of ['s0', 's1']) experts[shard] = processes.spawnDsi(['expert', '--shard', shard, '--nats', nats.url]);
  const router = processes.spawnDsi(['router', '--port', '0', '--nats', nats.url]);
  base = (JSON.parse(await router.waitForLine(/router listening/)) as { url: string }).url;
  await waitFor(async () => (await shardStatus()).every((s) => s.live_replicas === 1), 30_000);
}, 120_000);

afterAll(async () => {
  await bus?.close();
  await processes.killAll();
  await nats?.stop();
  rmSync(work, { recursive: true, force: true });
});

describe('a cluster started from the registry alone', () => {
  it('serves every shard at version 1 and answers searches', async () => {
    const shards = await shardStatus();
    expect(shards.map((s) => [s.id, s.version, s.published_version])).toEqual([['s0', 1, 1], ['s1', 1, 1]]);
    const { status, body } = await search(base, QUERIES[0]!);
    expect(status).toBe(200);
    expect(body.results.length).toBeGreaterThan(0);
    expect(body.answered_by.every((a) => a.version === 1)).toBe(true);
  });

  it('swaps a new version of a shard in under load: no failed request, and later answers come from the new version', async () => {
    const current = (await registry.shard('s0')).current;
    const { outcomes } = await withTraffic(async () => {
      await registry.publishShard('s0', [0, 2], republished(current, 'republished for the swap test'));
      await waitFor(async () => (await shardStatus()).find((s) => s.id === 's0')!.version === 2, 20_000);
    });
    expectNoFailures(outcomes);
    expectSwitchedTo(outcomes, 's0', 2);
    expect(experts.s0!.logs().some((l) => l.msg === 'model swapped' && l.to === 2)).toBe(true);
    // Records are the swapped-in version's documents, titles too: the router fetched none.
    const { body } = await search(base, QUERIES[0]!);
    const hit = body.results.find((r) => r.shard === 's0');
    expect(hit?.title).toBeTruthy();
    expect(await (await fetch(`${base}/v1/docs/${encodeURIComponent(hit!.id)}`)).json()).toMatchObject({ id: hit!.id, docid: hit!.docid, title: hit!.title });
    // The router shows the version before next to the new one (the status page's trend).
    const s0 = ((await (await fetch(`${base}/v1/shards`)).json()) as { shards: { id: string; previous_version: number; previous_figures: unknown }[] }).shards.find((s) => s.id === 's0')!;
    expect(s0).toMatchObject({ previous_version: 1, previous_figures: current.figures });
  });

  it('dsi rollback makes the previous version current again, the same way', async () => {
    const { outcomes } = await withTraffic(async () => {
      const rolled = await runDsi(['rollback', '--shard', 's0', '--nats', nats.url]);
      expect(rolled.code, rolled.stderr).toBe(0);
      expect(rolled.stdout).toMatch(/shard s0: version 1 is current again \(was 2\)/);
      await waitFor(async () => (await shardStatus()).find((s) => s.id === 's0')!.version === 1, 20_000);
    });
    expectNoFailures(outcomes);
    expectSwitchedTo(outcomes, 's0', 1);
    const status = await runDsi(['status', '--nats', nats.url, '--json']);
    const row = (JSON.parse(status.stdout) as { shards: { id: string; published_version: number; previous_version: number; served_versions: number[]; live_replicas: number }[] }).shards.find((s) => s.id === 's0')!;
    expect(row).toMatchObject({ published_version: 1, previous_version: 2, served_versions: [1], live_replicas: 1 });
  });

  it('refuses a model whose digest does not match, whose object is missing, or whose documents are not its own, and keeps serving', async () => {
    const good = (await registry.shard('s1')).current;
    await registry.publishShard('s1', [1, 3], { ...republished(good, 'tampered'), model: { ...good.model, sha256: 'f'.repeat(64) } });
    await experts.s1!.waitForLine(/new model refused/, 20_000);
    await registry.publishShard('s1', [1, 3], { ...republished(good, 'dangling'), model: { ...good.model, object: 'shard-s1-no-such-object' } });
    const refusals = () => experts.s1!.logs().filter((l) => String(l.msg).startsWith('new model refused'));
    await waitFor(async () => refusals().length === 2, 20_000);
    // A model whose documents are another shard's: searches and records of one version must not come from two.
    await registry.publishShard('s1', [1, 3], { ...republished(good, 'mismatched documents'), data: (await registry.shard('s0')).current.data });
    await waitFor(async () => refusals().length === 3, 20_000);
    const reasons = refusals().map((l) => String(l.reason));
    expect(reasons[0]).toMatch(/sha256 .* does not match/);
    expect(reasons[1]).toMatch(/missing from the model store/);
    expect(reasons[2]).toMatch(/has no record of 600 of the 600 documents of shard s1/);
    const s1 = (await shardStatus()).find((s) => s.id === 's1')!;
    expect(s1.version).toBe(1);
    expect(s1.live_replicas).toBe(1);
    const { outcomes } = await withTraffic(async () => new Promise((r) => setTimeout(r, 500)));
    expectNoFailures(outcomes);
    expect(outcomes.every((o) => o.versions.s1 === undefined || o.versions.s1 === 1)).toBe(true);

    // A good version after the bad ones is taken: refusing one does not wedge the follower.
    await registry.publishShard('s1', [1, 3], republished(good, 'good again'));
    await waitFor(async () => (await shardStatus()).find((s) => s.id === 's1')!.version === 5, 20_000);
  });

  it('with two replicas, they load a new version in turns, each out of rotation meanwhile: no failed or degraded answer', async () => {
    const second = processes.spawnDsi(['expert', '--shard', 's0', '--nats', nats.url]);
    await waitFor(async () => (await shardStatus()).find((s) => s.id === 's0')!.live_replicas === 2, 30_000);
    const current = (await registry.shard('s0')).current;
    let to = 0;
    const { outcomes } = await withTraffic(async () => {
      to = (await registry.publishShard('s0', [0, 2], republished(current, 'two replicas'))).current.version;
      await waitFor(async () => {
        const s0 = (await shardStatus()).find((s) => s.id === 's0')!;
        return s0.live_replicas === 2 && s0.replicas.every((r) => r.version === to);
      }, 30_000);
    });
    expectNoFailures(outcomes);
    // Each replica was out of rotation for its own load, one after the other.
    const windows = [experts.s0!, second].map((p) => {
      const logs = p.logs();
      const aside = logs.find((l) => l.msg === 'out of rotation to load a new model' && l.version === to);
      const back = logs.find((l) => l.msg === 'back in rotation' && l.version === to);
      expect(aside && back, JSON.stringify(logs.slice(-5))).toBeTruthy();
      return [Number(aside!.time), Number(back!.time)] as const;
    });
    windows.sort((a, b) => a[0] - b[0]);
    expect(windows[0]![1]).toBeLessThanOrEqual(windows[1]![0]);
    await second.stop();
  }, 60_000);
});

function republished(version: ShardVersion, note: string): Omit<ShardVersion, 'version'> {
  const { version: _, ...rest } = version;
  return { ...rest, published_at: new Date().toISOString(), note };
}

async function withTraffic(during: () => Promise<void>): Promise<{ outcomes: Outcome[] }> {
  const traffic = startTraffic(base, QUERIES);
  await new Promise((r) => setTimeout(r, 300));
  await during();
  await new Promise((r) => setTimeout(r, 700));
  return { outcomes: await traffic.stop() };
}

function expectNoFailures(outcomes: Outcome[]): void {
  expect(outcomes.length).toBeGreaterThan(20);
  const failed = failedOutcomes(outcomes);
  expect(failed, JSON.stringify(failed.slice(0, 5))).toEqual([]);
}

/** Once one answer of the new version arrived, every answer of that shard that arrived clearly later is of the new version. */
function expectSwitchedTo(outcomes: Outcome[], shard: string, version: number): void {
  const first = outcomes.filter((o) => o.versions[shard] === version).sort((a, b) => a.at - b.at)[0];
  expect(first, `no answer of ${shard} v${version}`).toBeDefined();
  const later = outcomes.filter((o) => o.at > first!.at + 100 && o.versions[shard] !== undefined);
  expect(later.length).toBeGreaterThan(0);
  expect(later.filter((o) => o.versions[shard] !== version)).toEqual([]);
}

type ShardRow = { id: string; version: number | null; published_version: number; live_replicas: number; replicas: { version: number }[] };

async function shardStatus(): Promise<ShardRow[]> {
  return ((await (await fetch(`${base}/v1/shards`)).json()) as { shards: ShardRow[] }).shards;
}
