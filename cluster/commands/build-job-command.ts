import { createProgress } from '../../shared/progress.ts';
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
    const job = await new Promise<BuildJob>((resolve) => process.once('message', (m: { job: BuildJob }) => resolve(m.job)));
    try {
      const result = await runJob(job, createProgress({ tty: false, log, intervalMs: 15_000 }));
      await new Promise<void>((resolve) => process.send!({ result }, () => resolve()));
      process.disconnect?.();
      return 0;
    } catch (error) {
      await new Promise<void>((resolve) => process.send!({ error: (error as Error).message }, () => resolve()));
      process.disconnect?.();
      return 1;
    }
  },
};
