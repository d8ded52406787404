import { parseDuration, type Scenario } from '../scenarios.js';
import { withinKnee } from './result.ts';
import type { Recorder } from './samples.ts';

/**
 * When a ramp may stop: two steps in a row over the knee's limits. One step over could be
 * a blip (a GC pause, a neighbour on the machine); two say the cluster is past its knee,
 * and going on would only pile up requests. A step is judged once the next one's rise is
 * over, so its slowest requests have had time to come back.
 */
export function rampStopper(s: Scenario): ((recorder: Recorder, elapsedMs: number) => boolean) | undefined {
  if (!s.steps) return undefined;
  const rise = parseDuration(s.steps.rise);
  const period = rise + parseDuration(s.steps.hold);
  const count = s.steps.rates.length;
  return (recorder, elapsedMs) => {
    const judged = Math.min(count, Math.floor((elapsedMs - rise) / period));
    let over = 0;
    for (let step = 0; step < judged; step++) {
      over = withinKnee(recorder.figures((x) => x.step === step)) ? 0 : over + 1;
      if (over >= 2) return true;
    }
    return false;
  };
}
