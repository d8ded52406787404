import type { MiddlewareHandler } from 'hono';
import { BusUnavailableError } from '../shared/errors.ts';

/**
 * Answers 503 at once, with Retry-After, while the router has no NATS connection: a search
 * would otherwise wait its whole deadline on requests that cannot leave this process. The
 * connection comes back by itself (the bus reconnects forever), and so do searches.
 */
export const BUS_RETRY_AFTER_S = 1;

export function busGate(isConnected: () => boolean): MiddlewareHandler {
  return async (c, next) => {
    if (!isConnected()) {
      c.header('retry-after', String(BUS_RETRY_AFTER_S));
      throw new BusUnavailableError('the router has lost its NATS connection and is reconnecting; retry shortly');
    }
    return next();
  };
}
