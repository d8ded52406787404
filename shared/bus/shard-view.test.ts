import { describe, expect, it } from 'vitest';
import { PROTOCOL_VERSION, Subjects, type Heartbeat } from './protocol.ts';
import { ShardView } from './shard-view.ts';

function beat(shard: string, replica: string, extra: Partial<Heartbeat> = {}): Heartbeat {
  return { v: PROTOCOL_VERSION, shard, replica, version: 1, topics: [0], docs: 10, pid: 1, inflight: 0, served: 0, started_at: '2026-01-01T00:00:00Z', draining: false, ...extra };
}

function viewAt(shards: string[]) {
  const clock = { now: 0 };
  const view = new ShardView(shards, { timeoutMs: 3500, now: () => clock.now });
  return { view, clock };
}

describe('ShardView', () => {
  it('knows no replica until one heartbeats, then chooses it', () => {
    const { view } = viewAt(['s0']);
    expect(view.choose('s0')?.replica).toBeUndefined();
    expect(view.uncovered()).toEqual(['s0']);
    expect(view.observe(beat('s0', 'a'))).toBe(true);
    expect(view.choose('s0')).toEqual({ replica: 'a', subjects: { search: Subjects.replicaSearch('s0', 'a'), doc: Subjects.replicaDoc('s0', 'a') } });
    expect(view.uncovered()).toEqual([]);
  });

  it('drops a replica whose heartbeats stop, and takes it back when they resume', () => {
    const { view, clock } = viewAt(['s0']);
    view.observe(beat('s0', 'a'));
    clock.now = 3499;
    expect(view.choose('s0')?.replica).toBe('a');
    clock.now = 3500;
    expect(view.choose('s0')?.replica).toBeUndefined();
    expect(view.liveReplicas('s0')).toEqual([]);
    view.observe(beat('s0', 'a'));
    expect(view.choose('s0')?.replica).toBe('a');
  });

  it('never chooses a draining replica', () => {
    const { view } = viewAt(['s0']);
    view.observe(beat('s0', 'a'));
    view.observe(beat('s0', 'b'));
    view.observe(beat('s0', 'a', { draining: true }));
    for (let i = 0; i < 5; i++) expect(view.choose('s0')?.replica).toBe('b');
    expect(view.liveReplicas('s0').map((r) => r.replica)).toEqual(['b']);
  });

  it('stops choosing a replica that failed until its next heartbeat, for every shard of its process', () => {
    const { view } = viewAt(['s0', 's1']);
    for (const shard of ['s0', 's1']) for (const replica of ['a', 'b']) view.observe(beat(shard, replica));
    view.markFailed('a');
    for (let i = 0; i < 5; i++) expect([view.choose('s0')?.replica, view.choose('s1')?.replica]).toEqual(['b', 'b']);
    expect(view.usableCount('s0')).toBe(1);
    view.observe(beat('s0', 'a'));
    expect(view.usableCount('s0')).toBe(2);
  });

  it("gives each shard the same replica while they are equally busy, shards spread over replicas by rank, and passes a busier one over", () => {
    const { view } = viewAt(['s0', 's1']);
    // Heard from in the other order than their ids: the preference follows ids, not arrival.
    for (const shard of ['s0', 's1']) for (const replica of ['b', 'a']) view.observe(beat(shard, replica));
    for (let i = 0; i < 4; i++) expect([view.choose('s0')?.replica, view.choose('s1')?.replica]).toEqual(['a', 'b']);
    const end = view.begin('s0', 'a');
    for (let i = 0; i < 4; i++) expect(view.choose('s0')?.replica).toBe('b');
    end();
    expect(view.choose('s0')?.replica).toBe('a');
  });

  it('counts a process serving several shards as one: the shards of a search spread over the processes', () => {
    const { view } = viewAt(['s0', 's1', 's2', 's3']);
    // Two processes, each a replica of every shard.
    for (const shard of ['s0', 's1', 's2', 's3']) for (const replica of ['a', 'b']) view.observe(beat(shard, replica));
    const ends = ['s0', 's1', 's2', 's3'].map((shard) => {
      const target = view.choose(shard)!;
      return { replica: target.replica, end: view.begin(shard, target.replica) };
    });
    expect(ends.map((e) => e.replica)).toEqual(['a', 'b', 'a', 'b']);
    for (const e of ends) e.end();
    // Two shards whose own replica is the same process still go to both when asked together.
    const pair = ['s0', 's2'].map((shard) => {
      const target = view.choose(shard)!;
      return { replica: target.replica, end: view.begin(shard, target.replica) };
    });
    expect(pair.map((e) => e.replica)).toEqual(['a', 'b']);
    for (const e of pair) e.end();
  });

  it('keeps to the preferred replicas (those a search already asks) when one of them is live', () => {
    const { view } = viewAt(['s0', 's1']);
    for (const shard of ['s0', 's1']) for (const replica of ['a', 'b', 'c']) view.observe(beat(shard, replica));
    const busy = [view.begin('s0', 'b'), view.begin('s0', 'b')];
    expect(view.choose('s0', undefined, new Set(['b']))?.replica).toBe('b');
    expect(view.choose('s0', undefined, new Set(['b', 'c']))?.replica).toBe('c');
    view.markFailed('b');
    expect(view.choose('s0', undefined, new Set(['b']))?.replica).toBe('a');
    for (const end of busy) end();
  });

  it('honours exclusions (the replica a retry must avoid)', () => {
    const { view } = viewAt(['s0']);
    view.observe(beat('s0', 'a'));
    view.observe(beat('s0', 'b'));
    for (let i = 0; i < 4; i++) expect(view.choose('s0', new Set(['a']))?.replica).toBe('b');
    expect(view.choose('s0', new Set(['a', 'b']))).toBeUndefined();
  });

  it('ignores invalid heartbeats and shards the index does not have', () => {
    const { view } = viewAt(['s0']);
    expect(view.observe({ hello: 1 })).toBe(false);
    expect(view.observe(beat('s9', 'a'))).toBe(false);
    expect(view.observe({ ...beat('s0', 'a'), v: 99 })).toBe(false);
    expect(view.replicas('s0')).toEqual([]);
  });

  it('forgets replicas silent for long, so restarts do not pile up', () => {
    const { view, clock } = viewAt(['s0']);
    view.observe(beat('s0', 'old'));
    clock.now = 100_000;
    view.observe(beat('s0', 'new'));
    expect(view.replicas('s0').map((r) => r.replica)).toEqual(['new']);
  });
});
