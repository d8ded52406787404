import { z } from 'zod';
import { HeartbeatSchema, ShardHitSchema } from '../../shared/bus/protocol.ts';
import { ShardFiguresSchema } from '../../shared/registry/records.ts';
import { ErrorCode } from '../../shared/errors.ts';
import type { DocRecord } from '../../shared/artifact/index-artifact.ts';
import type { SearchResponse } from '../search.ts';
import type { ShardStatus, Readiness } from '../status.ts';
import type { TrafficSeries } from '../status-page/traffic-history.ts';

/**
 * The bodies the router's HTTP API answers with, as zod schemas: GET /openapi.json is
 * generated from them (and from the search body's schema, which validates requests), and
 * the contract test checks real responses against that document. The TypeScript types the
 * handlers return are declared where they are built; the checks at the end of this file
 * make the build fail when a type and its schema drift apart.
 */
export const ErrorBodySchema = z
  .object({
    error: z.object({
      code: z.enum(Object.values(ErrorCode) as [ErrorCode, ...ErrorCode[]]).describe('Stable code of the failure; the HTTP status follows from it.'),
      message: z.string().describe('What was wrong, for a person.'),
    }),
  })
  .describe('Every error answer, whatever the route.');

export const SearchResponseSchema = z.object({
  // A result is the engine's hit (the protocol's shard hit and the shard that answered it), always titled.
  results: z.array(ShardHitSchema.extend({ shard: z.string().describe('The shard that answered it.'), title: z.string() })),
  routed: z.array(z.object({ topic: z.number().int(), p: z.number().describe("The gating model's probability of the topic.") })).describe('The topics the query was sent to.'),
  took_ms: z.number(),
  degraded: z.boolean().describe('Some shard the query was routed to did not answer: results come from the others.'),
  missing_shards: z.array(z.string()),
  answered_by: z.array(z.object({ shard: z.string(), replica: z.string(), version: z.number().int() })).describe('Which replica and model version of each shard answered.'),
});

export const DocSchema = z.object({ id: z.string(), docid: z.string(), title: z.string(), text: z.string() });

// A replica as its heartbeats (the protocol's) describe it, and as this router has seen it.
const ReplicaStatusSchema = HeartbeatSchema.omit({ v: true, shard: true }).extend({
  age_ms: z.number().describe('Since its last heartbeat.'),
  suspect: z.boolean().describe('A request to it failed after its last heartbeat.'),
  router_inflight: z.number().int(),
});

const ShardStatusSchema = z.object({
  id: z.string(),
  topics: z.array(z.number().int()),
  docs: z.number().int(),
  version: z.number().int().nullable().describe('Model version the live replicas serve; null with none live.'),
  published_version: z.number().int().describe('Version the registry names as current.'),
  previous_version: z.number().int().nullable(),
  retrained_at: z.string().nullable(),
  previous_figures: ShardFiguresSchema.nullable().describe("The previous version's quality figures (kept for rollback); null before a first retrain."),
  live_replicas: z.number().int(),
  replicas: z.array(ReplicaStatusSchema),
  collision_rate: z.number(),
  'index_recall@1': z.number(),
  'hits@10': z.number().nullable(),
  latency_ms: z.object({ p50: z.number().nullable(), p99: z.number().nullable(), window: z.number().int() }).describe("The router's recent requests to the shard."),
});

export const ShardsResponseSchema = z.object({ shards: z.array(ShardStatusSchema), gating_version: z.number().int() });

export const HealthSchema = z.object({ status: z.literal('ok') });

export const ReadinessSchema = z.object({ ready: z.boolean(), reasons: z.array(z.string()).describe('Why not, when not.') });

export const TrafficSchema = z.object({
  bucket_s: z.number(),
  window_s: z.number(),
  points: z.array(
    z.object({
      t: z.number().describe('Start of the bucket, Unix milliseconds.'),
      requests_per_s: z.number(),
      errors_per_s: z.number().describe('Searches answered 5xx.'),
      p50_ms: z.number().nullable(),
      p99_ms: z.number().nullable(),
    }),
  ),
});

/** Deep-mutable view of a type, so a handler's readonly type compares with the schema's plain one. */
type Plain<T> = T extends readonly (infer E)[] ? Plain<E>[] : T extends object ? { -readonly [K in keyof T]: Plain<T[K]> } : T;
type Same<A, B> = [A] extends [B] ? ([B] extends [A] ? true : false) : false;

// A type and its schema must describe the same body; a change to one without the other fails type-checking here.
const agrees: [
  Same<Plain<SearchResponse>, z.infer<typeof SearchResponseSchema>>,
  Same<Plain<ShardStatus>, z.infer<typeof ShardStatusSchema>>,
  Same<Plain<Readiness>, z.infer<typeof ReadinessSchema>>,
  Same<Plain<TrafficSeries>, z.infer<typeof TrafficSchema>>,
  Same<Plain<Pick<DocRecord, 'id' | 'docid' | 'title' | 'text'>>, z.infer<typeof DocSchema>>,
] = [true, true, true, true, true];
void agrees;
