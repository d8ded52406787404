import { reportingProgress } from '../indexing/job-progress.ts';
import { runJob, type BuildJob } from '../indexing/jobs.ts';
import { RUNTIME_FLAGS_HELP, type Command } from './context.ts';
import { startRuntime } from './runtime.ts';

/** Internal: the child side of a parallel index build. Receives one job over IPC, trains, replies. */
export const buildJobCommand: Command = {
  summary: '(internal) train one model of an index build; started by dsi index',
  usage: `dsi build-job ${RUNTIME_FLAGS_HELP}`,
  async run(_argv, ctx) {
    if (!process.send) {
      ctx.stderr.write('dsi: build-job is started by dsi index, not by hand\n');
      return 2;
    }
    const { log } = await startRuntime(ctx, 'dsi-build', {});
    // The build that started this process is gone (killed, say): its result has nowhere to go.
    process.once('disconnect', () => {
      log.warn('the build that started this job is gone; stopping');
      process.exit(1);
    });
    const job = await new Promise<BuildJob>((resolve) => process.once('message', (m: { job: BuildJob }) => resolve(m.job)));
    try {
      // Progress goes to the parent, which shows every job's as one phase.
      const result = await runJob(job, reportingProgress((message) => process.send!(message)));
      process.removeAllListeners('disconnect');
      await new Promise<void>((resolve) => process.send!({ result }, () => resolve()));
      process.disconnect?.();
      return 0;
    } catch (error) {
      process.removeAllListeners('disconnect');
      await new Promise<void>((resolve) => process.send!({ error: (error as Error).message }, () => resolve()));
      process.disconnect?.();
      return 1;
    }
  },
};
