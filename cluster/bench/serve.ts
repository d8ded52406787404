/**
 * What serving costs: throughput and latency of POST /v1/search on a whole cluster
 * started with `dsi up`, next to the same search in process on the same queries (the
 * floor: no HTTP, no NATS, no process hops).
 *
 *   npm run bench:serve -- --index DIR [--queries FILE] [--duration S] [--replicas N] [--shards-per-expert N]
 *                          [--rate R] [--deadline-ms MS] [--backend NAME] [--out FILE.json]
 *
 * Queries come from a BEIR queries.jsonl or .jsonl.gz ({"_id","text"} per line): --queries, else the
 * demo collection's. Runs, each --duration seconds (default 10): one client, 16 and 64
 * concurrent clients (autocannon), then a fixed rate (default 200 req/s) twice:
 * autocannon's rate mode, which sends each connection's budget for a second in one burst
 * at the start of that second (so its latencies include queueing behind the burst), and
 * an open-loop run here that spaces requests evenly and times each from its scheduled
 * start (no coordinated omission). Everything shares this machine's cores with the
 * benchmark itself, so read the figures as relative, not as a server's capacity.
 */
import { spawn } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { gunzipSync } from 'node:zlib';
import { parseArgs } from 'node:util';
import { createLogger } from '../../shared/log.ts';
import { initBackend } from '../../shared/model/backend.ts';
import { LocalIndex } from '../local-index.ts';

const REPO = fileURLToPath(new URL('../..', import.meta.url));
const CONCURRENCY = [1, 16, 64] as const;

const { values } = parseArgs({
  options: {
    index: { type: 'string' },
    queries: { type: 'string', default: join(REPO, 'data', 'demo', 'queries.jsonl') },
    duration: { type: 'string', default: '10' },
    replicas: { type: 'string', default: '1' },
    'shards-per-expert': { type: 'string', default: '1' },
    rate: { type: 'string', default: '200' },
    'deadline-ms': { type: 'string' },
    backend: { type: 'string', default: 'auto' },
    out: { type: 'string' },
  },
});
if (!values.index) {
  process.stderr.write('usage: npm run bench:serve -- --index DIR [--queries FILE] [--duration S] [--replicas N] [--shards-per-expert N] [--rate R] [--deadline-ms MS] [--backend NAME] [--out FILE.json]\n');
  process.exit(2);
}
const indexDir = values.index;
const durationS = Number(values.duration);
const queries = readQueries(values.queries!);

interface Row {
  name: string;
  requests: number;
  rps: number;
  p50_ms: number;
  p99_ms: number;
  non2xx: number;
  errors: number;
  degraded: number;
}

const log = createLogger({ name: 'bench-serve', level: 'warn' });
const backend = await initBackend({ prefer: values.backend as 'auto', log });
process.stderr.write(`bench:serve  index ${indexDir}  ${queries.length} queries from ${values.queries}  backend ${backend}  ${durationS} s per run\n`);

const rows: Row[] = [await inProcess()];
const cluster = await startCluster();
try {
  for (const connections of CONCURRENCY) rows.push(await drive(`HTTP, ${connections} client${connections > 1 ? 's' : ''}`, cluster.url, { connections }));
  const rate = Number(values.rate);
  rows.push(await drive(`HTTP, ${rate} req/s (autocannon)`, cluster.url, { connections: 32, overallRate: rate }));
  rows.push(await paced(`HTTP, ${rate} req/s (paced)`, cluster.url, rate));
} finally {
  await cluster.stop();
}

printTable(rows);
if (values.out) writeFileSync(values.out, `${JSON.stringify({ index: indexDir, queries: values.queries, backend, duration_s: durationS, replicas: Number(values.replicas), shards_per_expert: Number(values['shards-per-expert']), at: new Date().toISOString(), rows }, null, 2)}\n`);

/** The same queries through LocalIndex.search in this process, one after another, for as long as one HTTP run lasts. */
async function inProcess(): Promise<Row> {
  process.stderr.write('in-process search...\n');
  const { index } = await LocalIndex.open(indexDir);
  try {
    for (let i = 0; i < Math.min(50, queries.length); i++) await index.search(queries[i]!, 10);
    const latencies: number[] = [];
    const started = performance.now();
    const until = started + durationS * 1000;
    for (let i = 0; performance.now() < until; i++) {
      const t = performance.now();
      await index.search(queries[i % queries.length]!, 10);
      latencies.push(performance.now() - t);
    }
    const elapsed = (performance.now() - started) / 1000;
    latencies.sort((x, y) => x - y);
    const pct = (q: number) => latencies[Math.min(latencies.length - 1, Math.ceil(q * latencies.length) - 1)]!;
    return { name: 'in-process search, 1 caller', requests: latencies.length, rps: latencies.length / elapsed, p50_ms: pct(0.5), p99_ms: pct(0.99), non2xx: 0, errors: 0, degraded: 0 };
  } finally {
    index.dispose();
  }
}

async function drive(name: string, url: string, opts: { connections: number; overallRate?: number }): Promise<Row> {
  process.stderr.write(`${name}...\n`);
  let next = 0;
  let degraded = 0;
  const result = await autocannon({
    url: `${url}/v1/search`,
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    connections: opts.connections,
    ...(opts.overallRate ? { overallRate: opts.overallRate } : {}),
    duration: durationS,
    requests: [
      {
        // Each request carries the next query of the file, so the cluster sees varied routing, not one cached path.
        setupRequest: (request: Record<string, unknown>) => ({ ...request, body: JSON.stringify({ query: queries[next++ % queries.length] }) }),
        onResponse: (_status: number, body: string) => {
          if (body.includes('"degraded":true')) degraded++;
        },
      },
    ],
  });
  return { name, requests: result.requests.total, rps: result.requests.average, p50_ms: result.latency.p50, p99_ms: result.latency.p99, non2xx: result.non2xx, errors: result.errors, degraded };
}

/** Open loop: one request every 1000/rate ms whatever the answers do, each timed from when it was due. */
async function paced(name: string, url: string, rate: number): Promise<Row> {
  process.stderr.write(`${name}...\n`);
  const total = Math.round(rate * durationS);
  const interval = 1000 / rate;
  const latencies: number[] = [];
  let non2xx = 0;
  let errors = 0;
  let degraded = 0;
  const inflight: Promise<void>[] = [];
  const started = performance.now();
  for (let i = 0; i < total; i++) {
    const due = started + i * interval;
    const wait = due - performance.now();
    if (wait > 0) await new Promise((r) => setTimeout(r, wait));
    const body = JSON.stringify({ query: queries[i % queries.length] });
    inflight.push(
      fetch(`${url}/v1/search`, { method: 'POST', headers: { 'content-type': 'application/json' }, body })
        .then(async (response) => {
          const text = await response.text();
          latencies.push(performance.now() - due);
          if (response.status < 200 || response.status > 299) non2xx++;
          else if (text.includes('"degraded":true')) degraded++;
        })
        .catch(() => {
          errors++;
        }),
    );
  }
  await Promise.all(inflight);
  const elapsed = (performance.now() - started) / 1000;
  latencies.sort((x, y) => x - y);
  const pct = (q: number) => latencies[Math.min(latencies.length - 1, Math.ceil(q * latencies.length) - 1)] ?? NaN;
  return { name, requests: total, rps: latencies.length / elapsed, p50_ms: pct(0.5), p99_ms: pct(0.99), non2xx, errors, degraded };
}

interface AutocannonResult {
  requests: { average: number; total: number };
  latency: { p50: number; p99: number };
  non2xx: number;
  errors: number;
}

/** autocannon ships no type declarations: the few fields used here are typed above. */
async function autocannon(options: Record<string, unknown>): Promise<AutocannonResult> {
  const specifier: string = 'autocannon';
  const run = ((await import(specifier)) as { default: (o: Record<string, unknown>) => Promise<AutocannonResult> }).default;
  return run(options);
}

async function startCluster(): Promise<{ url: string; stop(): Promise<void> }> {
  const port = await freePort();
  const args = [join(REPO, 'bin', 'dsi.js'), 'up', '--index', indexDir, '--port', String(port), '--replicas', String(values.replicas), '--shards-per-expert', String(values['shards-per-expert'])];
  if (values['deadline-ms']) args.push('--deadline-ms', values['deadline-ms']);
  process.stderr.write(`starting: dsi ${args.slice(1).join(' ')}\n`);
  const child = spawn(process.execPath, args, {
    cwd: REPO,
    env: { ...process.env, DSI_LOG_JSON: '1', DSI_LOG_LEVEL: 'warn', ...(backend ? { DSI_BACKEND: backend } : {}) },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  const url = await new Promise<string>((resolve, reject) => {
    const lines = createInterface({ input: child.stdout! });
    lines.on('line', (line) => {
      const m = /^dsi up: ready at (\S+)/.exec(line);
      if (m) resolve(m[1]!);
    });
    void exited.then((code) => reject(new Error(`dsi up exited (${code}) before it was ready`)));
  });
  return {
    url,
    async stop() {
      child.kill('SIGTERM');
      await exited;
    },
  };
}

/** The texts of a BEIR queries file, gzipped (queries.jsonl.gz, as the collections ship) or not; a file that cannot be read ends the run with its reason. */
function readQueries(path: string): string[] {
  let text: string;
  try {
    const bytes = readFileSync(path);
    text = (path.endsWith('.gz') ? gunzipSync(bytes) : bytes).toString('utf8');
  } catch (error) {
    process.stderr.write(`bench:serve: cannot read queries from ${path}: ${(error as Error).message}\n`);
    process.exit(2);
  }
  const out: string[] = [];
  for (const line of text.split('\n')) {
    if (!line.trim()) continue;
    const text = (JSON.parse(line) as { text?: unknown }).text;
    if (typeof text === 'string' && text.trim()) out.push(text);
  }
  if (out.length === 0) throw new Error(`${path}: no queries`);
  return out;
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => resolve(typeof address === 'object' && address ? address.port : 0));
    });
  });
}

function printTable(table: Row[]): void {
  const header = `${'run'.padEnd(34)} ${'requests'.padStart(9)} ${'req/s'.padStart(8)} ${'p50 ms'.padStart(8)} ${'p99 ms'.padStart(8)} ${'non-2xx'.padStart(8)} ${'errors'.padStart(7)} ${'degraded'.padStart(9)}\n`;
  process.stdout.write(`\n${header}`);
  for (const r of table) {
    process.stdout.write(
      `${r.name.padEnd(34)} ${String(r.requests).padStart(9)} ${r.rps.toFixed(1).padStart(8)} ${r.p50_ms.toFixed(2).padStart(8)} ${r.p99_ms.toFixed(2).padStart(8)} ${String(r.non2xx).padStart(8)} ${String(r.errors).padStart(7)} ${String(r.degraded).padStart(9)}\n`,
    );
  }
}
