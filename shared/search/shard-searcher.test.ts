import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { LocalIndex } from '../../cluster/local-index.ts';
import { demoQueries } from '../../test/helpers/demo-index.ts';
import { ExpertFleet } from '../../test/helpers/expert-fleet.ts';
import { waitFor } from '../../test/helpers/traffic.ts';
import type { Manifest } from '../artifact/manifest.ts';
import type { RoutedTopic } from '../bus/protocol.ts';
import { DsiError, ErrorCode } from '../errors.ts';
import { tfMemory } from '../model/backend.ts';
import { searchExpert } from '../model/expert/search-expert.ts';
import { BusSearcher } from './bus-searcher.ts';
import { Engine } from './engine.ts';
import { InProcessSearcher } from './in-process-searcher.ts';
import type { ShardSearcher } from './shard-searcher.ts';

/**
 * The contract every ShardSearcher keeps, run against both: the experts loaded in this
 * process, and the same shards served by `dsi expert` processes on a real nats-server and
 * asked over the bus. Either must answer exactly what the shard's expert answers, so the
 * engine gives the same results whichever it runs over.
 */
let fleet: ExpertFleet;
let index: LocalIndex;
let manifest: Manifest;
const searchers = new Map<string, ShardSearcher>();

beforeAll(async () => {
  fleet = await ExpertFleet.start({ name: 'searcher-test', shards: ['s0', 's1'], experts: [['s0'], ['s1']] });
  ({ index, manifest } = fleet);
  await Promise.all(fleet.experts.map((e) => e.waitForLine(/"msg":"expert ready"/)));
  await waitFor(async () => fleet.view.uncovered().length === 0, 10_000);
  searchers.set('in process', new InProcessSearcher(index.experts, index.config));
  searchers.set('over the bus', new BusSearcher(fleet.client, fleet.view, () => {}, { deadlineMs: 10_000 }));
}, 180_000);

afterAll(async () => {
  await fleet?.stop();
});

const QUERIES = ['real-time strategy game', 'python library for parsing HTML', 'command-line audio player', 'documentation for developers'];

/** The shard's own topics, the first likely and the others less so. */
function ownTopics(shard: string): RoutedTopic[] {
  return manifest.shards.find((s) => s.id === shard)!.topics.map((topic, i) => ({ topic, logp: i === 0 ? -0.05 : -3 }));
}

async function failureOf(promise: Promise<unknown>): Promise<DsiError> {
  const error = await promise.then(() => undefined, (e: unknown) => e);
  expect(error).toBeInstanceOf(DsiError);
  return error as DsiError;
}

describe.each(['in process', 'over the bus'])('ShardSearcher %s', (name) => {
  const searcher = () => searchers.get(name)!;

  it("answers a shard's topics with at most k of its documents, best first, exactly as its expert does", async () => {
    for (const shard of ['s0', 's1']) {
      const held = new Set(index.experts.get(shard)!.docIds);
      for (const query of QUERIES) {
        const request = { query, topics: ownTopics(shard), k: 5 };
        const answer = await searcher().search(shard, request);
        expect(answer.hits.length).toBeGreaterThan(0);
        expect(answer.hits.length).toBeLessThanOrEqual(5);
        for (const hit of answer.hits) {
          expect(held.has(hit.id)).toBe(true);
          expect(hit.docid).toMatch(/^\d+(-\d+)+$/);
          expect(Number.isFinite(hit.score)).toBe(true);
        }
        expect(answer.hits.map((h) => h.score)).toEqual([...answer.hits.map((h) => h.score)].sort((a, b) => b - a));
        expect(answer.hits).toEqual(searchExpert(index.experts.get(shard)!, request, index.config));
      }
    }
  });

  it('names the replica and the model version that answered', async () => {
    const answer = await searcher().search('s0', { query: 'image viewer', topics: ownTopics('s0'), k: 3 });
    expect(answer.replica).toMatch(/\S/);
    expect(answer.version).toBe(1);
  });

  it('skips topics the shard does not hold: routed only to those, it finds nothing', async () => {
    const foreign = ownTopics('s1');
    const answer = await searcher().search('s0', { query: 'real-time strategy game', topics: foreign, k: 5 });
    expect(answer.hits).toEqual([]);
  });

  it('decodes a beam at least k wide: k above the index beam width gives k hits', async () => {
    const k = index.config.decode.beamWidth + 8;
    const answer = await searcher().search('s0', { query: 'library', topics: ownTopics('s0'), k });
    expect(answer.hits).toHaveLength(k);
  });

  it('refuses a shard no one serves with shard_unavailable', async () => {
    const error = await failureOf(searcher().search('nope', { query: 'x', topics: [{ topic: 0, logp: 0 }], k: 3 }));
    expect(error.code).toBe(ErrorCode.ShardUnavailable);
  });

  it('gives the engine the same results as the other searcher', async () => {
    const other = [...searchers].find(([n]) => n !== name)![1];
    const mine = new Engine(index.routing, searcher());
    const theirs = new Engine(index.routing, other);
    for (const query of demoQueries(60)) {
      for (const [k, fanout] of [[10, undefined], [3, 1]] as const) {
        const [a, b] = await Promise.all([mine.search(query, { k, fanout }), theirs.search(query, { k, fanout })]);
        expect(a.failures).toEqual([]);
        expect(a.hits).toEqual(b.hits);
        expect(a.routed).toEqual(b.routed);
      }
    }
  });
});

describe('InProcessSearcher', () => {
  it('leaks no tensors', async () => {
    const searcher = searchers.get('in process')!;
    await searcher.search('s0', { query: 'warm up', topics: ownTopics('s0'), k: 5 });
    const before = tfMemory().numTensors;
    for (const query of QUERIES) await searcher.search('s0', { query, topics: ownTopics('s0'), k: 10 });
    expect(tfMemory().numTensors).toBe(before);
  });
});
