import { DEFAULT_BUS_URL, type BusAddress } from '../shared/bus/address.ts';

/**
 * Everything that shapes a router, parsed once by `dsi router` (or `dsi up`) and handed
 * down frozen. Nothing under router/ reads the environment or flags itself.
 */
export interface RequestLimits {
  /** Largest accepted request body; larger ones get 413 before they are parsed. */
  readonly maxBodyBytes: number;
  /** Longest accepted query, in UTF-16 code units (JavaScript string length). */
  readonly maxQueryChars: number;
  readonly defaultK: number;
  readonly maxK: number;
  readonly maxFanout: number;
}

/** Who may call the router, and how often. */
export interface AccessConfig {
  /** Bearer tokens accepted on every route but the probes (/healthz, /readyz); none: no authentication. */
  readonly tokens: readonly string[];
  /** Requests per second each client (remote address) may make, bursts up to `rateBurst`; 0: no limit. */
  readonly ratePerSecond: number;
  readonly rateBurst: number;
}

/** How long the HTTP server waits on a client: a slow (slowloris) client is cut off, not waited for. */
export interface HttpTimeouts {
  /** Whole request, headers and body, from the first byte. */
  readonly requestTimeoutMs: number;
  readonly headersTimeoutMs: number;
  /** An idle keep-alive connection is closed after this. */
  readonly keepAliveTimeoutMs: number;
}

export interface RouterConfig {
  /** The index folder to serve; undefined: the registry in NATS is the source (and is followed). */
  readonly indexDir: string | undefined;
  readonly host: string;
  readonly port: number;
  readonly nats: BusAddress;
  /** Time a search may spend waiting for shards, retries included. */
  readonly deadlineMs: number;
  /** Router requests per shard kept for the p50/p99 shown by GET /v1/shards. */
  readonly latencyWindow: number;
  readonly limits: RequestLimits;
  readonly access: AccessConfig;
  readonly http: HttpTimeouts;
}

export const DEFAULT_LIMITS: RequestLimits = Object.freeze({
  maxBodyBytes: 16 * 1024,
  maxQueryChars: 1000,
  defaultK: 10,
  maxK: 100,
  maxFanout: 16,
});

export const DEFAULT_ACCESS: AccessConfig = Object.freeze({ tokens: Object.freeze([]) as readonly string[], ratePerSecond: 0, rateBurst: 0 });

export const DEFAULT_HTTP_TIMEOUTS: HttpTimeouts = Object.freeze({ requestTimeoutMs: 10_000, headersTimeoutMs: 5_000, keepAliveTimeoutMs: 5_000 });

export const ROUTER_DEFAULTS = Object.freeze({
  host: '127.0.0.1',
  port: 8080,
  deadlineMs: 300,
  latencyWindow: 1024,
});

export function routerConfig(values: Partial<RouterConfig>): RouterConfig {
  return Object.freeze({
    indexDir: values.indexDir,
    host: values.host ?? ROUTER_DEFAULTS.host,
    port: values.port ?? ROUTER_DEFAULTS.port,
    nats: Object.freeze({ ...(values.nats ?? { url: DEFAULT_BUS_URL }) }),
    deadlineMs: values.deadlineMs ?? ROUTER_DEFAULTS.deadlineMs,
    latencyWindow: values.latencyWindow ?? ROUTER_DEFAULTS.latencyWindow,
    limits: Object.freeze({ ...DEFAULT_LIMITS, ...values.limits }),
    access: Object.freeze({ ...DEFAULT_ACCESS, ...values.access, tokens: Object.freeze([...(values.access?.tokens ?? [])]) }),
    http: Object.freeze({ ...DEFAULT_HTTP_TIMEOUTS, ...values.http }),
  });
}
