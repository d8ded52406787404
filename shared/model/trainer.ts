import { setImmediate as yieldToEventLoop } from 'node:timers/promises';
import { mulberry32, shuffleInPlace } from '../util/random.ts';
import type { Progress } from '../progress.ts';

export interface TrainSchedule {
  epochs: number;
  batchSize: number;
  seed: number;
}

export interface TrainReport {
  examples: number;
  seconds: number;
  examplesPerSecond: number;
  /** Mean loss of each epoch. */
  losses: number[];
}

/**
 * Runs epochs of shuffled mini-batches through a model's step function. Yields to the
 * event loop between batches so signals and log flushes are not starved by training.
 */
export async function trainEpochs<E>(
  label: string,
  schedule: Readonly<TrainSchedule>,
  epochExamples: (epoch: number, rand: () => number) => E[],
  step: (batch: E[], epoch: number) => number,
  progress: Progress,
): Promise<TrainReport> {
  const rand = mulberry32(schedule.seed);
  const started = performance.now();
  const losses: number[] = [];
  let seen = 0;
  for (let epoch = 0; epoch < schedule.epochs; epoch++) {
    const examples = epochExamples(epoch, rand);
    const order = Int32Array.from(examples.keys());
    shuffleInPlace(order, rand);
    progress.start(label, examples.length, { step: { name: 'epoch', index: epoch, count: schedule.epochs }, unit: 'examples' });
    let lossSum = 0;
    let batches = 0;
    for (let start = 0; start < order.length; start += schedule.batchSize) {
      const batch = Array.from(order.subarray(start, start + schedule.batchSize), (i) => examples[i]!);
      lossSum += step(batch, epoch);
      batches++;
      seen += batch.length;
      progress.advance(Math.min(start + schedule.batchSize, order.length), { loss: (lossSum / batches).toFixed(3) });
      if (batches % 8 === 0) await yieldToEventLoop();
    }
    progress.stop();
    losses.push(batches > 0 ? lossSum / batches : 0);
  }
  const seconds = (performance.now() - started) / 1000;
  return { examples: seen, seconds, examplesPerSecond: seen / Math.max(seconds, 1e-9), losses };
}
