import { Hono, type Context } from 'hono';
import { bodyLimit } from 'hono/body-limit';
import { HTTPException } from 'hono/http-exception';
import { routePath } from 'hono/route';
import type { ContentfulStatusCode } from 'hono/utils/http-status';
import { DsiError, ErrorCode, NotFoundError, PayloadTooLargeError, RateLimitedError } from '../shared/errors.ts';
import type { Logger } from '../shared/log.ts';
import { bearerAuth } from './auth.ts';
import { busGate } from './bus-gate.ts';
import { DEFAULT_ACCESS, type AccessConfig, type RequestLimits } from './config.ts';
import type { DocumentLookup } from './documents.ts';
import type { RouterMetrics } from './metrics.ts';
import { rateLimit, RateLimiter } from './rate-limit.ts';
import type { SearchService } from './search.ts';
import { searchBodyParser } from './search-body.ts';
import type { ClusterStatus } from './status.ts';
import { OPENAPI_PATH, openApiDocument } from './api/openapi.ts';
import { PAGE_PATHS } from './status-page/paths.ts';
import { mountStatusPage } from './status-page/routes.ts';
import { TrafficHistory } from './status-page/traffic-history.ts';

/** HTTP routes of the router and nothing else: the work happens in what it is given. */
export interface AppDeps {
  readonly limits: RequestLimits;
  /** Bearer tokens and the per-client rate limit; none of either when absent. */
  readonly access?: AccessConfig;
  /** Whether the router has its NATS connection: searches and document requests get a quick 503 while it has not. */
  readonly busConnected?: () => boolean;
  readonly search: Pick<SearchService, 'search'>;
  /** Document records, from the shards that hold them. */
  readonly documents: Pick<DocumentLookup, 'find'>;
  readonly status: Pick<ClusterStatus, 'shards' | 'readiness' | 'gatingVersion'>;
  readonly metrics: RouterMetrics;
  readonly log: Logger;
  /** Searches per second and latency over the last minutes, for the status page; one of its own when absent. */
  readonly traffic?: TrafficHistory;
}

/** The one place an error code becomes an HTTP status. */
const STATUS_OF_CODE: Readonly<Record<ErrorCode, ContentfulStatusCode>> = {
  [ErrorCode.BadInput]: 400,
  [ErrorCode.NotFound]: 404,
  [ErrorCode.PayloadTooLarge]: 413,
  [ErrorCode.Unauthorized]: 401,
  [ErrorCode.RateLimited]: 429,
  [ErrorCode.ShardUnavailable]: 503,
  [ErrorCode.BusUnavailable]: 503,
  [ErrorCode.Timeout]: 504,
  [ErrorCode.CollectionFormat]: 500,
  [ErrorCode.ArtifactInvalid]: 500,
  [ErrorCode.BackendUnavailable]: 500,
  [ErrorCode.Internal]: 500,
};

/**
 * Probes stay open: orchestrators call them without credentials, and they must not be rate
 * limited away. So does the status page's shell, which holds no data: a browser cannot put
 * a bearer token on a page it navigates to, and the page's own API calls carry the token.
 */
const OPEN_PATHS: ReadonlySet<string> = new Set(['/healthz', '/readyz', ...Object.values(PAGE_PATHS)]);

const SEARCH_ROUTE = '/v1/search';

/** Label for requests that matched no route, so typos and scanners cannot blow up the metric's cardinality. */
const UNMATCHED = 'unmatched';

export function createApp(deps: AppDeps): Hono {
  const { limits, search, documents, status, metrics, log } = deps;
  const gate = busGate(deps.busConnected ?? (() => true));
  const parseSearchBody = searchBodyParser(limits);
  const traffic = deps.traffic ?? new TrafficHistory();
  const openApi = JSON.stringify(openApiDocument(limits));
  const app = new Hono();

  const respondError = (c: Context, error: unknown): Response => {
    const { status: httpStatus, code, message } = describeError(error);
    metrics.countError(code);
    // 503/504 are the cluster's state (a shard down), not a fault here: warn, and keep error for bugs.
    if (httpStatus === 500) log.error({ err: error, method: c.req.method, path: c.req.path, code }, 'request failed');
    else if (httpStatus >= 500) log.warn({ method: c.req.method, path: c.req.path, code, message }, 'request not served');
    else log.debug({ method: c.req.method, path: c.req.path, code, message }, 'request refused');
    if (error instanceof RateLimitedError) c.header('retry-after', String(error.retryAfterS));
    if (code === ErrorCode.Unauthorized) c.header('www-authenticate', 'Bearer');
    // The rest of a body refused unread would otherwise be taken for the next request on the
    // connection: close it, so the client does not reuse it (and reset its next request).
    if (code === ErrorCode.PayloadTooLarge) c.header('connection', 'close');
    return c.json({ error: { code, message } }, httpStatus);
  };
  app.onError((error, c) => respondError(c, error));
  app.notFound((c) => respondError(c, new NotFoundError(`no route ${c.req.method} ${c.req.path}`)));

  app.use('*', async (c, next) => {
    const started = performance.now();
    await next();
    const route = routePath(c, -1);
    const ms = performance.now() - started;
    metrics.observeHttp(route === '*' || route === '/*' ? UNMATCHED : route, c.req.method, c.res.status, ms / 1000);
    if (route === SEARCH_ROUTE) traffic.record(ms, c.res.status);
  });

  // After the metrics middleware, so refused requests are counted too; the limit before
  // authentication, so guessing tokens is rate limited as well.
  const access = deps.access ?? DEFAULT_ACCESS;
  if (access.ratePerSecond > 0) app.use('*', rateLimit(new RateLimiter({ ratePerSecond: access.ratePerSecond, burst: access.rateBurst }), OPEN_PATHS));
  if (access.tokens.length > 0) app.use('*', bearerAuth(access.tokens, OPEN_PATHS));

  app.get('/healthz', (c) => c.json({ status: 'ok' }));

  app.get('/readyz', (c) => {
    const readiness = status.readiness();
    return c.json(readiness, readiness.ready ? 200 : 503);
  });

  app.get('/metrics', async (c) => {
    const { contentType, body } = await metrics.render();
    return c.body(body, 200, { 'content-type': contentType });
  });

  app.get(OPENAPI_PATH, (c) => c.body(openApi, 200, { 'content-type': 'application/json' }));

  mountStatusPage(app, traffic);

  app.get('/v1/shards', (c) => c.json({ shards: status.shards(), gating_version: status.gatingVersion() }));

  app.get('/v1/docs/:id', gate, async (c) => {
    const doc = await documents.find(c.req.param('id'));
    return c.json({ id: doc.id, docid: doc.docid, title: doc.title, text: doc.text });
  });

  app.post(
    SEARCH_ROUTE,
    gate,
    bodyLimit({
      maxSize: limits.maxBodyBytes,
      onError: () => {
        throw new PayloadTooLargeError(`the body is larger than ${limits.maxBodyBytes} bytes`);
      },
    }),
    async (c) => {
      const body = parseSearchBody(await c.req.text());
      const response = await search.search(body);
      if (response.degraded) metrics.countDegraded();
      return c.json(response);
    },
  );

  return app;
}

function describeError(error: unknown): { status: ContentfulStatusCode; code: ErrorCode; message: string } {
  if (error instanceof DsiError) return { status: STATUS_OF_CODE[error.code], code: error.code, message: error.message };
  if (error instanceof HTTPException) {
    const status = error.status as ContentfulStatusCode;
    const code = status === 413 ? ErrorCode.PayloadTooLarge : status === 404 ? ErrorCode.NotFound : status < 500 ? ErrorCode.BadInput : ErrorCode.Internal;
    return { status, code, message: error.message || `HTTP ${status}` };
  }
  return { status: 500, code: ErrorCode.Internal, message: 'internal error' };
}
