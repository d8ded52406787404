import { extendZodWithOpenApi, OpenAPIRegistry, OpenApiGeneratorV31, type RouteConfig } from '@asteasolutions/zod-to-openapi';
import { z } from 'zod';
import { MAX_DOC_ID_CHARS } from '../../shared/bus/protocol.ts';
import type { RequestLimits } from '../config.ts';
import { searchBodySchema } from '../search-body.ts';
import { PAGE_PATHS } from '../status-page/paths.ts';
import { DocSchema, ErrorBodySchema, HealthSchema, ReadinessSchema, SearchResponseSchema, ShardsResponseSchema, TrafficSchema } from './schemas.ts';

/**
 * GET /openapi.json: the router's HTTP API as an OpenAPI 3.1 document, generated from the
 * zod schemas that validate its requests (the search body) and type its answers. Built
 * once at start-up for the router's limits, which the document states (k ≤ maxK …).
 */

// zod-to-openapi reads its metadata through a method it adds to zod's schema prototype;
// done once, when the router's modules load, before any document is generated.
extendZodWithOpenApi(z);

export const OPENAPI_PATH = '/openapi.json';


const json = (schema: z.ZodTypeAny, description: string) => ({ description, content: { 'application/json': { schema } } });
const text = (type: string, description: string) => ({ description, content: { [type]: { schema: z.string() } } });
const error = (description: string) => json(ErrorBodySchema, description);

/** Answers every guarded route may give besides its own. */
const GUARDED_ERRORS = {
  401: error('No valid bearer token, when the router requires one (`WWW-Authenticate: Bearer`).'),
  429: error('Over the per-client rate limit (`Retry-After` says when to retry).'),
  500: error('A fault in the router.'),
};

const OPEN = { security: [] as Record<string, string[]>[] };

export function openApiDocument(limits: RequestLimits): object {
  const registry = new OpenAPIRegistry();
  registry.registerComponent('securitySchemes', 'bearer', {
    type: 'http',
    scheme: 'bearer',
    description: 'Required on every route but the probes and the status page shell when the router is started with auth tokens (--auth-tokens FILE or DSI_AUTH_TOKENS).',
  });
  const routes: RouteConfig[] = [
    {
      method: 'post',
      path: '/v1/search',
      summary: 'Search: gating model, then the experts of the likely topics, then merge.',
      request: { body: { required: true, content: { 'application/json': { schema: searchBodySchema(limits) } } } },
      responses: {
        200: json(SearchResponseSchema, 'The top results, best first; `degraded` when a shard did not answer.'),
        400: error('The body is not a valid search (the message names the field).'),
        413: error(`The body is larger than ${limits.maxBodyBytes} bytes.`),
        503: error('No shard the query needs could answer (`shard_unavailable`), or the router has lost NATS (`bus_unavailable`, with `Retry-After`).'),
        504: error('The shards did not answer within the deadline.'),
        ...GUARDED_ERRORS,
      },
    },
    {
      method: 'get',
      path: '/v1/docs/{id}',
      summary: 'A document record: id, DocID, title and text, from the shard that holds it (every shard is asked).',
      request: { params: z.object({ id: z.string().describe("The document's id in the collection.") }) },
      responses: {
        200: json(DocSchema, 'The document.'),
        400: error(`The id is longer than ${MAX_DOC_ID_CHARS} characters.`),
        404: error('No shard holds a document with this id (every shard answered).'),
        503: error('No shard that answered holds it, and some shard did not answer (`shard_unavailable`): it may be there; or the router has lost NATS (`bus_unavailable`, with `Retry-After`).'),
        ...GUARDED_ERRORS,
      },
    },
    {
      method: 'get',
      path: '/v1/shards',
      summary: "Every shard: topics, documents, versions, live replicas, build quality and the router's recent latency to it.",
      responses: { 200: json(ShardsResponseSchema, 'The shards and the gating model version.'), ...GUARDED_ERRORS },
    },
    {
      method: 'get',
      path: '/v1/traffic',
      summary: 'Searches per second and their p50/p99 over the last minutes, in fixed buckets (the status page plots it).',
      responses: { 200: json(TrafficSchema, 'Oldest bucket first; the open bucket last.'), ...GUARDED_ERRORS },
    },
    { method: 'get', path: '/healthz', summary: 'Liveness: the process answers.', ...OPEN, responses: { 200: json(HealthSchema, 'Alive.') } },
    {
      method: 'get',
      path: '/readyz',
      summary: 'Readiness: connected to NATS and every shard has a live replica.',
      ...OPEN,
      responses: { 200: json(ReadinessSchema, 'Ready.'), 503: json(ReadinessSchema, 'Not ready, with the reasons.') },
    },
    { method: 'get', path: '/metrics', summary: 'Prometheus metrics.', responses: { 200: text('text/plain', 'Prometheus text format.'), ...GUARDED_ERRORS } },
    {
      method: 'get',
      path: OPENAPI_PATH,
      summary: 'This document.',
      responses: { 200: json(z.object({ openapi: z.literal('3.1.0'), info: z.object({ title: z.string(), version: z.string() }).passthrough(), paths: z.record(z.string(), z.unknown()) }).passthrough(), 'OpenAPI 3.1.'), ...GUARDED_ERRORS },
    },
    {
      method: 'get',
      path: PAGE_PATHS.page,
      summary: 'The status page. Its shell holds no data and is served without a token; everything it shows comes from the API with the bearer token given in the page.',
      ...OPEN,
      responses: { 200: text('text/html', 'The page.') },
    },
    { method: 'get', path: PAGE_PATHS.script, summary: "The status page's script.", ...OPEN, responses: { 200: text('text/javascript', 'Script.') } },
    { method: 'get', path: PAGE_PATHS.style, summary: "The status page's style sheet.", ...OPEN, responses: { 200: text('text/css', 'Style sheet.') } },
    { method: 'get', path: PAGE_PATHS.charts, summary: 'Chart.js, served from the installed package (nothing comes from elsewhere).', ...OPEN, responses: { 200: text('text/javascript', 'Script.') } },
  ];
  for (const route of routes) registry.registerPath(route);
  return new OpenApiGeneratorV31(registry.definitions).generateDocument({
    openapi: '3.1.0',
    info: { title: 'dsi-cluster router', version: '1', description: 'Search over a sharded Differentiable Search Index: the index lives in model weights, served by experts over NATS.' },
    security: [{ bearer: [] }],
  });
}
