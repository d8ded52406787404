import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openIndex, readDocRecords, type DocRecord } from '../shared/artifact/index-artifact.ts';
import type { Manifest, ShardEntry } from '../shared/artifact/manifest.ts';
import { decode, encode } from '../shared/bus/codec.ts';
import { connectBus, type Bus } from '../shared/bus/connection.ts';
import { decodeMessage } from '../shared/bus/decode-message.ts';
import { DocReplySchema, HeartbeatSchema, PROTOCOL_VERSION, SearchReplySchema, Subjects, type DocReply, type Heartbeat, type SearchReply } from '../shared/bus/protocol.ts';
import { BadInputError, ErrorCode } from '../shared/errors.ts';
import { createLogger } from '../shared/log.ts';
import { initBackend, tfMemory } from '../shared/model/backend.ts';
import { searchExpert } from '../shared/model/expert/search-expert.ts';
import type { ServedExpert } from '../shared/model/expert/shard-documents.ts';
import { ExpertService } from '../experts/service.ts';
import { loadLocalShardModel } from '../experts/local-model.ts';
import { natsAddress } from '../cluster/commands/nats-flags.ts';
import { DEFAULT_BUS_URL } from '../shared/bus/address.ts';
import { NoRespondersError } from '../shared/bus/bus-errors.ts';
import { buildDemoIndex } from './helpers/demo-index.ts';
import { startNatsServer, type NatsServerHandle } from './helpers/nats-server.ts';
import { ProcessRegistry, type DsiProcess } from './helpers/processes.ts';

/**
 * `dsi expert` as a real process on a real nats-server, serving a real (tiny) index: its
 * answers must be exactly those of the same shard searched in this process, bad requests
 * must not hurt it, and a SIGTERM must cost no request it had already been sent.
 */
const SHARD = 's0';
const READY = /"msg":"expert ready"/;
const processes = new ProcessRegistry();
const heartbeats: Heartbeat[] = [];
let work: string;
let indexDir: string;
let nats: NatsServerHandle;
let client: Bus;
let manifest: Manifest;
let entry: ShardEntry;
let local: ServedExpert;
let records: DocRecord[];
let a: DsiProcess;
let replicaA: string;

/** The server URL goes in the --nats flag, or in DSI_NATS_URL to exercise the fallback. */
function startExpert(shard = SHARD, urlFrom: 'flag' | 'env' = 'flag'): DsiProcess {
  const args = ['expert', '--index', indexDir, '--shard', shard];
  return urlFrom === 'flag' ? processes.spawnDsi([...args, '--nats', nats.url]) : processes.spawnDsi(args, { DSI_NATS_URL: nats.url });
}

function replicaOf(readyLine: string): string {
  return (JSON.parse(readyLine) as { replica: string }).replica;
}

function request(subject: string, body: unknown, timeoutMs = 15_000): Promise<SearchReply> {
  return client.request(subject, encode(body), timeoutMs).then((bytes) => decodeMessage(SearchReplySchema, bytes, 'search reply'));
}

function docRequest(subject: string, body: unknown): Promise<DocReply> {
  return client.request(subject, encode(body), 15_000).then((bytes) => decodeMessage(DocReplySchema, bytes, 'document reply'));
}

/** The shard's own topics (one likely, one less so) plus a topic of another shard, which the expert must skip. */
function routedTopics(): { topic: number; logp: number }[] {
  const foreign = manifest.shards.find((s) => s.id !== SHARD)!.topics[0]!;
  return [...entry.topics.map((topic, i) => ({ topic, logp: i === 0 ? -0.05 : -3 })), { topic: foreign, logp: -1 }];
}

function searchRequest(query: string, k: number) {
  return { v: PROTOCOL_VERSION, query, topics: routedTopics(), k };
}

async function until(condition: () => boolean, timeoutMs: number, what: string): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

beforeAll(async () => {
  work = mkdtempSync(join(tmpdir(), 'dsi-expert-'));
  [nats, indexDir] = await Promise.all([startNatsServer(), buildDemoIndex(join(work, 'index'))]);
  a = startExpert();
  // While the expert starts: the same shard in this process, and a client on the bus.
  await initBackend({ prefer: 'wasm' });
  manifest = await openIndex(indexDir);
  entry = manifest.shards.find((s) => s.id === SHARD)!;
  local = await loadLocalShardModel(indexDir, manifest, SHARD);
  records = await readDocRecords(indexDir);
  client = await connectBus({ url: nats.url, name: 'expert-test', log: createLogger({ name: 'expert-test', level: 'silent' }) });
  client.subscribe(Subjects.heartbeatWildcard, {}, (m) => {
    heartbeats.push(HeartbeatSchema.parse(decode(m.data)));
  });
  await client.flush();
  replicaA = replicaOf(await a.waitForLine(READY));
}, 120_000);

afterAll(async () => {
  await processes.killAll();
  await client?.close();
  local?.model.dispose();
  await nats?.stop();
  if (work) rmSync(work, { recursive: true, force: true });
});

describe('NATS settings of dsi expert', () => {
  it('take flags over DSI_NATS_* variables over the local default, and refuse mixed credentials', () => {
    expect(natsAddress({}, {})).toEqual({ url: DEFAULT_BUS_URL });
    expect(natsAddress({}, { DSI_NATS_URL: 'nats://env:1', DSI_NATS_TOKEN: 't' })).toEqual({ url: 'nats://env:1', token: 't' });
    expect(natsAddress({ nats: 'nats://flag:2', user: 'u', pass: 'p' }, { DSI_NATS_URL: 'nats://env:1' })).toEqual({ url: 'nats://flag:2', user: 'u', pass: 'p' });
    expect(() => natsAddress({ token: 't', user: 'u', pass: 'p' }, {})).toThrow(BadInputError);
    expect(() => natsAddress({ user: 'u' }, {})).toThrow(BadInputError);
  });
});

describe('dsi expert', () => {
  it('answers exactly what the same shard answers in process, on the queue and the replica subject', async () => {
    const config = manifest.config;
    const cases = [
      { query: 'real-time strategy game', k: 5 },
      { query: 'python library for parsing HTML', k: 10 },
      // k above the configured beam width: the beam widens to k on both sides.
      { query: 'command-line audio player', k: config.decode.beamWidth + 8 },
    ];
    for (const { query, k } of cases) {
      const before = tfMemory().numTensors;
      const expected = searchExpert(local, { query, topics: routedTopics(), k }, config);
      expect(tfMemory().numTensors).toBe(before);
      expect(expected.length).toBeGreaterThan(0);
      // Titled from the shard's own documents.
      for (const hit of expected) expect(hit.title).toBe(records.find((r) => r.id === hit.id)!.title);
      for (const subject of [Subjects.search(SHARD), Subjects.replicaSearch(SHARD, replicaA)]) {
        const reply = await request(subject, searchRequest(query, k));
        expect(reply).toMatchObject({ ok: true, shard: SHARD, replica: replicaA, version: 1 });
        if (!reply.ok) throw new Error('unreachable');
        expect(reply.hits).toEqual(expected);
        expect(reply.took_ms).toBeGreaterThanOrEqual(0);
      }
    }
  });

  it('answers garbage and schema-invalid requests with bad_input, and keeps serving', async () => {
    const garbage = await request(Subjects.search(SHARD), new TextEncoder().encode('definitely not msgpack'));
    const invalid = await request(Subjects.search(SHARD), encode({ v: PROTOCOL_VERSION, query: 'x', topics: [], k: 0 }));
    const otherVersion = await request(Subjects.search(SHARD), encode({ ...searchRequest('x', 3), v: PROTOCOL_VERSION + 1 }));
    for (const reply of [garbage, invalid, otherVersion]) {
      expect(reply).toMatchObject({ ok: false, shard: SHARD, replica: replicaA, error: { code: ErrorCode.BadInput } });
    }
    if (invalid.ok) throw new Error('unreachable');
    expect(invalid.error.message).toMatch(/topics/);
    expect(invalid.error.message).toMatch(/\bk\b/);
    expect(await request(Subjects.search(SHARD), searchRequest('strategy game', 3))).toMatchObject({ ok: true });
    expect(a.logs().filter((l) => l.msg === 'rejected search request' && l.level === 40)).toHaveLength(3);
  });

  it("answers a document request with the record when it is one of its shard's, with none when it is another shard's, and bad input with bad_input", async () => {
    const own = records.filter((r) => local.documents.record(r.id) !== undefined);
    const others = records.filter((r) => local.documents.record(r.id) === undefined);
    expect(own.length).toBe(entry.docs);
    expect(others.length).toBeGreaterThan(0);
    for (const subject of [Subjects.doc(SHARD), Subjects.replicaDoc(SHARD, replicaA)]) {
      for (const doc of [own[0]!, own.at(-1)!]) expect(await docRequest(subject, { v: PROTOCOL_VERSION, id: doc.id })).toEqual({ ok: true, shard: SHARD, replica: replicaA, version: 1, doc });
      expect(await docRequest(subject, { v: PROTOCOL_VERSION, id: others[0]!.id })).toEqual({ ok: true, shard: SHARD, replica: replicaA, version: 1, doc: null });
      expect(await docRequest(subject, { v: PROTOCOL_VERSION, id: 'no-such-doc' })).toEqual({ ok: true, shard: SHARD, replica: replicaA, version: 1, doc: null });
    }
    for (const bad of [{ v: PROTOCOL_VERSION, id: '' }, { v: PROTOCOL_VERSION }, { v: PROTOCOL_VERSION, id: 'x'.repeat(5000) }]) {
      expect(await docRequest(Subjects.doc(SHARD), bad)).toMatchObject({ ok: false, shard: SHARD, replica: replicaA, error: { code: ErrorCode.BadInput } });
    }
    expect(await docRequest(Subjects.doc(SHARD), { v: PROTOCOL_VERSION, id: own[1]!.id })).toMatchObject({ ok: true, doc: own[1] });
    expect(a.logs().filter((l) => l.msg === 'rejected document request')).toHaveLength(3);
  });

  it('announces itself with heartbeats', async () => {
    await until(() => heartbeats.filter((h) => h.replica === replicaA).length >= 2, 5_000, 'two heartbeats');
    const mine = heartbeats.filter((h) => h.replica === replicaA);
    const last = mine.at(-1)!;
    expect(last).toMatchObject({ v: PROTOCOL_VERSION, shard: SHARD, version: 1, docs: entry.docs, topics: entry.topics, pid: a.pid, inflight: 0, draining: false });
    expect(last.served).toBeGreaterThanOrEqual(6);
    expect(Number.isNaN(Date.parse(last.started_at))).toBe(false);
  });

  it('shares the queue with a second replica; a SIGTERM drains it without losing a request', async () => {
    const b = startExpert(SHARD, 'env');
    const replicaB = replicaOf(await b.waitForLine(READY));
    expect(replicaB).not.toBe(replicaA);

    const spread = await Promise.all(Array.from({ length: 24 }, (_, i) => request(Subjects.search(SHARD), searchRequest(`game ${i}`, 3))));
    expect(spread.every((r) => r.ok)).toBe(true);
    expect(new Set(spread.map((r) => r.replica))).toEqual(new Set([replicaA, replicaB]));

    // A burst straight to replica B; once the server has routed it (flush), B is told to stop.
    const burst = Array.from({ length: 30 }, (_, i) => request(Subjects.replicaSearch(SHARD, replicaB), searchRequest(`strategy game ${i}`, 100)));
    await client.flush();
    b.signal('SIGTERM');
    const replies = await Promise.all(burst);
    expect(replies.every((r) => r.ok && r.replica === replicaB)).toBe(true);
    expect(await b.exited(20_000)).toEqual({ code: 0, signal: null });
    const drainLog = b.logs().find((l) => l.msg === 'draining');
    expect(drainLog).toBeDefined();
    expect(heartbeats.some((h) => h.replica === replicaB && h.draining)).toBe(true);

    // The queue goes on with replica A alone.
    expect(await request(Subjects.search(SHARD), searchRequest('audio player', 3))).toMatchObject({ ok: true, replica: replicaA });
  });

  it('stop() answers every request already delivered before it resolves (in process, so the timing is certain)', async () => {
    const bus = await connectBus({ url: nats.url, name: 'expert-test-service', log: createLogger({ name: 'expert-test', level: 'silent' }) });
    const burstSize = 20;
    let delivered = 0;
    let stopping: Promise<void> | undefined;
    let inflightAtStop = -1;
    // The service's bus, tapped: stop() is called the moment the last request of the burst
    // has been handed to the service, while the ones before it are still queued or running.
    const tapped: Bus = {
      name: bus.name,
      isConnected: () => bus.isConnected(),
      request: (subject, payload, timeoutMs) => bus.request(subject, payload, timeoutMs),
      subscribe: (subject, options, handler) =>
        bus.subscribe(subject, options, (m) => {
          const result = handler(m);
          if (++delivered === burstSize) {
            stopping = service.stop();
            inflightAtStop = service.stats().inflight;
          }
          return result;
        }),
      publish: (subject, payload) => bus.publish(subject, payload),
      flush: () => bus.flush(),
      drain: () => bus.drain(),
      close: () => bus.close(),
      closed: () => bus.closed(),
      keyValue: (bucket) => bus.keyValue(bucket),
      objectStore: (bucket) => bus.objectStore(bucket),
      workQueue: (spec, delivery) => bus.workQueue(spec, delivery),
    };
    const silent = createLogger({ name: 'expert-test', level: 'silent' });
    const service = new ExpertService({ expert: local, shard: entry, config: manifest.config, bus: tapped, replica: 'in-process', version: 7, log: silent });
    try {
      await service.start();
      const burst = Array.from({ length: burstSize }, (_, i) => request(Subjects.replicaSearch(SHARD, 'in-process'), searchRequest(`game ${i}`, 50)));
      await until(() => stopping !== undefined, 10_000, 'the burst to be delivered');
      expect(inflightAtStop).toBeGreaterThanOrEqual(1);
      expect(service.stats().draining).toBe(true);
      await stopping;
      expect(service.stats()).toEqual({ inflight: 0, served: burstSize, draining: true });
      const replies = await Promise.all(burst);
      expect(replies.every((r) => r.ok && r.replica === 'in-process' && r.version === 7)).toBe(true);
      await expect(request(Subjects.replicaSearch(SHARD, 'in-process'), searchRequest('game', 3))).rejects.toBeInstanceOf(NoRespondersError);
      expect(heartbeats.some((h) => h.replica === 'in-process' && h.draining && h.version === 7)).toBe(true);
    } finally {
      await service.stop();
      await bus.close();
    }
  });

  it('answers a fault inside the model with an internal error, and goes on answering', async () => {
    const bus = await connectBus({ url: nats.url, name: 'expert-test-broken', log: createLogger({ name: 'expert-test', level: 'silent' }) });
    // Whatever the search reads of this model throws.
    const faultyModel = new Proxy({}, {
      get(): never {
        throw new Error('weights on fire');
      },
    });
    const broken = { shard: SHARD, model: faultyModel, lexicon: faultyModel, fusion: faultyModel, docIds: [] } as unknown as ServedExpert;
    const service = new ExpertService({ expert: broken, shard: entry, config: manifest.config, bus, replica: 'broken', version: 1, log: createLogger({ name: 'expert-test', level: 'silent' }) });
    try {
      await service.start();
      for (let i = 0; i < 2; i++) {
        const reply = await request(Subjects.replicaSearch(SHARD, 'broken'), searchRequest('game', 3));
        expect(reply).toMatchObject({ ok: false, replica: 'broken', error: { code: ErrorCode.Internal, message: expect.stringMatching(/weights on fire/) } });
      }
      expect(service.stats()).toMatchObject({ inflight: 0, served: 2 });
    } finally {
      await service.stop();
      await bus.close();
    }
  });

  it('refuses an unknown shard with one line and exit code 2', async () => {
    const nope = startExpert('nope');
    const exit = await nope.exited(30_000);
    expect(exit.code).toBe(2);
    const lines = nope.stderr().trim().split('\n');
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(/unknown shard 'nope'.*s0, s1/);
  });
});

describe('dsi expert serving several shards', () => {
  it('answers each shard as the same shard searched in process, heartbeats each, and drains them all on SIGTERM', async () => {
    const both = processes.spawnDsi(['expert', '--index', indexDir, '--shard', 's0', '--shard', 's1', '--nats', nats.url]);
    const ready = JSON.parse(await both.waitForLine(READY)) as { replica: string; shards: { shard: string }[] };
    expect(ready.shards.map((s) => s.shard)).toEqual(['s0', 's1']);
    for (const shard of ['s0', 's1']) {
      const topics = manifest.shards.find((s) => s.id === shard)!.topics.map((topic) => ({ topic, logp: -0.1 }));
      const expert = shard === SHARD ? local : await loadLocalShardModel(indexDir, manifest, shard);
      const expected = searchExpert(expert, { query: 'image viewer', topics, k: 5 }, manifest.config);
      if (expert !== local) expert.model.dispose();
      expect(expected.length).toBeGreaterThan(0);
      const reply = await request(Subjects.replicaSearch(shard, ready.replica), { v: PROTOCOL_VERSION, query: 'image viewer', topics, k: 5 });
      expect(reply).toMatchObject({ ok: true, shard, replica: ready.replica });
      if (!reply.ok) throw new Error('unreachable');
      expect(reply.hits).toEqual(expected);
      const doc = records.find((r) => r.id === expected[0]!.id)!;
      expect(await docRequest(Subjects.replicaDoc(shard, ready.replica), { v: PROTOCOL_VERSION, id: doc.id })).toEqual({ ok: true, shard, replica: ready.replica, version: 1, doc });
    }
    await until(() => ['s0', 's1'].every((shard) => heartbeats.some((h) => h.shard === shard && h.replica === ready.replica)), 15_000, 'a heartbeat of each shard');
    both.signal('SIGTERM');
    expect(await both.exited(20_000)).toEqual({ code: 0, signal: null });
    expect(both.logs().filter((l) => l.msg === 'drained')).toHaveLength(2);
  });

  it('refuses a shard the index does not have before serving any', async () => {
    const typo = processes.spawnDsi(['expert', '--index', indexDir, '--shard', 's0', '--shard', 's9', '--nats', nats.url]);
    const exit = await typo.exited(30_000);
    expect(exit.code).toBe(2);
    expect(typo.stderr()).toMatch(/unknown shard 's9'/);
    expect(typo.lines().some((l) => l.includes('expert ready'))).toBe(false);
  });
});
