import { supervisorGone } from '../up/supervisor-link.ts';

/** Why a long-running command stops: a signal, or the `dsi up` that started it is gone. */
export type StopReason = NodeJS.Signals | 'supervisor gone';

/**
 * How long stopping may take once `dsi up` is gone: nobody waits for a graceful end then,
 * its nats-server is stopping at the same moment, and every process it started must be
 * gone within seconds (clients still sending on keep-alive connections would otherwise hold
 * a router for its whole grace period).
 */
export const SUPERVISOR_GONE_GRACE_MS = 500;

/** The grace period to stop within: the command's own, or a short one once `dsi up` is gone. */
export function graceFor(reason: StopReason, graceMs: number): number {
  return reason === 'supervisor gone' ? Math.min(graceMs, SUPERVISOR_GONE_GRACE_MS) : graceMs;
}

/** Waits for a promise, but no longer than `ms`; says whether it settled in time. */
export async function settleWithin(promise: Promise<unknown>, ms: number): Promise<boolean> {
  let timer: NodeJS.Timeout | undefined;
  const settled = promise.then(() => true, () => true);
  const result = await Promise.race([settled, new Promise<false>((resolve) => (timer = setTimeout(() => resolve(false), ms)))]);
  clearTimeout(timer);
  return result;
}

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
