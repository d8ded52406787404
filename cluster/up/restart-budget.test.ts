import { describe, expect, it } from 'vitest';
import { RestartBudget } from './restart-budget.ts';

describe('RestartBudget', () => {
  it('restarts at once, then after doubling pauses, and stops after maxRestarts within the window', () => {
    let now = 0;
    const budget = new RestartBudget({ maxRestarts: 4, windowMs: 60_000, now: () => now });
    expect([budget.nextDelayMs(), budget.nextDelayMs(), budget.nextDelayMs(), budget.nextDelayMs()]).toEqual([0, 500, 1000, 2000]);
    expect(budget.nextDelayMs()).toBeUndefined();
    now = 61_000;
    expect(budget.nextDelayMs()).toBe(0);
  });
});
