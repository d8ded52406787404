import { Socket } from 'node:net';
import type { StdioOptions } from 'node:child_process';

/**
 * How a process that `dsi up` started learns that `dsi up` is gone, however it went
 * (SIGKILL and the out-of-memory killer included, which no handler sees): the child gets
 * one end of a pipe as file descriptor 3, `dsi up` keeps the other. When `dsi up` dies the
 * kernel closes its end and the child reads end-of-file; it then stops as on SIGTERM
 * (experts drain). Nothing is ever written: the pipe only exists to be closed.
 *
 * nats-server cannot watch a pipe: it is started through setpriv --pdeathsig instead (see
 * local-nats.ts), so the kernel sends it SIGTERM when `dsi up` dies.
 */
export const SUPERVISOR_FD = 3;
export const SUPERVISOR_FD_ENV = 'DSI_SUPERVISOR_FD';

/** The stdio of a supervised child: its first three streams as given, and the pipe from `dsi up` as fd 3. */
export function supervisedStdio(stdio: StdioOptions): StdioOptions {
  const first = typeof stdio === 'string' ? [stdio, stdio, stdio] : stdio.slice(0, SUPERVISOR_FD);
  return [...first, 'pipe'];
}

/**
 * Child side: resolves when the supervisor's end of the pipe closes, or never when this
 * process was not started by one (no DSI_SUPERVISOR_FD in its environment). The watch
 * does not keep the process alive.
 */
export function supervisorGone(env: NodeJS.ProcessEnv): Promise<void> {
  if (env[SUPERVISOR_FD_ENV] !== String(SUPERVISOR_FD)) return new Promise(() => {});
  return new Promise((resolve) => {
    let pipe: Socket;
    try {
      pipe = new Socket({ fd: SUPERVISOR_FD, readable: true, writable: false });
    } catch {
      // fd 3 is not a pipe (the variable was inherited by a process not started by dsi up): nothing to watch.
      return;
    }
    pipe.on('data', () => {});
    pipe.once('end', () => resolve());
    pipe.once('close', () => resolve());
    // A read error means the same for us: the other end is gone.
    pipe.once('error', () => resolve());
    pipe.unref();
  });
}
