import { createProgress } from '../../shared/progress.ts';
import { trainQueuedJob } from '../distributed/queued-job.ts';
import { reportingProgress } from '../indexing/job-progress.ts';
import type { BuildJobRequest } from '../indexing/local-job-runner.ts';
import { runJob } from '../indexing/jobs.ts';
import { RUNTIME_FLAGS_HELP, type Command } from './context.ts';
import { natsAddress } from './nats-flags.ts';
import { startRuntime } from './runtime.ts';

/**
 * Internal: the child side of a training job. Receives one request over IPC (a job to
 * train, or a queued job's ticket to fetch, train and store, for a dsi worker), replies
 * with the result or the error, and exits. A child whose parent dies stops at once: its
 * work would reach no one (a worker's job is delivered again elsewhere).
 */
export const buildJobCommand: Command = {
  summary: '(internal) train one model of an index build; started by dsi index and dsi worker',
  usage: `dsi build-job ${RUNTIME_FLAGS_HELP}`,
  async run(_argv, ctx) {
    if (!process.send) {
      ctx.stderr.write('dsi: build-job is started by dsi index or dsi worker, not by hand\n');
      return 2;
    }
    let replied = false;
    process.once('disconnect', () => {
      if (!replied) process.exit(1);
    });
    const { log } = await startRuntime(ctx, 'dsi-build', {});
    const request = await new Promise<BuildJobRequest>((resolve) => process.once('message', (m: BuildJobRequest) => resolve(m)));
    const reply = async (message: { result: unknown } | { error: string }) => {
      replied = true;
      await new Promise<void>((resolve) => process.send!(message, () => resolve()));
      process.disconnect?.();
    };
    try {
      // A local job's progress goes to the parent, which shows every job's as one phase; a
      // worker's job logs a line now and then on the worker's machine.
      const result =
        'job' in request
          ? await runJob(request.job, reportingProgress((message) => process.send!(message)))
          : await trainQueuedJob(request.ticket, natsAddress({}, ctx.env), log, createProgress({ tty: false, log, intervalMs: 15_000 }));
      await reply({ result });
      return 0;
    } catch (error) {
      await reply({ error: (error as Error).message });
      return 1;
    }
  },
};
