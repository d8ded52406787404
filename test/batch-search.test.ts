import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { LocalIndex } from '../cluster/local-index.ts';
import type { Manifest } from '../shared/artifact/manifest.ts';
import { decode, encode } from '../shared/bus/codec.ts';
import type { Bus } from '../shared/bus/connection.ts';
import { decodeMessage } from '../shared/bus/decode-message.ts';
import { BatchSearchReplySchema, PROTOCOL_VERSION, Subjects, type RoutedTopic, type ShardQuery } from '../shared/bus/protocol.ts';
import type { ShardView } from '../shared/bus/shard-view.ts';
import { ErrorCode } from '../shared/errors.ts';
import { searchExpert } from '../shared/model/expert/search-expert.ts';
import { BusSearcher } from '../shared/search/bus-searcher.ts';
import type { ShardOutcome } from '../shared/search/shard-searcher.ts';
import { ExpertFleet } from './helpers/expert-fleet.ts';
import type { DsiProcess } from './helpers/processes.ts';
import { waitFor } from './helpers/traffic.ts';

/**
 * Batched searches on a real nats-server with real `dsi expert` processes serving a
 * 4-shard index: a search sends each process it needs one request for all of its shards,
 * the answers are exactly those of the shards searched in process, and a process that
 * hangs or dies mid-batch costs the search only time (its shards are retried on another
 * replica) or, with no replica left, shows as failed shards while the others answer.
 */
const SHARDS = ['s0', 's1', 's2', 's3'];
const READY = /"msg":"expert ready"/;
let fleet: ExpertFleet;
let index: LocalIndex;
let manifest: Manifest;
let client: Bus;
let view: ShardView;
/** The subject of every request the searchers send, in order. */
const sent: string[] = [];

function startExpert(shards: readonly string[]): DsiProcess {
  return fleet.startExpert(shards);
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

/** Waits until each shard has as many usable replicas as `counts` says. */
async function usable(counts: Record<string, number>): Promise<void> {
  await waitFor(async () => Object.entries(counts).every(([s, n]) => view.usableCount(s) === n), 20_000);
}

/** Two processes of two shards each; a third, of all four, joins later. */
const low = { process: undefined as unknown as DsiProcess, id: '' };
const high = { process: undefined as unknown as DsiProcess, id: '' };

beforeAll(async () => {
  fleet = await ExpertFleet.start({ name: 'batch-test', shards: SHARDS, demo: { shards: 4, epochs: 1 }, experts: [['s0', 's1'], ['s2', 's3']] });
  ({ index, manifest, client, view } = fleet);
  [low.process, high.process] = fleet.experts;
  [low.id, high.id] = await Promise.all([replicaOf(low.process), replicaOf(high.process)]);
  await usable({ s0: 1, s1: 1, s2: 1, s3: 1 });
}, 240_000);

afterAll(async () => {
  await fleet?.stop();
});

describe('batched searches', () => {
  it('asks each process a search needs once, for all of its shards, and each shard answers as in process', async () => {
    for (const text of ['python library for parsing HTML', 'real-time strategy game']) {
      const asked = queries(text);
      sent.length = 0;
      const by = answeredBy(await searcher().searchShards(asked), asked);
      expect([...sent].sort()).toEqual([Subjects.replicaBatch(low.id), Subjects.replicaBatch(high.id)].sort());
      expect(by).toEqual({ s0: low.id, s1: low.id, s2: high.id, s3: high.id });
    }
    // A request of before batching, for one shard on its own subject, is still answered.
    const asked = queries('documentation for developers');
    const alone = await searcher().search('s2', asked.get('s2')!);
    expect(alone).toEqual({ replica: high.id, version: 1, hits: searchExpert(index.experts.get('s2')!, asked.get('s2')!, index.config) });
    expect(sent.at(-1)).toBe(Subjects.replicaSearch('s2', high.id));
  });

  it("answers a batch's shards one by one: a shard not served there is shard_unavailable, the others are answered", async () => {
    const asked = queries('audio player');
    const { topics: _t, otherTopics: _o, ...common } = asked.get('s1')!;
    const request = { v: PROTOCOL_VERSION, ...common, shards: ['s1', 's2'].map((shard) => ({ shard, topics: asked.get(shard)!.topics })) };
    const reply = decodeMessage(BatchSearchReplySchema, await client.request(Subjects.replicaBatch(low.id), encode(request), 10_000), 'batch reply');
    expect(reply).toMatchObject({ ok: true, replica: low.id, replies: [{ ok: true, shard: 's1', replica: low.id }, { ok: false, shard: 's2', error: { code: ErrorCode.ShardUnavailable } }] });
    const s1 = reply.ok ? reply.replies[0]! : undefined;
    expect(s1?.ok && s1.hits).toEqual(searchExpert(index.experts.get('s1')!, asked.get('s1')!, index.config));
    for (const bad of [{ ...request, shards: [] }, { ...request, k: 0 }, { ...request, shards: [{ shard: 's0', topics: [] }] }, { ...request, v: 99 }]) {
      expect(decode(await client.request(Subjects.replicaBatch(low.id), encode(bad), 10_000))).toMatchObject({ ok: false, replica: low.id, error: { code: ErrorCode.BadInput } });
    }
  });

  const all = { process: undefined as unknown as DsiProcess, id: '' };

  it("retries a hung process's shards on another replica within the deadline, then sends it nothing", async () => {
    all.process = startExpert(SHARDS);
    all.id = await replicaOf(all.process);
    await usable({ s0: 2, s1: 2, s2: 2, s3: 2 });
    // The process the next search sends s0 and s1 to stops answering (SIGSTOP): its batch times out at half the deadline.
    const hung = view.choose('s0')!.replica === low.id ? low : all;
    const other = hung === low ? all : low;
    hung.process.signal('SIGSTOP');
    try {
      const asked = new Map([...queries('command-line audio player')].filter(([shard]) => shard === 's0' || shard === 's1'));
      sent.length = 0;
      const started = performance.now();
      const outcomes = await searcher(2000).searchShards(asked);
      expect(performance.now() - started).toBeLessThan(2000);
      expect(outcomes.map((o) => ('answer' in o ? [o.shard, o.answer.replica] : [o.shard, o.error.message])).sort()).toEqual([['s0', other.id], ['s1', other.id]]);
      expect(sent.slice(0, 1)).toEqual([Subjects.replicaBatch(hung.id)]);
      expect(sent.slice(1).sort()).toEqual([Subjects.replicaSearch('s0', other.id), Subjects.replicaSearch('s1', other.id)]);
      // Marked failed, for every shard it serves: the next search goes to the others alone, one request each.
      sent.length = 0;
      const by = answeredBy(await searcher(2000).searchShards(queries('image viewer')), queries('image viewer'));
      expect(sent).not.toContain(Subjects.replicaBatch(hung.id));
      expect(Object.values(by)).not.toContain(hung.id);
      expect(sent).toHaveLength(new Set(Object.values(by)).size);
    } finally {
      hung.process.signal('SIGKILL');
    }
    await hung.process.exited(10_000);
    // The last replica of s0 and s1 dies too: only the process of s2 and s3 is left.
    other.process.signal('SIGKILL');
    await other.process.exited(10_000);
  });

  it('reports the shards of a process that died as failed when no replica of them is left, and answers the others', async () => {
    const asked = queries('image viewer');
    const started = performance.now();
    // Heartbeats of the dead are still fresh: the router learns they are gone from its requests alone.
    const outcomes = await searcher(2000).searchShards(asked);
    expect(performance.now() - started).toBeLessThan(2000);
    const byShard = Object.fromEntries(outcomes.map((o) => [o.shard, 'answer' in o ? o.answer.replica : o.error.code]));
    expect(byShard).toEqual({ s0: ErrorCode.ShardUnavailable, s1: ErrorCode.ShardUnavailable, s2: high.id, s3: high.id });
  });
});
