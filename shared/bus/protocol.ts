import { z } from 'zod';
import { DocRecordSchema } from '../artifact/index-artifact.ts';
import { ErrorCode } from '../errors.ts';

/**
 * Everything that crosses NATS between the router and the experts: subjects, message
 * shapes (validated with zod on receipt) and error codes. Payloads are msgpackr-encoded
 * (see codec.ts). Bump PROTOCOL_VERSION when a shape changes incompatibly.
 *
 * The message types are derived from the schemas, never declared beside them: what a
 * search asks of a shard and what it answers is one definition, here, whether the shard
 * is asked over the bus or in process.
 *
 * Batched searches (replicaBatch) came without a bump: they are a subject and messages of
 * their own, used only with processes whose heartbeats announce them, so routers and
 * experts from before them still serve together over the per-shard requests.
 */
export const PROTOCOL_VERSION = 2;

export const Subjects = {
  /** Search requests for a shard, served by its queue group (any live replica). */
  search: (shard: string) => `dsi.search.${shard}`,
  /** Search requests for one replica: the router targets replicas it has seen alive. */
  replicaSearch: (shard: string, replica: string) => `dsi.search.${shard}.${replica}`,
  /**
   * Batched search requests for one expert process: the queries of several of its shards
   * in one message, answered in one reply. A process announces it answers them (heartbeat
   * `batch`); the replica id is per process, so this subject names the process.
   */
  replicaBatch: (replica: string) => `dsi.batch.${replica}`,
  /** Document requests (a record by its id) for a shard, served by the same queue group as its searches. */
  doc: (shard: string) => `dsi.doc.${shard}`,
  replicaDoc: (shard: string, replica: string) => `dsi.doc.${shard}.${replica}`,
  /** Queue group name of a shard's replicas (for every kind of request: a group is per subject). */
  queueGroup: (shard: string) => `dsi-expert-${shard}`,
  /** Heartbeats of every replica of every shard (subscribe with the wildcard). */
  heartbeat: (shard: string) => `dsi.heartbeat.${shard}`,
  heartbeatWildcard: 'dsi.heartbeat.*',
} as const;

/** What the router asks a shard, each kind on subjects of its own: a search, or a document record by id. */
export const ShardRequestKind = { search: 'search', doc: 'doc' } as const;
export type ShardRequestKind = (typeof ShardRequestKind)[keyof typeof ShardRequestKind];

/** The subjects of each kind of request: the shard's queue group (any replica), or one replica. */
export const RequestSubjects: { readonly [K in ShardRequestKind]: { readonly queue: (shard: string) => string; readonly replica: (shard: string, replica: string) => string } } = {
  search: { queue: Subjects.search, replica: Subjects.replicaSearch },
  doc: { queue: Subjects.doc, replica: Subjects.replicaDoc },
};

/** How often experts announce themselves, and after how long without a heartbeat a replica is dropped. */
export const HEARTBEAT_INTERVAL_MS = 1000;
export const HEARTBEAT_TIMEOUT_MS = 3500;

/** A topic the gating model routed a query to, with log P(topic). */
export const RoutedTopicSchema = z.object({ topic: z.number().int().min(0), logp: z.number().max(0) });
export type RoutedTopic = z.infer<typeof RoutedTopicSchema>;

/** Most weighted terms a query may send a shard: a query is at most a few dozen words, each with a few translations. */
export const MAX_QUERY_TERMS = 1024;

/**
 * The query's lexical terms, weighted by the index's query head once, where the query is
 * routed, so every shard scores it the same way: term ids, their weights, and the most
 * the terms could score together (what lexical scores are measured against).
 */
export const LexicalQuerySchema = z
  .object({
    terms: z.array(z.number().int().min(0).max(0xffffffff)).max(MAX_QUERY_TERMS),
    weights: z.array(z.number().finite()).max(MAX_QUERY_TERMS),
    bound: z.number().min(0).finite(),
  })
  .refine((q) => q.terms.length === q.weights.length, { message: 'terms and weights differ in length' });
export type LexicalQuery = z.infer<typeof LexicalQuerySchema>;

/** How a shard ranks: both halves fused (what searches use), or one half alone (to see what each contributes). */
export const Scoring = { fused: 'fused', lexical: 'lexical', semantic: 'semantic' } as const;
export type Scoring = (typeof Scoring)[keyof typeof Scoring];

export const SearchRequestSchema = z.object({
  v: z.literal(PROTOCOL_VERSION),
  query: z.string().min(1).max(10_000),
  /** Topics of this shard to decode from, with log P(topic) from the gating model. */
  topics: z.array(RoutedTopicSchema).min(1).max(1024),
  k: z.number().int().min(1).max(1000),
  lexical: LexicalQuerySchema.optional(),
  /** log P(topic) of this shard's other topics: the lexical half may find documents there. */
  otherTopics: z.array(RoutedTopicSchema).max(4096).optional(),
  scoring: z.nativeEnum(Scoring).optional(),
});
export type SearchRequest = z.infer<typeof SearchRequestSchema>;
/** What a search asks of one shard, whichever way it travels: a search request without its envelope. */
export type ShardQuery = Omit<SearchRequest, 'v'>;

/**
 * One document a shard returns: its corpus id, its DocID, its score (comparable across
 * shards, which is how results are merged) and its title, from the shard's own documents
 * (an expert loaded without them, or of an older build, leaves it out: no one else holds
 * the records to title it from).
 */
export const ShardHitSchema = z.object({
  id: z.string().describe("The document's id in the collection."),
  docid: z.string().describe('Its semantic DocID (topic-cluster-item).'),
  score: z.number().describe('The fused score of the lexical and semantic evidence, calibrated across shards (results merge by it); higher is better.'),
  title: z.string().optional(),
});
export type ShardHit = z.infer<typeof ShardHitSchema>;

/** Any request a shard could not answer: the error's code and message, and who says so. */
const ShardErrorReplySchema = z.object({
  ok: z.literal(false),
  shard: z.string(),
  replica: z.string(),
  error: z.object({ code: z.nativeEnum(ErrorCode), message: z.string() }),
});
export type ShardErrorReply = z.infer<typeof ShardErrorReplySchema>;

export const SearchReplySchema = z.discriminatedUnion('ok', [
  z.object({
    ok: z.literal(true),
    shard: z.string(),
    replica: z.string(),
    version: z.number().int(),
    hits: z.array(ShardHitSchema),
    took_ms: z.number(),
  }),
  ShardErrorReplySchema,
]);
export type SearchReply = z.infer<typeof SearchReplySchema>;
/** What a shard answers, whichever way it travels: the hits, and which replica and model version found them. */
export type ShardAnswer = Pick<Extract<SearchReply, { ok: true }>, 'hits' | 'replica' | 'version'>;

/** Most shard queries one batch may carry: an index has at most a few hundred shards, and a process serves a few. */
export const MAX_BATCH_QUERIES = 256;

/** One shard's part of a batch: which shard, and the topics it is asked (a search request's topics and otherTopics). */
export const BatchShardSchema = SearchRequestSchema.pick({ topics: true, otherTopics: true }).extend({ shard: z.string().min(1) });
export type BatchShard = z.infer<typeof BatchShardSchema>;

/**
 * What a search asks of one expert process: the query once (text, k, lexical terms,
 * scoring: the same for every shard of a search) and the topics of each of its shards
 * the search routed to, asked at once so a search costs one message per process rather
 * than one per shard (loopback messages cost more than a shard's search). Each shard is
 * asked exactly what a search request of its own would ask it.
 */
export const BatchSearchRequestSchema = SearchRequestSchema.omit({ topics: true, otherTopics: true }).extend({
  shards: z.array(BatchShardSchema).min(1).max(MAX_BATCH_QUERIES),
});
export type BatchSearchRequest = z.infer<typeof BatchSearchRequestSchema>;

/**
 * The process's one reply: each shard's own reply (naming its shard), each a success or
 * that shard's error (a shard it does not serve is shard_unavailable), so one shard's
 * failure costs only that shard. A request that cannot be read at all gets one error.
 */
export const BatchSearchReplySchema = z.discriminatedUnion('ok', [
  z.object({ ok: z.literal(true), replica: z.string(), replies: z.array(SearchReplySchema).max(MAX_BATCH_QUERIES) }),
  z.object({ ok: z.literal(false), replica: z.string(), error: z.object({ code: z.nativeEnum(ErrorCode), message: z.string() }) }),
]);
export type BatchSearchReply = z.infer<typeof BatchSearchReplySchema>;

/** Longest document id a request may carry: ids are package names and the like, far shorter. */
export const MAX_DOC_ID_CHARS = 1024;

/**
 * A document's record by its corpus id (GET /v1/docs/:id): the router asks every shard,
 * and only the one holding the document has it; documents live with their shards' experts,
 * not in the router.
 */
export const DocRequestSchema = z.object({
  v: z.literal(PROTOCOL_VERSION),
  id: z.string().min(1).max(MAX_DOC_ID_CHARS),
});
export type DocRequest = z.infer<typeof DocRequestSchema>;

export const DocReplySchema = z.discriminatedUnion('ok', [
  z.object({
    ok: z.literal(true),
    shard: z.string(),
    replica: z.string(),
    version: z.number().int(),
    /** The record as the index holds it, from the model version this replica serves; null: not a document of this shard. */
    doc: DocRecordSchema.nullable(),
  }),
  ShardErrorReplySchema,
]);
export type DocReply = z.infer<typeof DocReplySchema>;

export const HeartbeatSchema = z.object({
  v: z.literal(PROTOCOL_VERSION),
  shard: z.string(),
  replica: z.string(),
  /** Model version the replica serves. */
  version: z.number().int(),
  topics: z.array(z.number().int()),
  docs: z.number().int(),
  pid: z.number().int(),
  /** Requests being answered right now, and answered since start. */
  inflight: z.number().int(),
  served: z.number().int(),
  started_at: z.string(),
  /** Draining replicas still answer what they have but should get no new requests. */
  draining: z.boolean(),
  /**
   * The process answers batched searches on Subjects.replicaBatch(replica). Optional, so
   * routers and experts of before batching still understand each other: a router sends
   * batches only to processes that announce them, and an older router ignores the field.
   */
  batch: z.boolean().optional(),
});
export type Heartbeat = z.infer<typeof HeartbeatSchema>;

/**
 * Distributed training: a build enqueues its training jobs on a JetStream work-queue
 * stream, `dsi worker` processes on any machine pull them (one durable pull consumer
 * shared by every worker), train, and store the outcome under the job's key. The job
 * itself (any fields, typed arrays included) travels as an object in the jobs' object
 * store; the queue message is only its ticket. Subjects and buckets are named here so a
 * NATS CLI user finds them: `nats stream info DSI_JOBS`, `nats kv ls dsi_jobs`.
 */
export const JobQueue = {
  stream: 'DSI_JOBS',
  /** Every ticket of every build; a build's own are under its id (purged when it ends). */
  streamSubjects: 'dsi.jobs.>',
  ticket: (build: string, job: string) => `dsi.jobs.${build}.${job}`,
  buildTickets: (build: string) => `dsi.jobs.${build}.>`,
  /** The durable pull consumer all workers share: each ticket goes to one of them at a time. */
  consumer: 'dsi-workers',
  /** Job records and outcomes (JSON, readable with `nats kv get`). */
  bucket: 'dsi_jobs',
  /** Job payloads, their input folders and their output folders; every object name starts with its build's id. */
  objects: 'dsi_jobs',
  /** JetStream's notice that a ticket reached its consumer's max deliveries without an ack (its last worker died or hung). */
  maxDeliveriesAdvisory: '$JS.EVENT.ADVISORY.CONSUMER.MAX_DELIVERIES.DSI_JOBS.dsi-workers',
  /** Heartbeats of every worker. */
  workerHeartbeat: (worker: string) => `dsi.worker.heartbeat.${worker}`,
  workerHeartbeatWildcard: 'dsi.worker.heartbeat.*',
} as const;

/** Keys of the jobs bucket. Build and job ids are single subject tokens ([A-Za-z0-9_-]). */
export const JobKeys = {
  record: (build: string, job: string) => `job.${build}.${job}`,
  records: 'job.>',
  buildRecords: (build: string) => `job.${build}.*`,
  outcome: (build: string, job: string) => `outcome.${build}.${job}`,
  buildOutcomes: (build: string) => `outcome.${build}.*`,
  /** The job id of a record or outcome key. */
  jobOf: (key: string): string => key.slice(key.lastIndexOf('.') + 1),
} as const;

const TokenSchema = z.string().regex(/^[A-Za-z0-9_-]+$/);

/** An object in a JetStream object store, checked against its sha256 when fetched. */
export const StoredObjectSchema = z.object({ object: z.string().min(1), sha256: z.string().regex(/^[0-9a-f]{64}$/), bytes: z.number().int().min(0) });
export type StoredObject = z.infer<typeof StoredObjectSchema>;

/** The queue message of one job: where its payload and input folders are, nothing of the job itself. */
export const JobTicketSchema = z.object({
  v: z.literal(PROTOCOL_VERSION),
  build: TokenSchema,
  job: TokenSchema,
  /** For logs and status: "gating", "shard s1". */
  label: z.string(),
  /** The whole job object (jobs.ts's BuildJob, encoded by job-payload.ts). */
  payload: StoredObjectSchema,
  /** Folder-valued fields of the job (a start tower, an expert to continue) as bundles: the worker unpacks each and points the field at its copy. */
  inputs: z.record(z.string(), StoredObjectSchema),
});
export type JobTicket = z.infer<typeof JobTicketSchema>;

export const JobStateSchema = z.enum(['queued', 'running']);

/** What `dsi status` shows of a job in flight: written queued by the build, running by the worker that took it. */
export const JobRecordSchema = z.object({
  build: TokenSchema,
  job: TokenSchema,
  label: z.string(),
  state: JobStateSchema,
  /** Deliveries so far (the one running included). */
  attempts: z.number().int().min(0),
  worker: z.string().nullable(),
  enqueued_at: z.string(),
  updated_at: z.string(),
  /** Why the last attempt failed, if one did. */
  last_error: z.string().nullable(),
});
export type JobRecord = z.infer<typeof JobRecordSchema>;

/**
 * How a job ended, stored once per job (the first completion wins; a later one, of a
 * redelivered job whose first worker came back, is dropped). `result` is the job's
 * JobResult (jobs.ts), passed through as the training code made it.
 */
export const JobOutcomeSchema = z.discriminatedUnion('ok', [
  z.object({ ok: z.literal(true), worker: z.string(), attempts: z.number().int(), output: StoredObjectSchema, result: z.unknown(), finished_at: z.string() }),
  z.object({ ok: z.literal(false), worker: z.string(), attempts: z.number().int(), error: z.string(), finished_at: z.string() }),
]);
export type JobOutcome = z.infer<typeof JobOutcomeSchema>;

export const MaxDeliveriesAdvisorySchema = z.object({ stream_seq: z.number().int(), deliveries: z.number().int() }).passthrough();

export const WorkerHeartbeatSchema = z.object({
  v: z.literal(PROTOCOL_VERSION),
  worker: z.string(),
  host: z.string(),
  pid: z.number().int(),
  slots: z.number().int().min(1),
  running: z.array(z.object({ build: z.string(), job: z.string(), label: z.string(), attempt: z.number().int(), started_at: z.string() })),
  started_at: z.string(),
  /** A stopping worker takes no new job. */
  draining: z.boolean(),
});
export type WorkerHeartbeat = z.infer<typeof WorkerHeartbeatSchema>;
