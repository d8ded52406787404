import { describe, expect, it } from 'vitest';
import { NoRespondersError } from '../shared/bus/bus-errors.ts';
import { decode, encode } from '../shared/bus/codec.ts';
import { PROTOCOL_VERSION, Subjects, type SearchReply } from '../shared/bus/protocol.ts';
import { ErrorCode, TimeoutError } from '../shared/errors.ts';
import { Fanout } from './fanout.ts';
import { ShardView } from './shard-view.ts';

/**
 * The retry and deadline rules of the fan-out, against a scripted request function (the
 * bus seam). The integration tests run the same paths against a real nats-server.
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
  const fanout = new Fanout(bus, view, (shard, _ms, outcome) => outcomes.push([shard, outcome]), { deadlineMs });
  return { fanout, view, calls, outcomes };
}

const ok = (shard: string, replica: string): SearchReply => ({ ok: true, shard, replica, version: 1, hits: [{ id: `${shard}-doc`, docid: '0-1', score: -1 }], took_ms: 1 });
const plan = (...shards: string[]) => new Map(shards.map((s) => [s, [{ topic: 0, logp: -0.1 }]]));

describe('Fanout', () => {
  it('asks every shard of the plan on a replica subject and gathers their hits', async () => {
    const { fanout, calls } = setup({ s0: ['a'], s1: ['b'] }, async (subject) => (subject.includes('s0') ? ok('s0', 'a') : ok('s1', 'b')));
    const result = await fanout.query(plan('s0', 's1'), 'q', 5);
    expect(result.failures).toEqual([]);
    expect(result.answers.map((a) => a.shard).sort()).toEqual(['s0', 's1']);
    expect(calls.map((c) => c.subject).sort()).toEqual([Subjects.replicaSearch('s0', 'a'), Subjects.replicaSearch('s1', 'b')]);
  });

  it('retries a timed-out replica on the other one, within the deadline, and stops choosing it', async () => {
    const { fanout, calls, view } = setup({ s0: ['hung', 'good'] }, async (subject, timeoutMs) => {
      if (subject.endsWith('.hung')) {
        await new Promise((r) => setTimeout(r, timeoutMs));
        throw new TimeoutError('no reply');
      }
      return ok('s0', 'good');
    });
    for (let i = 0; i < 2; i++) {
      const started = performance.now();
      const result = await fanout.query(plan('s0'), 'q', 5);
      expect(result.answers).toHaveLength(1);
      expect(performance.now() - started).toBeLessThan(300);
    }
    // The first attempt on the hung replica got half the deadline, leaving the rest to the retry; then it was avoided.
    expect(calls.filter((c) => c.subject.endsWith('.hung'))).toHaveLength(1);
    const firstBudget = calls.find((c) => c.subject.endsWith('.hung'))!.timeoutMs;
    expect(firstBudget).toBeGreaterThan(140);
    expect(firstBudget).toBeLessThanOrEqual(150);
    expect(view.usableCount('s0')).toBe(1);
  });

  it('falls back to the queue subject when no replica is known, and reports the shard missing when that fails too', async () => {
    const { fanout, calls, outcomes } = setup({ s0: [] }, async (subject) => {
      throw new NoRespondersError(subject);
    });
    const result = await fanout.query(plan('s0'), 'q', 5);
    expect(calls.map((c) => c.subject)).toEqual([Subjects.search('s0')]);
    expect(result.answers).toEqual([]);
    expect(result.failures.map((f) => [f.shard, f.error.code])).toEqual([['s0', ErrorCode.ShardUnavailable]]);
    expect(outcomes).toEqual([['s0', ErrorCode.ShardUnavailable]]);
  });

  it('does not retry a request the expert calls bad input', async () => {
    const { fanout, calls } = setup({ s0: ['a', 'b'] }, async () => ({ ok: false, shard: 's0', replica: 'a', error: { code: ErrorCode.BadInput, message: 'nope' } }));
    const result = await fanout.query(plan('s0'), 'q', 5);
    expect(calls).toHaveLength(1);
    expect(result.failures[0]!.error.code).toBe(ErrorCode.BadInput);
  });

  it('treats an unreadable reply as the replica failing, not as bad input', async () => {
    const view = new ShardView(['s0']);
    const bus = { request: async () => new Uint8Array([0xc1]) };
    const fanout = new Fanout(bus, view, () => {}, { deadlineMs: 100 });
    const result = await fanout.query(plan('s0'), 'q', 5);
    expect(result.failures[0]!.error.code).toBe(ErrorCode.Internal);
  });
});
