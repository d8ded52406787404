import type { AddressInfo } from 'node:net';
import { serve, type ServerType } from '@hono/node-server';
import { connectBus, type Bus } from '../shared/bus/connection.ts';
import type { Logger } from '../shared/log.ts';
import { createApp } from './app.ts';
import { loadCatalog, type Catalog, type CatalogSource } from './catalog.ts';
import { RegistryCatalog } from './registry-catalog.ts';
import { Registry } from '../shared/registry/registry.ts';
import type { RouterConfig } from './config.ts';
import { BusSearcher } from '../shared/search/bus-searcher.ts';
import { ShardRequests } from '../shared/bus/shard-requests.ts';
import { DocumentLookup } from './documents.ts';
import { Engine } from '../shared/search/engine.ts';
import { httpServerOptions } from './http-timeouts.ts';
import { LatencyWindow } from './latency-window.ts';
import { RouterMetrics } from './metrics.ts';
import { SearchService } from './search.ts';
import { followHeartbeats, ShardView } from '../shared/bus/shard-view.ts';
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
 * The catalog comes from an index folder (fixed) or from the registry (followed: new
 * shards, versions and gating models are picked up without a restart).
 */
export async function startRouter(config: RouterConfig, log: Logger): Promise<RouterHandle> {
  let bus: Bus | undefined;
  let modelBus: Bus | undefined;
  let catalog: (CatalogSource & { close(): Promise<void> }) | undefined;
  try {
    bus = await connectBus({ ...config.nats, name: 'dsi-router', log });
    if (config.indexDir === undefined) {
      // Registry reads and model downloads on a connection of their own, so a large download never queues ahead of shard replies.
      modelBus = await connectBus({ ...config.nats, name: 'dsi-router-models', log });
      catalog = await RegistryCatalog.open(await Registry.open(modelBus), log, config.nats);
    } else {
      catalog = staticCatalog(await loadCatalog(config.indexDir));
    }
    const source = catalog;
    const view = new ShardView(source.current.shards.map((s) => s.id));
    const heartbeats = followHeartbeats(bus, view, log);
    await bus.flush();

    const latency = new Map<string, LatencyWindow>();
    const metrics = new RouterMetrics(() => source.current.shards, view);
    const searcher = new BusSearcher(bus, view, (shard, ms, outcome) => {
      metrics.observeShard(shard, ms, outcome);
      let window = latency.get(shard);
      if (!window) latency.set(shard, (window = new LatencyWindow(config.latencyWindow)));
      window.record(ms);
    }, { deadlineMs: config.deadlineMs });
    const search = new SearchService(new Engine(source, searcher), log);
    search.warmUp();
    if (source instanceof RegistryCatalog) {
      source.onChange((next) => view.track(next.shards.map((s) => s.id)));
      await source.follow();
    }
    const status = new ClusterStatus(source, view, latency, bus);
    const connected = bus;
    const documents = new DocumentLookup(new ShardRequests(bus, view), () => source.current.shards.map((s) => s.id), config.deadlineMs);
    const app = createApp({ limits: config.limits, search, documents, status, metrics, log, access: config.access, busConnected: () => connected.isConnected() });

    const server = await listen(app.fetch, config.host, config.port, httpServerOptions(config.http));
    const port = (server.address() as AddressInfo).port;
    const url = `http://${config.host.includes(':') ? `[${config.host}]` : config.host}:${port}`;
    log.info({ url, source: source.current.source, shards: view.shards, deadline_ms: config.deadlineMs }, 'router listening');

    const connectedBus = bus;
    let closing: Promise<void> | undefined;
    return {
      url,
      port,
      close(graceMs = 5000) {
        closing ??= (async () => {
          await closeServer(server, graceMs);
          await source.close();
          // A drain needs the server; with NATS gone it may never finish, and close() ends the reconnect loop either way.
          await settleWithin(Promise.all([heartbeats.drain(), connectedBus.drain()]), graceMs).catch((error: unknown) => log.warn({ err: (error as Error).message }, 'bus drain failed'));
          await connectedBus.close();
          await modelBus?.close();
          log.info('router stopped');
        })();
        return closing;
      },
    };
  } catch (error) {
    await catalog?.close();
    await modelBus?.close();
    await bus?.close();
    throw error;
  }
}

/** An index folder's catalog: it never changes while the router runs. */
function staticCatalog(catalog: Catalog): CatalogSource & { close(): Promise<void> } {
  return {
    current: catalog,
    async close() {
      catalog.gating.dispose();
    },
  };
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
