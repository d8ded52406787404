import { setTimeout as sleep } from 'node:timers/promises';
import { HEARTBEAT_INTERVAL_MS } from '../../shared/bus/protocol.ts';
import { commandLogger } from './runtime.ts';
import type { ShardRecord } from '../../shared/registry/records.ts';
import { followHeartbeats, ShardView } from '../../shared/bus/shard-view.ts';
import { parseFlags, type Command } from './context.ts';
import { NATS_FLAGS, NATS_FLAGS_HELP, natsAddress } from './nats-flags.ts';
import { withRegistry } from './registry-connection.ts';
import { formatJobQueue, jobQueueStatus } from '../distributed/jobs-status.ts';
import { LiveWorkers } from '../distributed/live-workers.ts';

/** One row of `dsi status`: the registry's view of a shard and the replicas heard from. Field names follow GET /v1/shards. */
export interface ShardStatusRow {
  id: string;
  topics: number[];
  docs: number;
  published_version: number;
  previous_version: number | null;
  live_replicas: number;
  /** Versions the live replicas serve (a swap in progress shows two). */
  served_versions: number[];
  collision_rate: number;
  'index_recall@1': number;
  'hits@10': number | null;
  retrained_at: string | null;
  note: string;
}

/** Heartbeats come every second: listening a little longer than that hears every live replica once. */
const LISTEN_MS = HEARTBEAT_INTERVAL_MS + 500;

export const statusCommand: Command = {
  summary: 'print the shards of a cluster (topics, documents, version, live replicas, quality figures, last retrained), its training jobs in flight and its workers',
  usage: `dsi status [--json] ${NATS_FLAGS_HELP}`,
  async run(argv, ctx) {
    const { values } = parseFlags(argv, { json: { type: 'boolean' }, ...NATS_FLAGS, 'log-level': { type: 'string' }, 'log-format': { type: 'string' } });
    const nats = natsAddress(values, ctx.env);
    const { log } = commandLogger(ctx, 'dsi-status', values, { level: 'warn' });
    const { rows, queue } = await withRegistry(nats, 'dsi-status', log, async (registry, bus) => {
      const records = await registry.shards();
      const view = new ShardView(records.map((r) => r.id));
      const heartbeats = followHeartbeats(bus, view, log);
      const workers = new LiveWorkers(bus, log);
      await sleep(LISTEN_MS);
      await heartbeats.drain();
      const live = workers.alive();
      await workers.stop();
      return { rows: records.map((r) => statusRow(r, view)), queue: await jobQueueStatus(bus, live) };
    });
    ctx.stdout.write(values.json ? `${JSON.stringify({ shards: rows, ...queue })}\n` : formatTable(rows) + formatJobQueue(queue));
    return 0;
  },
};

function statusRow(record: ShardRecord, view: ShardView): ShardStatusRow {
  const live = view.liveReplicas(record.id);
  return {
    id: record.id,
    topics: record.topics,
    docs: record.current.docs,
    published_version: record.current.version,
    previous_version: record.previous?.version ?? null,
    live_replicas: live.length,
    served_versions: [...new Set(live.map((r) => r.version))].sort((a, b) => a - b),
    ...record.current.figures,
    retrained_at: record.retrained_at,
    note: record.current.note,
  };
}

function formatTable(rows: readonly ShardStatusRow[]): string {
  const header = ['shard', 'topics', 'docs', 'version', 'live', 'collision', 'recall@1', 'hits@10', 'last retrained'];
  const body = rows.map((r) => [
    r.id,
    r.topics.join(','),
    String(r.docs),
    `v${r.published_version}${r.previous_version ? ` (prev v${r.previous_version})` : ''}${r.served_versions.some((v) => v !== r.published_version) ? ` serving ${r.served_versions.map((v) => `v${v}`).join('+')}` : ''}`,
    String(r.live_replicas),
    r.collision_rate.toFixed(3),
    r['index_recall@1'].toFixed(3),
    r['hits@10'] === null ? '-' : r['hits@10'].toFixed(3),
    r.retrained_at ?? 'never',
  ]);
  const widths = header.map((h, i) => Math.max(h.length, ...body.map((row) => row[i]!.length)));
  const line = (cells: string[]) => cells.map((c, i) => c.padEnd(widths[i]!)).join('  ').trimEnd();
  return `${[line(header), ...body.map(line)].join('\n')}\n`;
}
