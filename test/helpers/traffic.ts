/**
 * HTTP clients for integration tests: searches against a router, and steady traffic
 * from a few clients while something is done to the cluster, with every outcome kept.
 */
export interface SearchBody {
  results: { id: string; docid: string; shard: string; title: string }[];
  routed: { topic: number; p: number }[];
  degraded: boolean;
  missing_shards: string[];
  answered_by: { shard: string; replica: string; version: number }[];
}

export interface Outcome {
  status: number;
  degraded: boolean;
  ms: number;
  /** Model version of each shard that answered. */
  versions: Record<string, number>;
  /** Wall-clock time the answer arrived (performance.now()). */
  at: number;
  error?: string;
}

export async function search(base: string, query: string, k?: number): Promise<{ status: number; body: SearchBody }> {
  const response = await fetch(`${base}/v1/search`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(k === undefined ? { query } : { query, k }) });
  return { status: response.status, body: (await response.json()) as SearchBody };
}

/** Clients sending searches back to back from start() until the promise returned by stop() resolves with every outcome. */
export function startTraffic(base: string, queries: readonly string[], clients = 4): { outcomes: Outcome[]; stop(): Promise<Outcome[]> } {
  const outcomes: Outcome[] = [];
  let stopped = false;
  let next = 0;
  const client = async () => {
    while (!stopped) {
      const query = queries[next++ % queries.length]!;
      const started = performance.now();
      try {
        const { status, body } = await search(base, query);
        const versions = Object.fromEntries((body.answered_by ?? []).map((a) => [a.shard, a.version]));
        outcomes.push({ status, degraded: body.degraded, ms: performance.now() - started, versions, at: performance.now(), ...(status === 200 ? {} : { error: JSON.stringify(body) }) });
      } catch (error) {
        outcomes.push({ status: 0, degraded: false, ms: performance.now() - started, versions: {}, at: performance.now(), error: (error as Error).message });
      }
    }
  };
  const running = Array.from({ length: clients }, client);
  return {
    outcomes,
    async stop() {
      stopped = true;
      await Promise.all(running);
      return outcomes;
    },
  };
}

/** Traffic while `during` runs, starting a moment before it and ending a moment after. */
export async function underTraffic(base: string, queries: readonly string[], during: () => Promise<void>): Promise<Outcome[]> {
  const traffic = startTraffic(base, queries);
  await sleep(300);
  await during();
  await sleep(700);
  return traffic.stop();
}

export function failedOutcomes(outcomes: readonly Outcome[]): Outcome[] {
  return outcomes.filter((o) => o.status !== 200 || o.degraded);
}

export function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

/** Polls `check` every `intervalMs` until it holds (a throw counts as not yet), or throws after `timeoutMs`. */
export async function waitFor(check: () => Promise<boolean>, timeoutMs: number, intervalMs = 100): Promise<void> {
  const deadline = performance.now() + timeoutMs;
  for (;;) {
    try {
      if (await check()) return;
    } catch {
      // not up yet
    }
    if (performance.now() > deadline) throw new Error(`condition not met within ${timeoutMs} ms`);
    await sleep(intervalMs);
  }
}
