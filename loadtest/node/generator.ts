import { isSearchAnswer, REQUEST_TIMEOUT_S, searchBody, stepAt, type Scenario } from '../scenarios.js';
import { arrivalTimes } from './arrivals.ts';
import { httpClient, type Exchange } from './http-client.ts';
import { OK, Recorder } from './samples.ts';

/**
 * Runs a scenario's searches against a router, open model: each request starts when it is
 * due, whatever earlier ones are doing, so a slow server meets the same arrival rate as a
 * fast one (no coordinated omission). At most `maxVUs` requests are in flight; an
 * iteration due while they all are is dropped and counted, as k6 does.
 */
export interface GeneratorOptions {
  readonly url: string;
  readonly queries: readonly string[];
  /** Bearer token for a router that requires one. */
  readonly token?: string;
  /** Called once, with performance.now() at the run's time zero (drills time their faults from it). */
  readonly onStart?: (t0: number) => void;
  /** Asked about once a second: true ends the run early (no more requests start; those in flight finish). */
  readonly stopWhen?: (recorder: Recorder, elapsedMs: number) => boolean;
}

export interface GeneratorRun {
  readonly recorder: Recorder;
  /** performance.now() at the run's time zero. */
  readonly t0: number;
  readonly elapsedMs: number;
  readonly stoppedEarly: boolean;
}

/** How often the scheduler wakes at most; between wakes, every request that fell due is sent. */
const MAX_SLEEP_MS = 20;

export async function runScenario(s: Scenario, options: GeneratorOptions): Promise<GeneratorRun> {
  const client = httpClient(options.url, { maxSockets: s.maxVUs, timeoutMs: REQUEST_TIMEOUT_S * 1000, headers: authHeaders(options.token) });
  const recorder = new Recorder();
  const due = arrivalTimes(s);
  const inflight = new Set<Promise<void>>();
  let n = 0;
  let stoppedEarly = false;
  let askedAt = 0;
  const t0 = performance.now();
  options.onStart?.(t0);

  const start = (dueMs: number) => {
    const step = stepAt(s, dueMs);
    if (inflight.size >= s.maxVUs) {
      recorder.drop(dueMs, step);
      return;
    }
    const lagMs = performance.now() - t0 - dueMs;
    const i = n++;
    const p = client.send('POST', '/v1/search', searchBody(options.queries, i), { 'content-type': 'application/json' }).then((x) => {
      recorder.add({ dueMs, lagMs, step, ...judge(x) });
    });
    inflight.add(p);
    void p.finally(() => inflight.delete(p));
  };

  try {
    for (let next = due.next(); !next.done; ) {
      const now = performance.now() - t0;
      while (!next.done && next.value <= now) {
        start(next.value);
        next = due.next();
      }
      if (next.done) break;
      if (options.stopWhen && now - askedAt >= 1000) {
        askedAt = now;
        if (options.stopWhen(recorder, now)) {
          stoppedEarly = true;
          break;
        }
      }
      await sleep(Math.min(MAX_SLEEP_MS, Math.max(0, next.value - (performance.now() - t0))));
    }
    await Promise.all(inflight);
  } finally {
    client.close();
  }
  return { recorder, t0, elapsedMs: performance.now() - t0, stoppedEarly };
}

/** The recorded fields of one answered (or unanswered) search. */
export function judge(x: Exchange): { ms: number; status: number; kind: string; degraded: boolean; shapeOk: boolean; detail?: string } {
  if (x.error !== undefined) return { ms: x.ms, status: 0, kind: x.error === 'timeout' ? 'timeout' : x.error, degraded: false, shapeOk: false, detail: x.error };
  const failed = x.status < 200 || x.status >= 400;
  let body: any;
  try {
    body = JSON.parse(x.body);
  } catch {
    body = undefined;
  }
  if (failed) return { ms: x.ms, status: x.status, kind: `http_${x.status}`, degraded: false, shapeOk: false, detail: body?.error ? `${body.error.code}: ${String(body.error.message).slice(0, 160)}` : x.body.slice(0, 160) };
  const shapeOk = x.status === 200 && isSearchAnswer(body);
  const degraded = shapeOk && body.degraded === true;
  return { ms: x.ms, status: x.status, kind: OK, degraded, shapeOk, ...(degraded ? { detail: (body.missing_shards as string[]).join(',') } : {}) };
}

export function authHeaders(token: string | undefined): Record<string, string> {
  return token ? { authorization: `Bearer ${token}` } : {};
}

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}
