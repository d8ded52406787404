import type { AddressInfo } from 'node:net';
import { serve, type ServerType } from '@hono/node-server';
import { connectBus, type Bus } from '../shared/bus/connection.ts';
import type { Logger } from '../shared/log.ts';
import { createApp } from './app.ts';
import { loadCatalog } from './catalog.ts';
import type { RouterConfig } from './config.ts';
import { Fanout } from './fanout.ts';
import { httpServerOptions } from './http-timeouts.ts';
import { LatencyWindow } from './latency-window.ts';
import { RouterMetrics } from './metrics.ts';
import { SearchService } from './search.ts';
import { followHeartbeats, ShardView } from './shard-view.ts';
import { ClusterStatus } from './status.ts';

/** A running router: its URL, and how to stop it. */
export interface RouterHandle {
  readonly url: string;
  readonly port: number;
  /** Stops taking connections, lets in-flight requests finish (up to `graceMs`), then leaves the bus. */
  close(graceMs?: number): Promise<void>;
}

/**
 * Assembles a router: everything is built and warmed up here, once, so that requests
 * only ever run the hot path. Order matters: the heartbeat subscription is live before
 * the HTTP port opens, so /readyz turns 200 as soon as every shard has been heard from.
 */
export async function startRouter(config: RouterConfig, log: Logger): Promise<RouterHandle> {
  const catalog = await loadCatalog(config.indexDir);
  const shardIds = catalog.shards.map((s) => s.id);
  let bus: Bus | undefined;
  try {
    bus = await connectBus({ url: config.natsUrl, name: 'dsi-router', ...config.credentials, log });
    const view = new ShardView(shardIds);
    const heartbeats = followHeartbeats(bus, view, log);
    await bus.flush();

    const latency = new Map(shardIds.map((id) => [id, new LatencyWindow(config.latencyWindow)]));
    const metrics = new RouterMetrics(catalog.shards, view);
    const fanout = new Fanout(bus, view, (shard, ms, outcome) => {
      metrics.observeShard(shard, ms, outcome);
      latency.get(shard)?.record(ms);
    }, { deadlineMs: config.deadlineMs });
    const search = new SearchService(catalog, fanout, config.limits.maxFanout, log);
    search.warmUp();
    const status = new ClusterStatus(catalog, view, latency, bus);
    const connected = bus;
    const app = createApp({ limits: config.limits, search, docs: catalog.docs, status, metrics, log, access: config.access, busConnected: () => connected.isConnected() });

    const server = await listen(app.fetch, config.host, config.port, httpServerOptions(config.http));
    const port = (server.address() as AddressInfo).port;
    const url = `http://${config.host.includes(':') ? `[${config.host}]` : config.host}:${port}`;
    log.info({ url, index: config.indexDir, shards: shardIds, deadline_ms: config.deadlineMs }, 'router listening');

    const connectedBus = bus;
    let closing: Promise<void> | undefined;
    return {
      url,
      port,
      close(graceMs = 5000) {
        closing ??= (async () => {
          await closeServer(server, graceMs);
          // A drain needs the server; with NATS gone it may never finish, and close() ends the reconnect loop either way.
          await settleWithin(Promise.all([heartbeats.drain(), connectedBus.drain()]), graceMs).catch((error: unknown) => log.warn({ err: (error as Error).message }, 'bus drain failed'));
          await connectedBus.close();
          catalog.gating.dispose();
          log.info('router stopped');
        })();
        return closing;
      },
    };
  } catch (error) {
    await bus?.close();
    catalog.gating.dispose();
    throw error;
  }
}

function listen(fetch: Parameters<typeof serve>[0]['fetch'], hostname: string, port: number, serverOptions: import('node:http').ServerOptions): Promise<ServerType> {
  return new Promise((resolve, reject) => {
    const server = serve({ fetch, hostname, port, serverOptions }, () => {
      server.off('error', reject);
      resolve(server);
    });
    server.once('error', reject);
  });
}

/** Stops accepting, closes idle keep-alive connections, and cuts whatever is still open after the grace period. */
function closeServer(server: ServerType, graceMs: number): Promise<void> {
  return new Promise((resolve) => {
    const http = server as import('node:http').Server;
    const timer = setTimeout(() => http.closeAllConnections?.(), graceMs);
    server.close(() => {
      clearTimeout(timer);
      resolve();
    });
    http.closeIdleConnections?.();
  });
}

/** Waits for a promise, but no longer than `ms`. */
async function settleWithin(promise: Promise<unknown>, ms: number): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  await Promise.race([promise, new Promise<void>((resolve) => (timer = setTimeout(resolve, ms)))]).finally(() => clearTimeout(timer));
}
