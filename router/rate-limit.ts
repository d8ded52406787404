import type { MiddlewareHandler } from 'hono';
import { getConnInfo } from '@hono/node-server/conninfo';
import { RateLimitedError } from '../shared/errors.ts';

/**
 * A per-client rate limit: a token bucket for each remote address, `ratePerSecond`
 * refilled continuously up to `burst`. A request finding its bucket empty gets 429 with
 * Retry-After (whole seconds until a token is back). Pure state plus a clock, so tests
 * drive time by hand; the middleware below wraps it.
 *
 * Buckets of clients gone quiet are forgotten (a full bucket holds no information), so a
 * flood of distinct addresses costs at most `maxClients` entries.
 */
export class RateLimiter {
  readonly #rate: number;
  readonly #burst: number;
  readonly #maxClients: number;
  readonly #now: () => number;
  readonly #buckets = new Map<string, { tokens: number; at: number }>();

  constructor(options: { ratePerSecond: number; burst: number; maxClients?: number; now?: () => number }) {
    this.#rate = options.ratePerSecond;
    this.#burst = Math.max(1, options.burst);
    this.#maxClients = options.maxClients ?? 10_000;
    this.#now = options.now ?? (() => performance.now());
  }

  /** Takes a token for `client`: 0 when granted, else the seconds to wait before one is back. */
  take(client: string): number {
    const now = this.#now();
    let b = this.#buckets.get(client);
    if (b === undefined) {
      if (this.#buckets.size >= this.#maxClients) this.#forgetFull(now);
      b = { tokens: this.#burst, at: now };
      this.#buckets.set(client, b);
    } else {
      b.tokens = Math.min(this.#burst, b.tokens + ((now - b.at) / 1000) * this.#rate);
      b.at = now;
    }
    if (b.tokens >= 1) {
      b.tokens -= 1;
      return 0;
    }
    return (1 - b.tokens) / this.#rate;
  }

  get clients(): number {
    return this.#buckets.size;
  }

  /** Drops the buckets that have refilled (clients that went quiet); if none has, the oldest. */
  #forgetFull(now: number): void {
    for (const [client, b] of this.#buckets) if (b.tokens + ((now - b.at) / 1000) * this.#rate >= this.#burst) this.#buckets.delete(client);
    if (this.#buckets.size >= this.#maxClients) this.#buckets.delete(this.#buckets.keys().next().value!);
  }
}

/** The limiter as Hono middleware, keyed by the client's remote address; `openPaths` (the probes) are never limited. */
export function rateLimit(limiter: RateLimiter, openPaths: ReadonlySet<string>): MiddlewareHandler {
  return async (c, next) => {
    if (openPaths.has(c.req.path)) return next();
    const client = clientAddress(c);
    const waitS = limiter.take(client);
    if (waitS > 0) throw new RateLimitedError(`too many requests from ${client}: the limit is per client`, Math.ceil(waitS));
    return next();
  };
}

function clientAddress(c: Parameters<MiddlewareHandler>[0]): string {
  try {
    return getConnInfo(c).remote.address ?? 'unknown';
  } catch {
    // Not served by node-server (app.request() in tests): one shared bucket.
    return 'unknown';
  }
}
