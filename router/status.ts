import type { Bus } from '../shared/bus/connection.ts';
import type { ShardFigures } from '../shared/registry/records.ts';
import type { CatalogSource } from './catalog.ts';
import type { LatencyWindow } from './latency-window.ts';
import type { ReplicaStatus, ShardView } from '../shared/bus/shard-view.ts';

/** What GET /v1/shards and GET /readyz report, assembled from the catalog, the shard view and the latency windows. */
export interface ShardStatus {
  readonly id: string;
  readonly topics: readonly number[];
  readonly docs: number;
  /** Model version the live replicas serve (the highest, should they differ); null with none live. */
  readonly version: number | null;
  /** Version the catalog (the registry) names as current, and the one kept for rollback. */
  readonly published_version: number;
  readonly previous_version: number | null;
  readonly retrained_at: string | null;
  readonly previous_figures: ShardFigures | null;
  readonly live_replicas: number;
  readonly replicas: readonly ReplicaStatus[];
  readonly collision_rate: number;
  readonly 'index_recall@1': number;
  readonly 'hits@10': number | null;
  readonly latency_ms: { readonly p50: number | null; readonly p99: number | null; readonly window: number };
}

export interface Readiness {
  readonly ready: boolean;
  readonly reasons: string[];
}

export class ClusterStatus {
  readonly #catalog: CatalogSource;
  readonly #view: ShardView;
  readonly #latency: ReadonlyMap<string, LatencyWindow>;
  readonly #bus: Pick<Bus, 'isConnected'>;

  constructor(catalog: CatalogSource, view: ShardView, latency: ReadonlyMap<string, LatencyWindow>, bus: Pick<Bus, 'isConnected'>) {
    this.#catalog = catalog;
    this.#view = view;
    this.#latency = latency;
    this.#bus = bus;
  }

  shards(): ShardStatus[] {
    return this.#catalog.current.shards.map((s) => {
      const live = this.#view.liveReplicas(s.id);
      const window = this.#latency.get(s.id);
      const [p50, p99] = window ? window.percentiles([0.5, 0.99]) : [null, null];
      return {
        id: s.id,
        topics: s.topics,
        docs: s.docs,
        version: live.length > 0 ? Math.max(...live.map((r) => r.version)) : null,
        published_version: s.version,
        previous_version: s.previous_version,
        retrained_at: s.retrained_at,
        previous_figures: s.previous_figures,
        live_replicas: live.length,
        replicas: live,
        collision_rate: s.collision_rate,
        'index_recall@1': s['index_recall@1'],
        'hits@10': s['hits@10'],
        latency_ms: { p50: round(p50 ?? null), p99: round(p99 ?? null), window: window?.count ?? 0 },
      };
    });
  }

  /** Version of the gating model routing searches now. */
  gatingVersion(): number {
    return this.#catalog.current.gatingVersion;
  }

  /** Ready when the bus is connected and every shard has a live replica. */
  readiness(): Readiness {
    const reasons: string[] = [];
    if (!this.#bus.isConnected()) reasons.push('not connected to NATS');
    for (const shard of this.#view.uncovered()) reasons.push(`shard ${shard} has no live replica`);
    return { ready: reasons.length === 0, reasons };
  }
}

function round(ms: number | null): number | null {
  return ms === null ? null : Math.round(ms * 100) / 100;
}
