import { supervisorGone } from '../up/supervisor-link.ts';

/** Why a long-running command stops: a signal, or the `dsi up` that started it is gone. */
export type StopReason = NodeJS.Signals | 'supervisor gone';

/**
 * Resolves on the first SIGTERM or SIGINT (with its name), or, for a process `dsi up`
 * started, when `dsi up` dies (see supervisor-link.ts), so every way to stop goes through
 * the same graceful path. Both signal listeners go as soon as one arrives, so a second
 * Ctrl-C meets Node's default handling and ends a shutdown that hangs.
 */
export function stopSignal(env: NodeJS.ProcessEnv = {}): { signal: Promise<StopReason>; dispose(): void } {
  const signals: NodeJS.Signals[] = ['SIGTERM', 'SIGINT'];
  let onSignal: (reason: StopReason) => void = () => {};
  const dispose = () => signals.forEach((s) => process.removeListener(s, onSignal));
  const signal = new Promise<StopReason>((resolve) => {
    onSignal = (reason) => {
      dispose();
      resolve(reason);
    };
  });
  signals.forEach((s) => process.on(s, onSignal));
  void supervisorGone(env).then(() => onSignal('supervisor gone'));
  return { signal, dispose };
}
