import { SingleBar, Presets } from 'cli-progress';
import type { Logger } from './log.ts';

/** Progress of long work: a bar on a terminal, periodic log lines with rate and ETA elsewhere. */
export interface Progress {
  start(label: string, total: number): void;
  advance(done: number, fields?: Record<string, string | number>): void;
  stop(): void;
}

export function createProgress(options: { tty: boolean; log: Logger; intervalMs?: number }): Progress {
  return options.tty ? new BarProgress() : new LogProgress(options.log, options.intervalMs ?? 10_000);
}

class BarProgress implements Progress {
  #bar: SingleBar | undefined;

  start(label: string, total: number): void {
    this.#bar = new SingleBar(
      { format: `${label.padEnd(14)} {bar} {percentage}% | {value}/{total} | {rate}/s | ETA {eta_formatted} | {info}`, hideCursor: true },
      Presets.shades_classic,
    );
    this.#bar.start(total, 0, { rate: 0, info: '' });
    this.#started = performance.now();
  }

  #started = 0;

  advance(done: number, fields: Record<string, string | number> = {}): void {
    const rate = Math.round(done / Math.max((performance.now() - this.#started) / 1000, 1e-3));
    const info = Object.entries(fields).map(([k, v]) => `${k} ${v}`).join(' ');
    this.#bar?.update(done, { rate, info });
  }

  stop(): void {
    this.#bar?.stop();
    this.#bar = undefined;
  }
}

class LogProgress implements Progress {
  readonly #log: Logger;
  readonly #intervalMs: number;
  #label = '';
  #total = 0;
  #started = 0;
  #lastLog = 0;

  constructor(log: Logger, intervalMs: number) {
    this.#log = log;
    this.#intervalMs = intervalMs;
  }

  start(label: string, total: number): void {
    this.#label = label;
    this.#total = total;
    this.#started = this.#lastLog = performance.now();
  }

  advance(done: number, fields: Record<string, string | number> = {}): void {
    const now = performance.now();
    if (now - this.#lastLog < this.#intervalMs && done < this.#total) return;
    this.#lastLog = now;
    const seconds = (now - this.#started) / 1000;
    const rate = done / Math.max(seconds, 1e-3);
    const eta = rate > 0 ? Math.round((this.#total - done) / rate) : null;
    this.#log.info({ task: this.#label, done, total: this.#total, rate_per_s: Math.round(rate), eta_s: eta, ...fields }, `${this.#label} ${done}/${this.#total}`);
  }

  stop(): void {}
}
