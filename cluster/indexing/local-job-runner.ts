import { fork, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import type { Logger } from '../../shared/log.ts';
import { JobFailedError } from '../../shared/errors.ts';
import type { Progress } from '../../shared/progress.ts';
import type { JobRunner } from './job-runner.ts';
import { TrainingProgress, type JobProgressMessage } from './job-progress.ts';
import { jobLabel, jobSize, type BuildJob, type JobResult } from './jobs.ts';

const DSI_BIN = fileURLToPath(new URL('../../bin/dsi.js', import.meta.url));

export interface LocalJobRunnerOptions {
  /** Jobs run at once, each in its own process (the wasm backend uses one core per process). */
  parallel: number;
  log: Logger;
  /** Environment of the child processes (backend choice, log level). */
  env: NodeJS.ProcessEnv;
}

/**
 * Runs training jobs in child processes, at most `parallel` at a time, largest first so
 * the last one to start is a short one. Processes, not threads: each child has its own
 * TensorFlow.js engine and its memory is returned to the system when it exits.
 */
export class LocalJobRunner implements JobRunner {
  readonly where: string;
  readonly #o: LocalJobRunnerOptions;

  constructor(options: LocalJobRunnerOptions) {
    this.#o = options;
    this.where = `local processes, ${options.parallel} at a time`;
  }

  async run(jobs: readonly BuildJob[], progress?: Progress): Promise<JobResult[]> {
    const { log, env } = this.#o;
    log.info({ jobs: jobs.length, parallel: this.#o.parallel }, `training in ${this.where}`);
    const order = jobs.map((job, i) => ({ job, i, size: jobSize(job) })).sort((a, b) => b.size - a.size);
    const results = new Array<JobResult>(jobs.length);
    const running = new Set<ChildProcess>();
    let next = 0;
    let failure: { error: unknown } | undefined;
    const shown = progress ? new TrainingProgress(progress, jobs.map(jobLabel)) : undefined;
    shown?.begin();
    const slot = async () => {
      while (next < order.length && !failure) {
        const { job, i } = order[next++]!;
        try {
          results[i] = await trainInChild<JobResult>({ job }, jobLabel(job), { env, log, running, quiet: true, onProgress: (message) => shown?.report(i, message) });
          shown?.finish(i);
        } catch (error) {
          // The other jobs' output is of no use now, and a child still writing would leave
          // files behind after the caller has cleaned up: stop them, then report the first failure.
          failure ??= { error };
          for (const child of running) child.kill('SIGTERM');
          return;
        }
      }
    };
    await Promise.all(Array.from({ length: Math.max(1, Math.min(this.#o.parallel, jobs.length)) }, slot));
    shown?.end();
    if (failure) throw failure.error;
    return results;
  }
}

/** What a `dsi build-job` child is asked (see build-job-command.ts): a job to train here, or a queued job to fetch, train and store. */
export type BuildJobRequest = { job: BuildJob } | { ticket: unknown };

/**
 * Forks one `dsi build-job` child, sends it `request` over IPC and resolves with its
 * `result`; rejects, naming `label`, when it reports an error or exits without a result.
 * The child is in `running` while it lives, for whoever must stop it.
 */
export function trainInChild<R>(request: BuildJobRequest, label: string, o: { env: NodeJS.ProcessEnv; log: Logger; running: Set<ChildProcess>; onProgress?: (message: JobProgressMessage) => void; quiet?: boolean }): Promise<R> {
  return new Promise((resolve, reject) => {
    const child = fork(DSI_BIN, ['build-job'], { serialization: 'advanced', env: o.env, stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
    o.running.add(child);
    child.on('exit', () => o.running.delete(child));
    let result: R | undefined;
    let failure: string | undefined;
    child.on('message', (message: { result?: R; error?: string } & Partial<JobProgressMessage>) => {
      if (message.progress) o.onProgress?.(message as JobProgressMessage);
      if (message.result) result = message.result;
      if (message.error) failure = message.error;
    });
    child.on('error', reject);
    child.on('exit', (code, signal) => {
      if (result && code === 0) resolve(result);
      else reject(new JobFailedError(label, failure ?? `process exited with ${signal ?? code}`));
    });
    child.send(request);
    // A build shows its jobs as one progress bar (quiet); a worker's log is its story.
    (o.quiet ? o.log.debug : o.log.info).call(o.log, { job: label, pid: child.pid }, 'training started');
  });
}
