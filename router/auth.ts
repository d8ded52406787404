import { createHash, timingSafeEqual } from 'node:crypto';
import type { MiddlewareHandler } from 'hono';
import { UnauthorizedError } from '../shared/errors.ts';

/**
 * Optional bearer-token authentication: with tokens configured, every route but the open
 * ones (the probes) needs `Authorization: Bearer <one of them>`; a missing or wrong token
 * is a 401 (the app's onError adds WWW-Authenticate). Tokens are compared as SHA-256
 * digests with timingSafeEqual, so neither the length nor the content of a valid token
 * leaks through response time; the digests are computed once, here.
 */
export function bearerAuth(tokens: readonly string[], openPaths: ReadonlySet<string>): MiddlewareHandler {
  const digests = tokens.map(digest);
  return async (c, next) => {
    if (openPaths.has(c.req.path)) return next();
    const header = c.req.header('authorization');
    const m = header === undefined ? null : /^Bearer[ ]+(\S+)\s*$/i.exec(header);
    if (!m) throw new UnauthorizedError('this route needs an Authorization: Bearer <token> header');
    const given = digest(m[1]!);
    let ok = false;
    // Every digest is compared, so the time does not tell which token (if any) matched.
    for (const d of digests) ok = timingSafeEqual(d, given) || ok;
    if (!ok) throw new UnauthorizedError('the bearer token is not valid');
    return next();
  };
}

function digest(token: string): Buffer {
  return createHash('sha256').update(token).digest();
}
