import { spawn, type ChildProcess } from 'node:child_process';
import { processExists } from '../../cluster/up/process-exists.ts';
import { REPO_ROOT } from './cli.ts';

/**
 * Long-running `dsi` subcommands (experts, routers) as real child processes: their output
 * is captured line by line so a test can wait for a log line, signal them, and check how
 * they exit. A ProcessRegistry owns the children of one test file and kills whatever is
 * left in afterAll, or with SIGKILL if the test process exits first.
 */
export interface Exit {
  code: number | null;
  signal: NodeJS.Signals | null;
}

export interface DsiProcess {
  readonly args: readonly string[];
  readonly pid: number;
  /** Every complete line of stdout and stderr so far, in arrival order. */
  lines(): readonly string[];
  stdout(): string;
  stderr(): string;
  /** Resolves with the first line (already seen or still to come) matching the pattern; rejects if the process exits or time runs out first. */
  waitForLine(pattern: RegExp, timeoutMs?: number): Promise<string>;
  /** Lines that parse as JSON (pino's output), e.g. to read fields of a log line. */
  logs(): Record<string, unknown>[];
  signal(signal?: NodeJS.Signals): void;
  /** Resolves when the process has exited; rejects after timeoutMs. */
  exited(timeoutMs?: number): Promise<Exit>;
  /** SIGTERM, then SIGKILL if it has not exited within timeoutMs. */
  stop(timeoutMs?: number): Promise<Exit>;
}

/** Flags for child processes that tests rely on: the portable backend and machine-readable logs. */
export const TEST_CHILD_ENV: Readonly<Record<string, string>> = Object.freeze({ DSI_BACKEND: 'wasm', DSI_LOG_JSON: '1', DSI_LOG_LEVEL: 'info' });

const DEFAULT_WAIT_MS = 60_000;

export class ProcessRegistry {
  readonly #live = new Set<ChildProcess>();
  readonly #killOnExit = () => {
    for (const child of this.#live) child.kill('SIGKILL');
  };

  constructor() {
    process.once('exit', this.#killOnExit);
  }

  /** Starts `node bin/dsi.js ...args` with TEST_CHILD_ENV and the given extra environment. */
  spawnDsi(args: readonly string[], env: Record<string, string> = {}): DsiProcess {
    const child = spawn(process.execPath, [`${REPO_ROOT}bin/dsi.js`, ...args], {
      cwd: REPO_ROOT,
      env: { ...process.env, ...TEST_CHILD_ENV, ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    this.#live.add(child);
    child.once('exit', () => this.#live.delete(child));
    return watch(child, args);
  }

  /** Kills every child still running (SIGTERM, then SIGKILL) and waits for them. */
  async killAll(timeoutMs = 5_000): Promise<void> {
    await Promise.all([...this.#live].map((child) => terminate(child, timeoutMs)));
    process.removeListener('exit', this.#killOnExit);
  }
}

function watch(child: ChildProcess, args: readonly string[]): DsiProcess {
  const lines: string[] = [];
  const streams = { stdout: '', stderr: '' };
  const waiters = new Set<() => void>();
  // 'close' rather than 'exit': it comes after the output streams have ended, so every line is in.
  let closed = false;
  const exit = new Promise<Exit>((resolve) =>
    child.once('close', (code, signal) => {
      closed = true;
      resolve({ code, signal });
      waiters.forEach((w) => w());
    }),
  );

  for (const name of ['stdout', 'stderr'] as const) {
    let partial = '';
    child[name]!.on('data', (chunk: Buffer) => {
      const text = chunk.toString();
      streams[name] += text;
      const parts = (partial + text).split('\n');
      partial = parts.pop() ?? '';
      if (parts.length === 0) return;
      lines.push(...parts);
      waiters.forEach((w) => w());
    });
    child[name]!.on('end', () => {
      if (partial) lines.push(partial);
      partial = '';
      waiters.forEach((w) => w());
    });
  }

  const exited = (timeoutMs = DEFAULT_WAIT_MS): Promise<Exit> =>
    withTimeout(exit, timeoutMs, () => `dsi ${args.join(' ')} did not exit within ${timeoutMs} ms\n${tail(lines)}`);

  return {
    args,
    pid: child.pid ?? -1,
    lines: () => lines,
    stdout: () => streams.stdout,
    stderr: () => streams.stderr,
    logs: () => lines.flatMap((l) => (l.startsWith('{') ? [tryJson(l)] : [])).filter((l): l is Record<string, unknown> => l !== undefined),
    waitForLine(pattern, timeoutMs = DEFAULT_WAIT_MS) {
      return new Promise<string>((resolve, reject) => {
        let seen = 0;
        const check = () => {
          for (; seen < lines.length; seen++) {
            if (pattern.test(lines[seen]!)) return done(() => resolve(lines[seen]!));
          }
          if (closed) {
            done(() => reject(new Error(`dsi ${args.join(' ')} exited (${child.exitCode ?? child.signalCode}) before a line matched ${pattern}\n${tail(lines)}`)));
          }
        };
        const timer = setTimeout(() => done(() => reject(new Error(`no line matched ${pattern} within ${timeoutMs} ms\n${tail(lines)}`))), timeoutMs);
        const done = (settle: () => void) => {
          clearTimeout(timer);
          waiters.delete(check);
          settle();
        };
        waiters.add(check);
        check();
      });
    },
    signal(signal = 'SIGTERM') {
      child.kill(signal);
    },
    exited,
    stop: (timeoutMs = 10_000) => terminate(child, timeoutMs).then(() => exit),
  };
}

async function terminate(child: ChildProcess, timeoutMs: number): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const gone = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  child.kill('SIGTERM');
  const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
  await gone;
  clearTimeout(timer);
}

function withTimeout<T>(promise: Promise<T>, ms: number, message: () => string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new Error(message())), ms)));
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

function tryJson(line: string): Record<string, unknown> | undefined {
  try {
    return JSON.parse(line) as Record<string, unknown>;
  } catch {
    return undefined;
  }
}

function tail(lines: readonly string[]): string {
  return lines.slice(-20).join('\n');
}

/** Whether a process with this pid is running (a zombie, exited but not yet reaped, is not). */
export const isAlive = processExists;
