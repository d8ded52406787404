import { spawn, type ChildProcess, type StdioOptions } from 'node:child_process';
import type { Logger } from '../../shared/log.ts';
import { SUPERVISOR_FD, SUPERVISOR_FD_ENV, supervisedStdio } from './supervisor-link.ts';

/**
 * Child processes that `dsi up` starts and owns. Each runs in its own process group
 * (detached) so a Ctrl-C at the terminal reaches only `dsi up`, which then stops the
 * children in order (router, experts, NATS) instead of all of them at once.
 */
export interface ChildExit {
  readonly name: string;
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
}

export interface ManagedChild {
  readonly name: string;
  readonly pid: number;
  /** The child's stderr when it was spawned with stderr piped, else null. */
  readonly stderr: NodeJS.ReadableStream | null;
  /** Resolves when the process has exited, however that happened. */
  readonly exited: Promise<ChildExit>;
  isRunning(): boolean;
  /** Sends `signal`, waits up to `graceMs`, then SIGKILL; resolves once the process is gone. */
  stop(signal?: NodeJS.Signals, graceMs?: number): Promise<ChildExit>;
}

export interface SpawnSpec {
  readonly name: string;
  readonly command: string;
  readonly args: readonly string[];
  readonly env: NodeJS.ProcessEnv;
  readonly stdio: StdioOptions;
  readonly cwd?: string;
  /** Give the child the pipe it watches to stop when this process dies (supervisor-link.ts) as its fd 3. */
  readonly supervised?: boolean;
}

export function spawnChild(spec: SpawnSpec, log: Logger): ManagedChild {
  const stdio = spec.supervised ? supervisedStdio(spec.stdio) : spec.stdio;
  const env = spec.supervised ? { ...spec.env, [SUPERVISOR_FD_ENV]: String(SUPERVISOR_FD) } : spec.env;
  const child: ChildProcess = spawn(spec.command, [...spec.args], { env, stdio, cwd: spec.cwd, detached: true });
  let running = true;
  const exited = new Promise<ChildExit>((resolve) => {
    child.once('error', (error) => {
      running = false;
      log.error({ child: spec.name, err: error.message }, 'could not start');
      resolve({ name: spec.name, code: null, signal: null });
    });
    child.once('exit', (code, signal) => {
      running = false;
      resolve({ name: spec.name, code, signal });
    });
  });
  return {
    name: spec.name,
    pid: child.pid ?? -1,
    stderr: child.stderr,
    exited,
    isRunning: () => running,
    async stop(signal = 'SIGTERM', graceMs = 10_000) {
      if (!running) return exited;
      child.kill(signal);
      const timer = setTimeout(() => {
        log.warn({ child: spec.name, pid: child.pid, grace_ms: graceMs }, 'did not stop in time; killing');
        child.kill('SIGKILL');
      }, graceMs);
      const exit = await exited;
      clearTimeout(timer);
      return exit;
    },
  };
}

export function describeExit(exit: ChildExit): string {
  return `${exit.name} exited ${exit.signal ? `on ${exit.signal}` : `with code ${exit.code}`}`;
}
