import type { AppDeps } from '../../router/app.ts';
import { DEFAULT_LIMITS } from '../../router/config.ts';
import { RouterMetrics } from '../../router/metrics.ts';
import { ShardView } from '../../shared/bus/shard-view.ts';
import { NotFoundError } from '../../shared/errors.ts';
import { createLogger } from '../../shared/log.ts';

/** An empty search answer, for apps whose search is not what a test is about. */
export const EMPTY_ANSWER = { results: [], routed: [], took_ms: 0, degraded: false, missing_shards: [], answered_by: [] };

/** Dependencies of createApp with a stub search and no shards: for tests of what happens around a search (auth, limits, routes). */
export function stubAppDeps(overrides: Partial<AppDeps> = {}): AppDeps {
  return {
    limits: DEFAULT_LIMITS,
    search: { search: async () => EMPTY_ANSWER },
    documents: { find: async (id) => Promise.reject(new NotFoundError(`no document with id '${id}'`)) },
    status: { shards: () => [], readiness: () => ({ ready: true, reasons: [] }), gatingVersion: () => 1 },
    metrics: new RouterMetrics(() => [], new ShardView([])),
    log: createLogger({ name: 'app-test', level: 'silent' }),
    ...overrides,
  };
}
