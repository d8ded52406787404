import { scenario } from '../scenarios.js';
import { runScenario, type GeneratorRun } from '../node/generator.ts';
import type { Recorder } from '../node/samples.ts';

/**
 * Steady searches while a drill does its damage: the `steady` scenario at the drill's rate,
 * with fault actions run at given times from the load's start. Times are all on one clock,
 * milliseconds from that start, so a request's due time and a fault's time compare directly.
 */
export interface Fault {
  readonly atMs: number;
  readonly run: () => Promise<void>;
}

export interface LoadedRun extends GeneratorRun {
  /** ms from the load's start, for a performance.now() reading. */
  at(now: number): number;
}

export async function underLoad(
  o: { url: string; queries: readonly string[]; rate: number; durationS: number; stopWhen?: (recorder: Recorder, elapsedMs: number) => boolean; onStart?: (t0: number) => void },
  faults: readonly Fault[],
): Promise<LoadedRun> {
  const s = scenario('steady', { rate: o.rate, duration: `${o.durationS}s` });
  const actions: Promise<void>[] = [];
  const timers: NodeJS.Timeout[] = [];
  let failure: unknown;
  const run = await runScenario(s, {
    url: o.url,
    queries: o.queries,
    stopWhen: o.stopWhen,
    onStart: (t0) => {
      o.onStart?.(t0);
      for (const f of faults) {
        timers.push(
          setTimeout(() => {
            actions.push(f.run().catch((error: unknown) => void (failure ??= error)));
          }, f.atMs),
        );
      }
    },
  });
  timers.forEach(clearTimeout);
  await Promise.all(actions);
  if (failure) throw failure;
  return { ...run, at: (now) => now - run.t0 };
}

/**
 * The load of a drill that runs until a restarted part has been ready for `afterMs`: how
 * long the part takes to start depends on the machine and the shard's size, so the load's
 * length does too. Give `onStart` and `stopWhen` to underLoad; call `ready()` once the part is.
 */
export function untilReadyFor(afterMs: number): {
  onStart: (t0: number) => void;
  stopWhen: (recorder: Recorder, elapsedMs: number) => boolean;
  ready: (at?: number) => void;
  /** When the part was ready, in ms from the load's start; null when it never was. */
  readyMs: () => number | null;
} {
  let t0 = 0;
  let readyAt: number | undefined;
  return {
    onStart: (start) => void (t0 = start),
    stopWhen: (_recorder, elapsedMs) => readyAt !== undefined && elapsedMs > readyAt - t0 + afterMs,
    ready: (at = performance.now()) => void (readyAt = at),
    readyMs: () => (readyAt === undefined ? null : readyAt - t0),
  };
}
