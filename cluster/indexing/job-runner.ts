import type { Progress } from '../../shared/progress.ts';
import type { BuildJob, JobResult } from './jobs.ts';

/**
 * Trains a set of jobs (a build's gating model and experts, a new shard, a retrained
 * expert) wherever this runner trains them: in child processes of this machine
 * (LocalJobRunner) or on `dsi worker` processes anywhere, through a JetStream work queue
 * (QueueJobRunner). Either way, when `run` resolves each job's `outDir` holds the model it
 * trained, exactly as if it had been trained here, so what the caller does next does not
 * depend on where training happened.
 */
export interface JobRunner {
  /** Where jobs train, for the log: "2 local processes at a time", "the dsi workers on nats://…". */
  readonly where: string;
  /**
   * Resolves with the jobs' results, in the order given; rejects with the first failure,
   * naming its job. Their progress is shown as one phase of `progress` when given.
   */
  run(jobs: readonly BuildJob[], progress?: Progress): Promise<JobResult[]>;
}
