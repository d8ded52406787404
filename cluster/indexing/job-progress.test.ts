import { describe, expect, it } from 'vitest';
import type { Progress } from '../../shared/progress.ts';
import { reportingProgress, TrainingProgress, type JobProgressMessage } from './job-progress.ts';

/** A Progress that remembers what it was told. */
function recorder() {
  const calls: { start?: [string, number]; advance?: [number, Record<string, string | number>]; stop?: true }[] = [];
  const progress: Progress = {
    start: (label, total) => void calls.push({ start: [label, total] }),
    advance: (done, fields = {}) => void calls.push({ advance: [done, fields] }),
    stop: () => void calls.push({ stop: true }),
  };
  return { progress, calls };
}

describe('progress of training jobs in child processes', () => {
  it('is one phase in the parent: each job its share of epochs and examples, with the jobs running named', () => {
    const { progress, calls } = recorder();
    const phase = new TrainingProgress(progress, ['gating', 'shard s0']);
    phase.begin();
    const sent: JobProgressMessage[] = [];
    const child = reportingProgress((m) => sent.push(m));
    child.start('shard s0', 100, { step: { name: 'epoch', index: 1, count: 4 }, unit: 'examples' });
    child.advance(100);
    for (const m of sent) phase.report(1, m);
    phase.finish(0);
    phase.end();
    expect(calls[0]).toEqual({ start: ['training 2 models', 2000] });
    // Epoch 2 of 4 just begun, then done: 1/4, then 2/4 of shard s0's 1000 units.
    expect(calls.slice(1, 3)).toEqual([{ advance: [250, { done: '0/2', running: 'shard s0 epoch 2/4' }] }, { advance: [500, { done: '0/2', running: 'shard s0 epoch 2/4' }] }]);
    expect(calls[3]).toEqual({ advance: [1500, { done: '1/2', running: 'shard s0 epoch 2/4' }] });
    expect(calls.at(-1)).toEqual({ stop: true });
  });

  it('reports from the child at most a few times a second, but always the start and the end of a step', () => {
    const sent: JobProgressMessage[] = [];
    const child = reportingProgress((m) => sent.push(m));
    child.start('gating', 1000);
    for (let done = 1; done <= 1000; done++) child.advance(done);
    expect(sent.map((m) => m.progress.done)).toEqual([0, 1000]);
  });
});
