import { fork, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import type { Logger } from '../../shared/log.ts';
import { DsiError, ErrorCode } from '../../shared/errors.ts';
import { jobLabel, jobSize, type BuildJob, type JobResult } from './jobs.ts';

const DSI_BIN = fileURLToPath(new URL('../../bin/dsi.js', import.meta.url));

export interface JobRunnerOptions {
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
export async function runJobs(jobs: readonly BuildJob[], options: JobRunnerOptions): Promise<JobResult[]> {
  const order = jobs.map((job, i) => ({ job, i, size: jobSize(job) })).sort((a, b) => b.size - a.size);
  const results = new Array<JobResult>(jobs.length);
  const running = new Set<ChildProcess>();
  let next = 0;
  let failure: { error: unknown } | undefined;
  const worker = async () => {
    while (next < order.length && !failure) {
      const { job, i } = order[next++]!;
      try {
        results[i] = await runInChild(job, options, running);
      } catch (error) {
        // The other jobs' output is of no use now, and a child still writing would leave
        // files behind after the caller has cleaned up: stop them, then report the first failure.
        failure ??= { error };
        for (const child of running) child.kill('SIGTERM');
        return;
      }
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, Math.min(options.parallel, jobs.length)) }, worker));
  if (failure) throw failure.error;
  return results;
}

function runInChild(job: BuildJob, options: JobRunnerOptions, running: Set<ChildProcess>): Promise<JobResult> {
  return new Promise((resolve, reject) => {
    const child = fork(DSI_BIN, ['build-job'], { serialization: 'advanced', env: options.env, stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
    running.add(child);
    child.on('exit', () => running.delete(child));
    let result: JobResult | undefined;
    let failure: string | undefined;
    child.on('message', (message: { result?: JobResult; error?: string }) => {
      if (message.result) result = message.result;
      if (message.error) failure = message.error;
    });
    child.on('error', reject);
    child.on('exit', (code, signal) => {
      if (result && code === 0) resolve(result);
      else reject(new DsiError(ErrorCode.Internal, `training ${jobLabel(job)} failed: ${failure ?? `process exited with ${signal ?? code}`}`));
    });
    child.send({ job });
    options.log.info({ job: jobLabel(job), pid: child.pid }, 'training started');
  });
}
