import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client';
import type { ErrorCode } from '../shared/errors.ts';
import type { ShardInfo } from './catalog.ts';
import type { ShardView } from '../shared/bus/shard-view.ts';

/**
 * The router's Prometheus metrics, in a registry of its own (no process-wide default
 * registry: two routers in one test process must not share counters).
 */
const HTTP_BUCKETS = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5];
const SHARD_BUCKETS = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1];

export class RouterMetrics {
  readonly registry = new Registry();
  readonly #requests: Counter<'route' | 'method' | 'status'>;
  readonly #duration: Histogram<'route' | 'method' | 'status'>;
  readonly #shardDuration: Histogram<'shard' | 'outcome'>;
  readonly #errors: Counter<'code'>;
  readonly #degraded: Counter;

  /** `shards` is asked at every scrape: the shard list can change while the router runs. */
  constructor(shards: () => readonly ShardInfo[], view: ShardView) {
    const registers = [this.registry];
    collectDefaultMetrics({ register: this.registry, prefix: 'dsi_router_' });
    this.#requests = new Counter({ name: 'dsi_http_requests_total', help: 'HTTP requests answered, by route and status', labelNames: ['route', 'method', 'status'], registers });
    this.#duration = new Histogram({ name: 'dsi_http_request_duration_seconds', help: 'HTTP request latency, by route and status', labelNames: ['route', 'method', 'status'], buckets: HTTP_BUCKETS, registers });
    this.#shardDuration = new Histogram({ name: 'dsi_shard_request_duration_seconds', help: 'Latency of the router\'s requests to a shard (retries included), by outcome', labelNames: ['shard', 'outcome'], buckets: SHARD_BUCKETS, registers });
    this.#errors = new Counter({ name: 'dsi_errors_total', help: 'Errors, by code (HTTP error responses and shard failures)', labelNames: ['code'], registers });
    this.#degraded = new Counter({ name: 'dsi_search_degraded_total', help: 'Searches answered without some of their shards', registers });
    const quality = (name: string, help: string, value: (s: ShardInfo) => number | null) => {
      new Gauge({
        name,
        help,
        labelNames: ['shard'],
        registers,
        collect() {
          this.reset();
          for (const s of shards()) {
            const v = value(s);
            if (v !== null) this.set({ shard: s.id }, v);
          }
        },
      });
    };
    quality('dsi_shard_collision_rate', 'Share of a shard\'s documents whose text decodes to a DocID another document\'s text also decodes to (build report)', (s) => s.collision_rate);
    quality('dsi_shard_index_recall_at_1', 'Share of a shard\'s documents whose text decodes top-1 to their own DocID (build report)', (s) => s['index_recall@1']);
    quality('dsi_shard_model_version', 'Model version the catalog names as current for a shard', (s) => s.version);
    quality('dsi_shard_hits_at_10', 'Hits@10 of the report split\'s queries of a shard (build report)', (s) => s['hits@10']);
    new Gauge({
      name: 'dsi_shard_live_replicas',
      help: 'Replicas of a shard heartbeating and not draining',
      labelNames: ['shard'],
      registers,
      collect() {
        this.reset();
        for (const s of shards()) this.set({ shard: s.id }, view.liveReplicas(s.id).length);
      },
    });
  }

  observeHttp(route: string, method: string, status: number, seconds: number): void {
    const labels = { route, method, status: String(status) };
    this.#requests.inc(labels);
    this.#duration.observe(labels, seconds);
  }

  observeShard(shard: string, ms: number, outcome: 'ok' | ErrorCode): void {
    this.#shardDuration.observe({ shard, outcome }, ms / 1000);
    if (outcome !== 'ok') this.#errors.inc({ code: outcome });
  }

  countError(code: ErrorCode): void {
    this.#errors.inc({ code });
  }

  countDegraded(): void {
    this.#degraded.inc();
  }

  async render(): Promise<{ contentType: string; body: string }> {
    return { contentType: this.registry.contentType, body: await this.registry.metrics() };
  }
}
