import { SingleBar, Presets } from 'cli-progress';
import type { Logger } from './log.ts';

/**
 * Progress of long work: one bar per phase on a terminal, periodic log lines with rate and
 * ETA elsewhere. A phase may run in steps of equal size (the epochs of a training): each
 * step starts with the same label and its index, and the bar runs on across them.
 */
export interface ProgressStep {
  /** What a step is ("epoch"). */
  readonly name: string;
  /** 0-based. */
  readonly index: number;
  readonly count: number;
}

export interface ProgressOptions {
  readonly step?: ProgressStep;
  /** What the units are ("examples"): shown with their count and rate; without one, only the percentage. */
  readonly unit?: string;
}

export interface Progress {
  start(label: string, total: number, options?: ProgressOptions): void;
  advance(done: number, fields?: Record<string, string | number>): void;
  stop(): void;
}

export function createProgress(options: { tty: boolean; log: Logger; intervalMs?: number }): Progress {
  return options.tty ? new BarProgress() : new LogProgress(options.log, options.intervalMs ?? 10_000);
}

/** `epoch 2/6`; nothing for a phase of one step. */
function stepWords(step: ProgressStep | undefined): string {
  return step && step.count > 1 ? `${step.name} ${step.index + 1}/${step.count}` : '';
}

function fieldWords(fields: Record<string, string | number>): string {
  return Object.entries(fields).map(([k, v]) => `${k} ${v}`).join(' · ');
}

class BarProgress implements Progress {
  #bar: SingleBar | undefined;
  #label = '';
  #unit: string | undefined;
  /** Units done in the steps before the current one, and the size of a step. */
  #offset = 0;
  #stepTotal = 0;
  #step: ProgressStep | undefined;
  #started = 0;

  start(label: string, total: number, options: ProgressOptions = {}): void {
    const { step } = options;
    const continuing = this.#bar !== undefined && label === this.#label && step !== undefined && step.index > 0;
    this.#step = step;
    this.#stepTotal = total;
    if (continuing) {
      this.#offset = step.index * total;
      this.#bar!.setTotal(step.count * total);
      return;
    }
    this.#bar?.stop();
    this.#label = label;
    this.#unit = options.unit;
    this.#offset = 0;
    this.#started = performance.now();
    this.#bar = new SingleBar({ format: `${label.padEnd(14)} {bar} {percentage}% | ETA {eta_formatted} | {info}`, hideCursor: true, etaBuffer: 50 }, Presets.shades_classic);
    this.#bar.start((step?.count ?? 1) * total, 0, { info: '' });
  }

  advance(done: number, fields: Record<string, string | number> = {}): void {
    if (!this.#bar) return;
    const value = this.#offset + done;
    const words = [stepWords(this.#step)];
    if (this.#unit) {
      const rate = Math.round(value / Math.max((performance.now() - this.#started) / 1000, 1e-3));
      words.push(`${done.toLocaleString('en')}/${this.#stepTotal.toLocaleString('en')} ${this.#unit}`, `${rate.toLocaleString('en')}/s`);
    }
    words.push(fieldWords(fields));
    this.#bar.update(value, { info: words.filter(Boolean).join(' · ') });
  }

  stop(): void {
    // A phase in steps keeps its bar until its last step ends.
    if (this.#step && this.#step.index < this.#step.count - 1) return;
    this.#bar?.stop();
    this.#bar = undefined;
  }
}

class LogProgress implements Progress {
  readonly #log: Logger;
  readonly #intervalMs: number;
  #label = '';
  #total = 0;
  #unit: string | undefined;
  #step: ProgressStep | undefined;
  #started = 0;
  #lastLog = 0;

  constructor(log: Logger, intervalMs: number) {
    this.#log = log;
    this.#intervalMs = intervalMs;
  }

  start(label: string, total: number, options: ProgressOptions = {}): void {
    this.#label = label;
    this.#total = total;
    this.#unit = options.unit;
    this.#step = options.step;
    this.#started = this.#lastLog = performance.now();
  }

  advance(done: number, fields: Record<string, string | number> = {}): void {
    const now = performance.now();
    if (now - this.#lastLog < this.#intervalMs && done < this.#total) return;
    this.#lastLog = now;
    const seconds = (now - this.#started) / 1000;
    const rate = done / Math.max(seconds, 1e-3);
    const eta = rate > 0 ? Math.round((this.#total - done) / rate) : null;
    const step = this.#step ? { [this.#step.name]: `${this.#step.index + 1}/${this.#step.count}` } : {};
    const amount = this.#unit ? `${done}/${this.#total} ${this.#unit}` : `${Math.round((100 * done) / Math.max(this.#total, 1))}%`;
    this.#log.info({ task: this.#label, ...step, done, total: this.#total, rate_per_s: Math.round(rate), eta_s: eta, ...fields }, `${this.#label} ${stepWords(this.#step)} ${amount}`.replace(/ +/g, ' '));
  }

  stop(): void {}
}
