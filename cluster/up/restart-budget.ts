/**
 * How often `dsi up` restarts a child that died: at once the first time, then after a
 * doubling pause (0.5 s, 1 s, 2 s … up to 30 s), and not at all once it has died
 * `maxRestarts` times within `windowMs`: a child that cannot stay up is a fault to report,
 * not to hide by restarting it forever.
 */
export class RestartBudget {
  readonly #maxRestarts: number;
  readonly #windowMs: number;
  readonly #now: () => number;
  readonly #restarts: number[] = [];

  constructor(options: { maxRestarts?: number; windowMs?: number; now?: () => number } = {}) {
    this.#maxRestarts = options.maxRestarts ?? 5;
    this.#windowMs = options.windowMs ?? 60_000;
    this.#now = options.now ?? (() => performance.now());
  }

  /** The pause before the next restart, or undefined when the budget is spent. */
  nextDelayMs(): number | undefined {
    const now = this.#now();
    while (this.#restarts.length > 0 && now - this.#restarts[0]! > this.#windowMs) this.#restarts.shift();
    if (this.#restarts.length >= this.#maxRestarts) return undefined;
    const delay = this.#restarts.length === 0 ? 0 : Math.min(30_000, 500 * 2 ** (this.#restarts.length - 1));
    this.#restarts.push(now);
    return delay;
  }
}
