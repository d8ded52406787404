/**
 * Latency seen by clients while one shard's model is swapped, against the same traffic
 * just before: requests are sent at a fixed rate to a running cluster, a shard's current
 * model is republished as a new version, and the script reports p50/p99/max and failures
 * in the window before the swap and in the window that contains it.
 *
 *   DSI_NATS_TOKEN=$(cat TOKEN_FILE) node --import tsx cluster/bench/swap-under-load.ts --url http://127.0.0.1:8080 --nats nats://127.0.0.1:4222 --shard s0 --queries queries.jsonl [--rate 30]
 *
 * (`dsi up` prints the NATS URL and the file holding its bus token.)
 */
import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { connectBus } from '../../shared/bus/connection.ts';
import { createLogger } from '../../shared/log.ts';
import { Registry } from '../../shared/registry/registry.ts';

const { values } = parseArgs({ options: { url: { type: 'string' }, nats: { type: 'string' }, shard: { type: 'string', default: 's0' }, queries: { type: 'string' }, rate: { type: 'string', default: '30' }, seconds: { type: 'string', default: '8' } } });
if (!values.url || !values.nats || !values.queries) throw new Error('--url, --nats and --queries are required');
const url = values.url;
const rate = Number(values.rate);
const windowMs = Number(values.seconds) * 1000;
const queries = readFileSync(values.queries, 'utf8').trim().split('\n').map((l) => (JSON.parse(l) as { text: string }).text);

interface Sample { ms: number; ok: boolean; version?: number; missing?: string[] }

async function traffic(durationMs: number, shard: string): Promise<Sample[]> {
  const samples: Promise<Sample>[] = [];
  const start = performance.now();
  for (let i = 0; performance.now() - start < durationMs; i++) {
    const due = start + (i * 1000) / rate;
    const wait = due - performance.now();
    if (wait > 0) await new Promise((r) => setTimeout(r, wait));
    const sent = performance.now();
    samples.push(
      fetch(`${url}/v1/search`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ query: queries[i % queries.length] }) })
        .then(async (r) => {
          const body = (await r.json()) as { degraded?: boolean; missing_shards?: string[]; answered_by?: { shard: string; version: number }[] };
          return { ms: performance.now() - sent, ok: r.status === 200 && !body.degraded, version: body.answered_by?.find((a) => a.shard === shard)?.version, missing: body.missing_shards ?? (r.status === 200 ? [] : [`HTTP ${r.status}`]) };
        })
        .catch(() => ({ ms: performance.now() - sent, ok: false })),
    );
  }
  return Promise.all(samples);
}

function summary(name: string, samples: Sample[]) {
  const ms = samples.map((s) => s.ms).sort((a, b) => a - b);
  const q = (p: number) => +ms[Math.min(ms.length - 1, Math.floor(p * ms.length))]!.toFixed(1);
  const missing: Record<string, number> = {};
  for (const s of samples) for (const m of s.missing ?? []) missing[m] = (missing[m] ?? 0) + 1;
  return { window: name, requests: samples.length, failed: samples.filter((s) => !s.ok).length, missing: JSON.stringify(missing), p50_ms: q(0.5), p99_ms: q(0.99), max_ms: +ms.at(-1)!.toFixed(1) };
}

const bus = await connectBus({ url: values.nats, name: 'swap-bench', token: process.env.DSI_NATS_TOKEN, log: createLogger({ name: 'swap-bench', level: 'warn' }) });
const registry = await Registry.open(bus);
const shard = values.shard!;
const before = await traffic(windowMs, shard);
const record = await registry.shard(shard);
const during = traffic(windowMs, shard);
const publishedAt = performance.now();
const { version: _, ...current } = record.current;
const next = await registry.publishShard(shard, record.topics, { ...current, published_at: new Date().toISOString(), note: 'republished by the swap benchmark' });
const duringSamples = await during;
const swapped = duringSamples.some((s) => s.version === next.current.version);
console.table([summary('before the swap', before), summary('with the swap', duringSamples)]);
console.log(JSON.stringify({ shard, rate, from_version: record.current.version, to_version: next.current.version, swapped_within_window: swapped, publish_to_end_ms: Math.round(performance.now() - publishedAt), before: summary('before', before), during: summary('during', duringSamples) }));
await bus.close();
