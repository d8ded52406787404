import type { ServerOptions } from 'node:http';
import type { HttpTimeouts } from './config.ts';

/**
 * node:http server options that cut off slow clients: a request (headers and body) must
 * arrive within requestTimeoutMs or Node answers 408 and closes the connection. Node
 * checks those deadlines every connectionsCheckingInterval (30 s by default, far too
 * coarse against a slowloris client), so the interval follows the shortest deadline.
 */
export function httpServerOptions(t: HttpTimeouts): ServerOptions {
  return {
    requestTimeout: t.requestTimeoutMs,
    headersTimeout: Math.min(t.headersTimeoutMs, t.requestTimeoutMs),
    keepAliveTimeout: t.keepAliveTimeoutMs,
    connectionsCheckingInterval: Math.max(100, Math.min(1000, Math.floor(Math.min(t.headersTimeoutMs, t.requestTimeoutMs) / 4))),
  };
}
