import type { Bus } from '../../shared/bus/connection.ts';
import type { WorkerHeartbeat } from '../../shared/bus/protocol.ts';
import { JobStore } from './job-store.ts';

/** One job in flight, as `dsi status` shows it. */
export interface JobStatusRow {
  build: string;
  job: string;
  label: string;
  state: 'queued' | 'running';
  /** Deliveries so far, and how many the queue allows (null while no worker has set it). */
  attempts: number;
  max_deliveries: number | null;
  worker: string | null;
  /** False when the worker running it is no longer heard from: the job goes to another after its ack wait. */
  worker_alive: boolean | null;
  enqueued_at: string;
  last_error: string | null;
}

/** One live worker. */
export interface WorkerStatusRow {
  worker: string;
  host: string;
  pid: number;
  slots: number;
  running: string[];
  started_at: string;
}

/** The jobs in flight on a cluster's job queue, and its live workers (heard from by the caller). */
export async function jobQueueStatus(bus: Pick<Bus, 'keyValue' | 'objectStore' | 'workQueue'>, live: readonly WorkerHeartbeat[]): Promise<{ jobs: JobStatusRow[]; workers: WorkerStatusRow[] }> {
  const store = await JobStore.open(bus);
  const delivery = await store.queue.deliverySettings();
  const alive = new Set(live.map((w) => w.worker));
  const jobs = (await store.records())
    .map((r): JobStatusRow => ({
      build: r.build,
      job: r.job,
      label: r.label,
      state: r.state,
      attempts: r.attempts,
      max_deliveries: delivery && delivery.maxDeliver > 0 ? delivery.maxDeliver : null,
      worker: r.worker,
      worker_alive: r.worker === null ? null : alive.has(r.worker),
      enqueued_at: r.enqueued_at,
      last_error: r.last_error,
    }))
    .sort((a, b) => a.enqueued_at.localeCompare(b.enqueued_at) || a.label.localeCompare(b.label));
  const workers = live.map((w) => ({ worker: w.worker, host: w.host, pid: w.pid, slots: w.slots, running: w.running.map((r) => `${r.label} (${r.build})`), started_at: w.started_at }));
  return { jobs, workers };
}

export function formatJobQueue(status: { jobs: readonly JobStatusRow[]; workers: readonly WorkerStatusRow[] }): string {
  if (status.jobs.length === 0 && status.workers.length === 0) return '';
  const jobs = table(
    ['build', 'job', 'state', 'attempts', 'worker', 'last error'],
    status.jobs.map((j) => [
      j.build,
      j.label,
      j.state,
      `${j.attempts}${j.max_deliveries ? `/${j.max_deliveries}` : ''}`,
      j.worker === null ? '-' : `${j.worker}${j.worker_alive ? '' : ' (silent: redelivered after its ack wait)'}`,
      j.last_error ?? '',
    ]),
  );
  const workers = table(['worker', 'host', 'pid', 'slots', 'running'], status.workers.map((w) => [w.worker, w.host, String(w.pid), String(w.slots), w.running.join(', ') || 'idle']));
  return `\njobs in flight: ${status.jobs.length}\n${status.jobs.length > 0 ? jobs : ''}\nworkers alive: ${status.workers.length}\n${status.workers.length > 0 ? workers : ''}`;
}

function table(header: string[], body: string[][]): string {
  const widths = header.map((h, i) => Math.max(h.length, ...body.map((row) => row[i]!.length)));
  const line = (cells: string[]) => cells.map((c, i) => c.padEnd(widths[i]!)).join('  ').trimEnd();
  return `${[line(header), ...body.map(line)].join('\n')}\n`;
}
