import type { Reporter } from 'vitest/reporters';

type Task = { type: string; mode?: string; result?: { state?: string }; tasks?: Task[] };

/**
 * Ends a run with one plain line, `tests: N passed, N failed, N skipped`, which any log
 * reader can parse without knowing vitest's colours and layout. Printed from onFinished,
 * after the default reporter's own summary.
 */
export default class PlainSummaryReporter implements Reporter {
  onFinished(files: readonly Task[] = [], errors: readonly unknown[] = []): void {
    const count = { passed: 0, failed: errors.length, skipped: 0 };
    const visit = (task: Task): void => {
      if (task.type === 'test') {
        const state = task.result?.state;
        if (state === 'pass') count.passed++;
        else if (state === 'fail') count.failed++;
        else count.skipped++;
      } else {
        if (task.type === 'suite' && task.result?.state === 'fail' && !task.tasks?.length) count.failed++;
        task.tasks?.forEach(visit);
      }
    };
    files.forEach(visit);
    process.stdout.write(`tests: ${count.passed} passed, ${count.failed} failed, ${count.skipped} skipped\n`);
  }
}
