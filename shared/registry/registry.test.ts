import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startNatsServer, type NatsServerHandle } from '../../test/helpers/nats-server.ts';
import { connectBus, type Bus } from '../bus/connection.ts';
import { ArtifactError, BadInputError, NotFoundError } from '../errors.ts';
import { createLogger } from '../log.ts';
import type { ShardVersion } from './records.ts';
import { Registry } from './registry.ts';

/** The registry's rules against a real JetStream: versions, compare-and-set, rollback, refusal of bad objects, pruning. */
let nats: NatsServerHandle;
let bus: Bus;
let registry: Registry;

beforeAll(async () => {
  nats = await startNatsServer({ jetstream: true });
  bus = await connectBus({ url: nats.url, name: 'registry-unit', log: createLogger({ name: 'registry-unit', level: 'silent' }) });
  registry = await Registry.open(bus);
}, 30_000);

afterAll(async () => {
  await bus?.close();
  await nats?.stop();
});

async function version(text: string): Promise<Omit<ShardVersion, 'version'>> {
  const model = await registry.upload('shard-t', new TextEncoder().encode(`model ${text}`));
  const data = await registry.upload('shard-t-data', new TextEncoder().encode(`data ${text}`));
  return { docs: 3, model, data, figures: { collision_rate: 0, 'index_recall@1': 1, 'hits@10': null }, published_at: new Date().toISOString(), note: text };
}

describe('Registry', () => {
  it('says what to do when nothing is published yet', async () => {
    await expect(registry.index()).rejects.toThrow(NotFoundError);
    await expect(registry.shard('s9')).rejects.toThrow(/no shard 's9' \(it has none\)/);
  });

  it('numbers versions, keeps the previous one, and rolls back and forth', async () => {
    expect((await registry.publishShard('t', [7, 8], await version('a'))).current.version).toBe(1);
    const second = await registry.publishShard('t', [8, 7], await version('b'));
    expect([second.current.version, second.previous?.version, second.retrained_at !== null]).toEqual([2, 1, true]);
    const rolled = await registry.rollbackShard('t');
    expect([rolled.current.version, rolled.previous?.version]).toEqual([1, 2]);
    // The next publication after a rollback is numbered after every version seen.
    expect((await registry.publishShard('t', [7, 8], await version('c'))).current.version).toBe(3);
  });

  it('refuses a shard under other topics, and a rollback with nothing to roll back to', async () => {
    await expect(registry.publishShard('t', [9], await version('d'))).rejects.toThrow(BadInputError);
    await registry.publishShard('u', [1], await version('u'));
    await expect(registry.rollbackShard('u')).rejects.toThrow(/no previous version/);
  });

  it('loses no publication when writers race (compare-and-set)', async () => {
    const versions = await Promise.all([1, 2, 3].map(async (i) => (await registry.publishShard('race', [3], await version(`r${i}`))).current.version));
    expect(versions.sort()).toEqual([1, 2, 3]);
    expect((await registry.shard('race')).current.version).toBe(3);
  });

  it('refuses an object that is missing or does not match its sha256', async () => {
    const good = await registry.upload('blob', new TextEncoder().encode('payload'));
    expect(new TextDecoder().decode(await registry.download(good))).toBe('payload');
    await expect(registry.download({ ...good, sha256: '0'.repeat(64) })).rejects.toThrow(ArtifactError);
    await expect(registry.download({ ...good, object: 'blob-missing' })).rejects.toThrow(/missing from the model store/);
  });

  it('prunes objects no current or previous version points to', async () => {
    const dropped = await registry.pruneObjects();
    expect(dropped.length).toBeGreaterThan(0);
    for (const s of await registry.shards()) for (const v of [s.current, s.previous]) if (v) await expect(registry.download(v.model)).resolves.toBeInstanceOf(Uint8Array);
  });
});
