/**
 * Resolves on the first SIGTERM or SIGINT (with its name). Both listeners go as soon as
 * one arrives, so a second Ctrl-C meets Node's default handling and ends a shutdown
 * that hangs.
 */
export function stopSignal(): { signal: Promise<NodeJS.Signals>; dispose(): void } {
  const signals: NodeJS.Signals[] = ['SIGTERM', 'SIGINT'];
  let onSignal: (signal: NodeJS.Signals) => void = () => {};
  const dispose = () => signals.forEach((s) => process.removeListener(s, onSignal));
  const signal = new Promise<NodeJS.Signals>((resolve) => {
    onSignal = (s) => {
      dispose();
      resolve(s);
    };
  });
  signals.forEach((s) => process.on(s, onSignal));
  return { signal, dispose };
}
