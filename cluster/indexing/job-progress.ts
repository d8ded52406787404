import type { Progress, ProgressOptions } from '../../shared/progress.ts';

/**
 * Progress of training jobs that run in child processes, shown by the parent as one
 * phase: each child reports its progress over its IPC channel instead of logging it, and
 * the parent draws one bar for all of them (or logs one line now and then), naming the
 * jobs running. A person sees one bar for the phase, not a line per epoch per job.
 */
export interface JobProgressMessage {
  readonly progress: { readonly label: string; readonly done: number; readonly total: number; readonly options: ProgressOptions };
}

/** How often a child reports, at most: a bar redrawn a few times a second is smooth enough. */
const REPORT_MS = 250;

/** Child side: a Progress that sends its state to the parent. */
export function reportingProgress(send: (message: JobProgressMessage) => void): Progress {
  let current = { label: '', total: 0, options: {} as ProgressOptions };
  let last = 0;
  return {
    start(label, total, options = {}) {
      current = { label, total, options };
      last = performance.now();
      send({ progress: { ...current, done: 0 } });
    },
    advance(done) {
      const now = performance.now();
      if (now - last < REPORT_MS && done < current.total) return;
      last = now;
      send({ progress: { ...current, done } });
    },
    stop() {},
  };
}

const UNITS_PER_JOB = 1000;

/** Parent side: the jobs' reports as one phase of `progress`. */
export class TrainingProgress {
  readonly #progress: Progress;
  readonly #labels: readonly string[];
  /** Share of each job done, 0…1; undefined until it starts. */
  readonly #share: (number | undefined)[];
  readonly #running = new Map<number, string>();

  constructor(progress: Progress, labels: readonly string[]) {
    this.#progress = progress;
    this.#labels = labels;
    this.#share = labels.map(() => undefined);
  }

  begin(): void {
    this.#progress.start(`training ${this.#labels.length === 1 ? this.#labels[0] : `${this.#labels.length} models`}`, this.#labels.length * UNITS_PER_JOB);
  }

  report(job: number, { progress }: JobProgressMessage): void {
    const step = progress.options.step;
    const inStep = progress.total > 0 ? progress.done / progress.total : 0;
    this.#share[job] = step ? (step.index + inStep) / step.count : inStep;
    this.#running.set(job, step && step.count > 1 ? `${progress.label} ${step.name} ${step.index + 1}/${step.count}` : progress.label);
    this.#draw();
  }

  finish(job: number): void {
    this.#share[job] = 1;
    this.#running.delete(job);
    this.#draw();
  }

  end(): void {
    this.#progress.stop();
  }

  #draw(): void {
    const done = this.#share.reduce<number>((sum, s) => sum + (s ?? 0), 0);
    const finished = this.#share.filter((s) => s === 1).length;
    this.#progress.advance(Math.round(done * UNITS_PER_JOB), { done: `${finished}/${this.#labels.length}`, running: [...this.#running.values()].join(', ') || '-' });
  }
}
