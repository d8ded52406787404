import { describe, expect, it } from 'vitest';
import { NoRespondersError } from '../bus/bus-errors.ts';
import { decode, encode } from '../bus/codec.ts';
import { PROTOCOL_VERSION, Subjects, type SearchReply } from '../bus/protocol.ts';
import { ShardView } from '../bus/shard-view.ts';
import { DsiError, ErrorCode, TimeoutError } from '../errors.ts';
import { BusSearcher } from './bus-searcher.ts';
import type { ShardOutcome } from './shard-searcher.ts';

/**
 * The retry and deadline rules of the bus searcher, against a scripted request function
 * (the bus seam). shard-searcher.test.ts runs the same searcher against a real
 * nats-server and real experts.
 */
type Script = (subject: string, timeoutMs: number) => Promise<SearchReply>;

function setup(replicas: Record<string, string[]>, script: Script, deadlineMs = 300) {
  const view = new ShardView(Object.keys(replicas));
  for (const [shard, ids] of Object.entries(replicas)) {
    for (const replica of ids) view.observe({ v: PROTOCOL_VERSION, shard, replica, version: 1, topics: [0], docs: 1, pid: 1, inflight: 0, served: 0, started_at: '', draining: false });
  }
  const calls: { subject: string; timeoutMs: number }[] = [];
  const outcomes: [string, string][] = [];
  const bus = {
    async request(subject: string, payload: Uint8Array, timeoutMs: number) {
      expect((decode(payload) as { v: number }).v).toBe(PROTOCOL_VERSION);
      calls.push({ subject, timeoutMs });
      return encode(await script(subject, timeoutMs));
    },
  };
  const searcher = new BusSearcher(bus, view, (shard, _ms, outcome) => outcomes.push([shard, outcome]), { deadlineMs });
  return { searcher, view, calls, outcomes };
}

const ok = (shard: string, replica: string): SearchReply => ({ ok: true, shard, replica, version: 1, hits: [{ id: `${shard}-doc`, docid: '0-1', score: -1 }], took_ms: 1 });
const query = { query: 'q', topics: [{ topic: 0, logp: -0.1 }], k: 5 };

async function failureOf(promise: Promise<unknown>): Promise<DsiError> {
  const error = await promise.then(() => undefined, (e: unknown) => e);
  expect(error).toBeInstanceOf(DsiError);
  return error as DsiError;
}

describe('BusSearcher', () => {
  it('asks a shard on a live replica subject and hands back its hits, replica and version', async () => {
    const { searcher, calls } = setup({ s0: ['a'], s1: ['b'] }, async (subject) => (subject.includes('s0') ? ok('s0', 'a') : ok('s1', 'b')));
    const answers = await Promise.all([searcher.search('s0', query), searcher.search('s1', query)]);
    expect(answers).toEqual([
      { replica: 'a', version: 1, hits: [{ id: 's0-doc', docid: '0-1', score: -1 }] },
      { replica: 'b', version: 1, hits: [{ id: 's1-doc', docid: '0-1', score: -1 }] },
    ]);
    expect(calls.map((c) => c.subject).sort()).toEqual([Subjects.replicaSearch('s0', 'a'), Subjects.replicaSearch('s1', 'b')]);
  });

  it('retries a timed-out replica on the other one, within the deadline, and stops choosing it', async () => {
    const { searcher, calls, view } = setup({ s0: ['hung', 'next'] }, async (subject, timeoutMs) => {
      if (subject.endsWith('.hung')) {
        await new Promise((r) => setTimeout(r, timeoutMs));
        throw new TimeoutError('no reply');
      }
      return ok('s0', 'next');
    });
    for (let i = 0; i < 2; i++) {
      const started = performance.now();
      expect(await searcher.search('s0', query)).toMatchObject({ replica: 'next' });
      expect(performance.now() - started).toBeLessThan(300);
    }
    // The first attempt on the hung replica got half the deadline, leaving the rest to the retry; then it was avoided.
    expect(calls.filter((c) => c.subject.endsWith('.hung'))).toHaveLength(1);
    const firstBudget = calls.find((c) => c.subject.endsWith('.hung'))!.timeoutMs;
    expect(firstBudget).toBeGreaterThan(140);
    expect(firstBudget).toBeLessThanOrEqual(150);
    expect(view.usableCount('s0')).toBe(1);
  });

  it('falls back to the queue subject when no replica is known, and fails with shard_unavailable when that fails too', async () => {
    const { searcher, calls, outcomes } = setup({ s0: [] }, async (subject) => {
      throw new NoRespondersError(subject);
    });
    const error = await failureOf(searcher.search('s0', query));
    expect(calls.map((c) => c.subject)).toEqual([Subjects.search('s0')]);
    expect(error.code).toBe(ErrorCode.ShardUnavailable);
    expect(outcomes).toEqual([['s0', ErrorCode.ShardUnavailable]]);
  });

  it('does not retry a request the expert calls bad input', async () => {
    const { searcher, calls } = setup({ s0: ['a', 'b'] }, async () => ({ ok: false, shard: 's0', replica: 'a', error: { code: ErrorCode.BadInput, message: 'nope' } }));
    const error = await failureOf(searcher.search('s0', query));
    expect(calls).toHaveLength(1);
    expect(error.code).toBe(ErrorCode.BadInput);
  });

  it('treats an unreadable reply as the replica failing, not as bad input', async () => {
    const view = new ShardView(['s0']);
    const bus = { request: async () => new Uint8Array([0xc1]) };
    const searcher = new BusSearcher(bus, view, () => {}, { deadlineMs: 100 });
    expect((await failureOf(searcher.search('s0', query))).code).toBe(ErrorCode.Internal);
  });

  describe('batches', () => {
    /** Replicas a and b, each a process serving s0 and s1 and announcing batches; `part` scripts each shard's part of a batch reply. */
    function batched(part: (replica: string, shard: string) => SearchReply | undefined, alone: Script = async (subject) => ok(subject.split('.')[2]!, subject.split('.')[3]!)) {
      const view = new ShardView(['s0', 's1']);
      for (const shard of ['s0', 's1']) for (const replica of ['a', 'b']) view.observe({ v: PROTOCOL_VERSION, shard, replica, version: 1, topics: [0], docs: 1, pid: 1, inflight: 0, served: 0, started_at: '', draining: false, batch: true });
      const calls: string[] = [];
      const bus = {
        async request(subject: string, payload: Uint8Array, timeoutMs: number) {
          calls.push(subject);
          if (!subject.startsWith('dsi.batch.')) return encode(await alone(subject, timeoutMs));
          const replica = subject.slice('dsi.batch.'.length);
          const { shards } = decode(payload) as { shards: { shard: string }[] };
          return encode({ ok: true, replica, replies: shards.map((q) => part(replica, q.shard)).filter((r) => r !== undefined) });
        },
      };
      return { searcher: new BusSearcher(bus, view, () => {}, { deadlineMs: 300 }), calls };
    }
    const both = new Map([['s0', query], ['s1', query]]);
    const byShard = (outcomes: ShardOutcome[]) => [...outcomes].sort((x, y) => x.shard.localeCompare(y.shard));

    it("asks a process serving every shard of a search once, and reads each shard's answer from its reply", async () => {
      const { searcher, calls } = batched((replica, shard) => ok(shard, replica));
      expect(byShard(await searcher.searchShards(both))).toEqual([
        { shard: 's0', answer: { replica: 'a', version: 1, hits: [{ id: 's0-doc', docid: '0-1', score: -1 }] } },
        { shard: 's1', answer: { replica: 'a', version: 1, hits: [{ id: 's1-doc', docid: '0-1', score: -1 }] } },
      ]);
      expect(calls).toEqual([Subjects.replicaBatch('a')]);
    });

    it('carries the query once per batch: a shard asked another query than its batch is asked on its own', async () => {
      const { searcher, calls } = batched((replica, shard) => ok(shard, replica));
      const outcomes = await searcher.searchShards(new Map([['s0', query], ['s1', { ...query, query: 'another' }]]));
      expect(outcomes.every((o) => 'answer' in o)).toBe(true);
      expect(calls).toEqual([Subjects.replicaSearch('s1', 'b'), Subjects.replicaBatch('a')]);
    });

    it('sends the next search to the other process while the first is busy', async () => {
      const { searcher, calls } = batched((replica, shard) => ok(shard, replica));
      const [first, second] = await Promise.all([searcher.searchShards(both), searcher.searchShards(both)]);
      expect(first.map((o) => 'answer' in o && o.answer.replica)).toEqual(['a', 'a']);
      expect(second.map((o) => 'answer' in o && o.answer.replica)).toEqual(['b', 'b']);
      expect(calls).toEqual([Subjects.replicaBatch('a'), Subjects.replicaBatch('b')]);
    });

    it("retries alone, on the other replica, a shard whose part failed or is missing; the rest of the batch stands", async () => {
      const unavailable = (replica: string, shard: string): SearchReply => ({ ok: false, shard, replica, error: { code: ErrorCode.ShardUnavailable, message: 'not here' } });
      for (const part of [unavailable, () => undefined]) {
        const { searcher, calls } = batched((replica, shard) => (shard === 's0' ? part(replica, shard) : ok(shard, replica)));
        const outcomes = byShard(await searcher.searchShards(both));
        expect(outcomes.map((o) => ('answer' in o ? [o.shard, o.answer.replica] : [o.shard, o.error.code]))).toEqual([['s0', 'b'], ['s1', 'a']]);
        expect(calls).toEqual([Subjects.replicaBatch('a'), Subjects.replicaSearch('s0', 'b')]);
      }
    });

    it("does not retry a shard whose part is bad input, and reports it failed", async () => {
      const { searcher, calls } = batched((replica, shard) => (shard === 's0' ? { ok: false, shard, replica, error: { code: ErrorCode.BadInput, message: 'nope' } } : ok(shard, replica)));
      const outcomes = byShard(await searcher.searchShards(both));
      expect(outcomes.map((o) => ('answer' in o ? o.answer.replica : o.error.code))).toEqual([ErrorCode.BadInput, 'a']);
      expect(calls).toHaveLength(1);
    });
  });
});
