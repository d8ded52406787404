import type { AddressInfo } from 'node:net';
import { connect } from 'node:net';
import { serve, type ServerType } from '@hono/node-server';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { stubAppDeps } from '../test/helpers/app-deps.ts';
import { createApp, type AppDeps } from './app.ts';
import { routerConfig } from './config.ts';
import { httpServerOptions } from './http-timeouts.ts';
import { RateLimiter } from './rate-limit.ts';

/**
 * Bearer auth, the per-client rate limit, the quick 503 while NATS is away, and the cut-off
 * of slow clients, over real HTTP on a real node:http server. The search behind them is a
 * stub: what is tested here is what happens before a search runs.
 */
const TOKEN = 'a-long-enough-token-0123456789';
const deps = stubAppDeps;

const servers: ServerType[] = [];

async function listen(d: AppDeps, timeouts = routerConfig({ indexDir: '-' }).http): Promise<string> {
  const server = await new Promise<ServerType>((resolve) => {
    const s = serve({ fetch: createApp(d).fetch, hostname: '127.0.0.1', port: 0, serverOptions: httpServerOptions(timeouts) }, () => resolve(s));
  });
  servers.push(server);
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

const search = (base: string, headers: Record<string, string> = {}) => fetch(`${base}/v1/search`, { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body: '{"query":"x"}' });

afterAll(async () => {
  await Promise.all(servers.map((s) => new Promise<void>((r) => (s as import('node:http').Server).close(() => r()))));
  for (const s of servers) (s as import('node:http').Server).closeAllConnections();
});

describe('bearer auth', () => {
  let base: string;
  beforeAll(async () => {
    base = await listen(deps({ access: { tokens: [TOKEN, 'another-token-abcdefghijkl'], ratePerSecond: 0, rateBurst: 0 } }));
  });

  it('refuses a search with no token, a wrong one, or another scheme: 401 JSON with WWW-Authenticate', async () => {
    for (const headers of [{} as Record<string, string>, { authorization: `Bearer ${TOKEN}x` }, { authorization: `Basic ${TOKEN}` }, { authorization: 'Bearer' }]) {
      const r = await search(base, headers);
      expect(r.status).toBe(401);
      expect(r.headers.get('www-authenticate')).toBe('Bearer');
      expect(((await r.json()) as { error: { code: string } }).error.code).toBe('unauthorized');
    }
  });

  it('accepts any configured token', async () => {
    expect((await search(base, { authorization: `Bearer ${TOKEN}` })).status).toBe(200);
    expect((await search(base, { authorization: 'bearer another-token-abcdefghijkl' })).status).toBe(200);
  });

  it('keeps the probes and the status page shell open and guards everything else, unknown routes included', async () => {
    for (const path of ['/healthz', '/readyz', '/', '/status/app.js', '/status/style.css', '/status/chart.umd.min.js']) expect((await fetch(`${base}${path}`)).status, path).toBe(200);
    for (const path of ['/v1/shards', '/v1/traffic', '/openapi.json', '/metrics', '/v1/docs/x', '/nothing', '/status/other.js']) expect((await fetch(`${base}${path}`)).status, path).toBe(401);
  });
});

describe('per-client rate limit', () => {
  it('answers 429 with Retry-After once a client has used its burst, and serves it again after a wait', async () => {
    const base = await listen(deps({ access: { tokens: [], ratePerSecond: 5, rateBurst: 5 } }));
    const statuses = [];
    for (let i = 0; i < 8; i++) statuses.push((await search(base)).status);
    expect(statuses.slice(0, 5)).toEqual([200, 200, 200, 200, 200]);
    expect(statuses.slice(5)).toEqual([429, 429, 429]);
    const limited = await search(base);
    expect(limited.status).toBe(429);
    expect(Number(limited.headers.get('retry-after'))).toBeGreaterThanOrEqual(1);
    expect(((await limited.json()) as { error: { code: string } }).error.code).toBe('rate_limited');
    expect((await fetch(`${base}/healthz`)).status).toBe(200);
    await new Promise((r) => setTimeout(r, 450));
    expect((await search(base)).status).toBe(200);
  });

  it('keeps one bucket per client and forgets quiet ones beyond its cap', () => {
    const clock = { now: 0 };
    const limiter = new RateLimiter({ ratePerSecond: 1, burst: 2, maxClients: 3, now: () => clock.now });
    expect([limiter.take('a'), limiter.take('a')]).toEqual([0, 0]);
    expect(limiter.take('a')).toBeCloseTo(1, 6);
    expect(limiter.take('b')).toBe(0);
    clock.now = 500;
    expect(limiter.take('a')).toBeCloseTo(0.5, 6);
    for (const c of ['c', 'd', 'e', 'f']) limiter.take(c);
    expect(limiter.clients).toBeLessThanOrEqual(3);
  });
});

describe('while NATS is away', () => {
  it('answers searches 503 bus_unavailable at once, with Retry-After', async () => {
    let connected = false;
    const base = await listen(deps({ busConnected: () => connected }));
    const started = performance.now();
    const r = await search(base);
    expect(performance.now() - started).toBeLessThan(100);
    expect(r.status).toBe(503);
    expect(r.headers.get('retry-after')).toBe('1');
    expect(((await r.json()) as { error: { code: string } }).error.code).toBe('bus_unavailable');
    connected = true;
    expect((await search(base)).status).toBe(200);
  });
});

describe('slow clients', () => {
  it('cuts off a body that trickles in (slowloris) with 408 after the request timeout', async () => {
    const base = await listen(deps(), { requestTimeoutMs: 600, headersTimeoutMs: 400, keepAliveTimeoutMs: 1000 });
    const { port } = new URL(base);
    const started = performance.now();
    const reply = await new Promise<string>((resolve) => {
      const socket = connect(Number(port), '127.0.0.1', () => {
        socket.write('POST /v1/search HTTP/1.1\r\nhost: x\r\ncontent-type: application/json\r\ncontent-length: 1000\r\n\r\n{"query":"');
        const drip = setInterval(() => socket.write('a'), 100);
        let text = '';
        socket.on('data', (d) => (text += d.toString()));
        socket.on('close', () => {
          clearInterval(drip);
          resolve(text);
        });
        socket.on('error', () => {});
      });
    });
    expect(reply).toMatch(/^HTTP\/1\.1 408/);
    expect(performance.now() - started).toBeLessThan(3000);
  });
});
