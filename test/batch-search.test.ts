import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LocalIndex } from '../cluster/local-index.ts';
import type { Manifest } from '../shared/artifact/manifest.ts';
import { decode, encode } from '../shared/bus/codec.ts';
import { connectBus, type Bus, type BusSubscription } from '../shared/bus/connection.ts';
import { decodeMessage } from '../shared/bus/decode-message.ts';
import { BatchSearchReplySchema, PROTOCOL_VERSION, Subjects, type RoutedTopic, type ShardQuery } from '../shared/bus/protocol.ts';
import { followHeartbeats, ShardView } from '../shared/bus/shard-view.ts';
import { ErrorCode } from '../shared/errors.ts';
import { createLogger } from '../shared/log.ts';
import { initBackend } from '../shared/model/backend.ts';
import { searchExpert } from '../shared/model/expert/search-expert.ts';
import { BusSearcher } from '../shared/search/bus-searcher.ts';
import type { ShardOutcome } from '../shared/search/shard-searcher.ts';
import { buildDemoIndex } from './helpers/demo-index.ts';
import { startNatsServer, type NatsServerHandle } from './helpers/nats-server.ts';
import { ProcessRegistry, type DsiProcess } from './helpers/processes.ts';
import { waitFor } from './helpers/traffic.ts';

/**
 * Batched searches on a real nats-server with real `dsi expert` processes, each serving
 * every shard of a 4-shard index: a search sends each process it chose one request for
 * all of its shards, the answers are exactly those of the shards searched in process,
 * and a process that hangs or dies mid-batch costs the search only time (its shards are
 * retried on the other process) or, with no replica left, shows as failed shards.
 */
const SHARDS = ['s0', 's1', 's2', 's3'];
const READY = /"msg":"expert ready"/;
const processes = new ProcessRegistry();
const log = createLogger({ name: 'batch-test', level: 'silent' });
let work: string;
let indexDir: string;
let nats: NatsServerHandle;
let index: LocalIndex;
let manifest: Manifest;
let client: Bus;
let view: ShardView;
let heartbeats: BusSubscription;
/** The subject of every request the searchers send, in order. */
const sent: string[] = [];

function startExpert(): DsiProcess {
  return processes.spawnDsi(['expert', '--index', indexDir, ...SHARDS.flatMap((s) => ['--shard', s]), '--nats', nats.url]);
}

async function replicaOf(expert: DsiProcess): Promise<string> {
  return (JSON.parse(await expert.waitForLine(READY, 60_000)) as { replica: string }).replica;
}

/** A searcher over the shared view whose requests are recorded in `sent`. */
function searcher(deadlineMs = 10_000): BusSearcher {
  const recording = { request: (subject: string, payload: Uint8Array, timeoutMs: number) => (sent.push(subject), client.request(subject, payload, timeoutMs)) };
  return new BusSearcher(recording, view, () => {}, { deadlineMs });
}

/** Each shard's own topics, the first likely and the others less so. */
function queries(text: string): Map<string, ShardQuery> {
  const topics = (shard: string): RoutedTopic[] => manifest.shards.find((s) => s.id === shard)!.topics.map((topic, i) => ({ topic, logp: i === 0 ? -0.05 : -3 }));
  return new Map(SHARDS.map((shard) => [shard, { query: text, topics: topics(shard), k: 5 }]));
}

/** Outcomes by shard, checked to be answers equal to the shard's expert searched here; returns which replica answered each shard. */
function answeredBy(outcomes: readonly ShardOutcome[], asked: Map<string, ShardQuery>): Record<string, string> {
  expect(outcomes.map((o) => o.shard).sort()).toEqual(SHARDS);
  const by: Record<string, string> = {};
  for (const outcome of outcomes) {
    if ('error' in outcome) throw new Error(`shard ${outcome.shard} failed: ${outcome.error.message}`);
    expect(outcome.answer.version).toBe(1);
    expect(outcome.answer.hits.length).toBeGreaterThan(0);
    expect(outcome.answer.hits).toEqual(searchExpert(index.experts.get(outcome.shard)!, asked.get(outcome.shard)!, index.config));
    by[outcome.shard] = outcome.answer.replica;
  }
  return by;
}

/** Waits until every shard has `count` usable replicas. */
async function replicasUsable(count: number): Promise<void> {
  await waitFor(async () => SHARDS.every((s) => view.usableCount(s) === count), 20_000);
}

let first: DsiProcess;
let firstId: string;

beforeAll(async () => {
  work = mkdtempSync(join(tmpdir(), 'dsi-batch-'));
  indexDir = join(work, 'index');
  [nats] = await Promise.all([startNatsServer(), buildDemoIndex(indexDir, { shards: 4 })]);
  first = startExpert();
  await initBackend({ prefer: 'wasm' });
  ({ index, manifest } = await LocalIndex.open(indexDir));
  client = await connectBus({ url: nats.url, name: 'batch-test', log });
  view = new ShardView(SHARDS);
  heartbeats = followHeartbeats(client, view, log);
  firstId = await replicaOf(first);
  await replicasUsable(1);
}, 240_000);

afterAll(async () => {
  await processes.killAll();
  await heartbeats?.drain();
  await client?.close();
  index?.dispose();
  await nats?.stop();
  if (work) rmSync(work, { recursive: true, force: true });
});

describe('batched searches', () => {
  it('asks a process serving every shard asked once, and it answers each shard as in process', async () => {
    const asked = queries('python library for parsing HTML');
    sent.length = 0;
    const by = answeredBy(await searcher().searchShards(asked), asked);
    expect(sent).toEqual([Subjects.replicaBatch(firstId)]);
    expect(Object.values(by)).toEqual(SHARDS.map(() => firstId));
    // A request of before batching, for one shard on its own subject, is still answered.
    const alone = await searcher().search('s2', asked.get('s2')!);
    expect(alone).toEqual({ replica: firstId, version: 1, hits: searchExpert(index.experts.get('s2')!, asked.get('s2')!, index.config) });
    expect(sent.at(-1)).toBe(Subjects.replicaSearch('s2', firstId));
  });

  it("answers a batch's shards one by one: a shard not served there is shard_unavailable, the others are answered", async () => {
    const asked = queries('audio player');
    const request = { v: PROTOCOL_VERSION, queries: [{ shard: 's1', ...asked.get('s1')! }, { shard: 'nope', ...asked.get('s1')! }] };
    const reply = decodeMessage(BatchSearchReplySchema, await client.request(Subjects.replicaBatch(firstId), encode(request), 10_000), 'batch reply');
    expect(reply).toMatchObject({ ok: true, replica: firstId, replies: [{ ok: true, shard: 's1', replica: firstId }, { ok: false, shard: 'nope', error: { code: ErrorCode.ShardUnavailable } }] });
    for (const bad of [{ v: PROTOCOL_VERSION, queries: [] }, { v: PROTOCOL_VERSION, queries: [{ shard: 's0', query: '', topics: [], k: 0 }] }, { v: 99, queries: request.queries }]) {
      expect(decode(await client.request(Subjects.replicaBatch(firstId), encode(bad), 10_000))).toMatchObject({ ok: false, replica: firstId, error: { code: ErrorCode.BadInput } });
    }
  });

  let second: DsiProcess;
  let secondId: string;
  let survivor: DsiProcess;

  it('spreads a search over two processes, one request each, each shard on its own process while both are idle', async () => {
    second = startExpert();
    secondId = await replicaOf(second);
    await replicasUsable(2);
    const [a, b] = [firstId, secondId].sort();
    for (const text of ['real-time strategy game', 'documentation for developers']) {
      const asked = queries(text);
      sent.length = 0;
      const by = answeredBy(await searcher().searchShards(asked), asked);
      expect([...sent].sort()).toEqual([Subjects.replicaBatch(a!), Subjects.replicaBatch(b!)]);
      expect(by).toEqual({ s0: a, s1: b, s2: a, s3: b });
    }
  });

  it("retries a hung process's shards on the other one within the deadline, then sends it nothing", async () => {
    // The process searching s0 and s2 stops answering (SIGSTOP): the batch times out at half the deadline.
    const [hung, live] = [firstId, secondId].sort() as [string, string];
    const hungProcess = hung === firstId ? first : second;
    survivor = hung === firstId ? second : first;
    hungProcess.signal('SIGSTOP');
    try {
      const asked = queries('command-line audio player');
      sent.length = 0;
      const started = performance.now();
      const by = answeredBy(await searcher(2000).searchShards(asked), asked);
      expect(performance.now() - started).toBeLessThan(2000);
      expect(by).toEqual({ s0: live, s1: live, s2: live, s3: live });
      expect(sent.filter((s) => s === Subjects.replicaBatch(hung))).toHaveLength(1);
      expect(sent.filter((s) => s === Subjects.replicaSearch('s0', live) || s === Subjects.replicaSearch('s2', live))).toHaveLength(2);
      // Marked failed, for every shard it serves: the next search goes to the live process alone, in one request.
      sent.length = 0;
      answeredBy(await searcher(2000).searchShards(asked), asked);
      expect(sent).toEqual([Subjects.replicaBatch(live)]);
    } finally {
      hungProcess.signal('SIGKILL');
    }
    await hungProcess.exited(10_000);
  });

  it('reports every shard of a process that died as failed when no replica is left, within the deadline', async () => {
    survivor.signal('SIGKILL');
    await survivor.exited(10_000);
    const started = performance.now();
    // Its heartbeats are still fresh: the router learns it is gone from the request alone.
    const outcomes = await searcher(2000).searchShards(queries('image viewer'));
    expect(performance.now() - started).toBeLessThan(2000);
    expect(outcomes.map((o) => o.shard).sort()).toEqual(SHARDS);
    for (const outcome of outcomes) {
      expect('error' in outcome && outcome.error.code).toBe(ErrorCode.ShardUnavailable);
    }
  });
});
