import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LocalIndex } from '../cluster/local-index.ts';
import { initBackend } from '../shared/model/backend.ts';
import { buildDemoIndex, demoQueries } from './helpers/demo-index.ts';
import { startNatsServer, type NatsServerHandle } from './helpers/nats-server.ts';
import { ProcessRegistry, type DsiProcess } from './helpers/processes.ts';
import { ApiContract } from './helpers/openapi-contract.ts';
import { waitFor } from './helpers/traffic.ts';

/**
 * The router over HTTP against real experts on a real nats-server, one replica per shard:
 * its answers are those of the same search in process, bad input gets exact 4xx codes, and the
 * status routes say what the cluster is doing. Ends by killing a shard's only expert.
 */
let work: string;
let indexDir: string;
let nats: NatsServerHandle;
let local: LocalIndex;
const processes = new ProcessRegistry();
const experts = new Map<string, DsiProcess>();
let base: string;

const QUERIES = demoQueries(48);

beforeAll(async () => {
  work = mkdtempSync(join(tmpdir(), 'dsi-router-'));
  indexDir = join(work, 'index');
  const [, server] = await Promise.all([buildDemoIndex(indexDir), startNatsServer()]);
  nats = server;
  for (const shard of ['s0', 's1']) experts.set(shard, processes.spawnDsi(['expert', '--index', indexDir, '--shard', shard, '--nats', nats.url]));
  const router = processes.spawnDsi(['router', '--index', indexDir, '--port', '0', '--nats', nats.url]);
  await initBackend({ prefer: 'wasm' });
  local = (await LocalIndex.open(indexDir)).index;
  base = (JSON.parse(await router.waitForLine(/router listening/)) as { url: string }).url;
  await waitFor(async () => (await fetch(`${base}/readyz`)).status === 200, 20_000);
}, 120_000);

afterAll(async () => {
  await processes.killAll();
  await nats?.stop();
  local?.dispose();
  rmSync(work, { recursive: true, force: true });
});

describe('POST /v1/search', () => {
  it('answers exactly what the same search answers in process', async () => {
    expect(QUERIES.length).toBeGreaterThan(20);
    for (const query of QUERIES) {
      for (const [k, fanout] of [[10, undefined], [3, 1], [25, 4]] as const) {
        const { status, body } = await search({ query, k, ...(fanout ? { fanout } : {}) });
        expect(status).toBe(200);
        const expected = await local.search(query, k, fanout);
        expect(body.degraded).toBe(false);
        expect(body.missing_shards).toEqual([]);
        expect(body.results.map((r) => [r.id, r.docid, r.shard])).toEqual(expected.hits.map((h) => [h.id, h.docid, h.shard]));
        body.results.forEach((r, i) => expect(r.score).toBeCloseTo(expected.hits[i]!.score, 9));
        expect(body.routed.map((r) => r.topic)).toEqual(expected.routed.map((r) => r.topic));
        body.routed.forEach((r, i) => expect(r.p).toBeCloseTo(Math.exp(expected.routed[i]!.logp), 9));
      }
    }
  });

  it("titles each result, from the records of the shard that found it (the router holds none)", async () => {
    const { body } = await search({ query: 'real-time strategy game', k: 5 });
    expect(body.results).toHaveLength(5);
    const docs = new Map(readFileSync(join(indexDir, 'docs.jsonl'), 'utf8').trim().split('\n').map((l) => {
      const d = JSON.parse(l) as { id: string; title: string };
      return [d.id, d.title] as const;
    }));
    for (const r of body.results) expect(r.title).toBe(docs.get(r.id));
    expect(body.took_ms).toBeGreaterThan(0);
  });
});

describe('bad input', () => {
  const big = JSON.stringify({ query: 'x'.repeat(17 * 1024) });
  const cases: [string, number, { method?: string; path?: string; body?: string; chunked?: boolean }][] = [
    ['invalid JSON', 400, { body: '{"query":' }],
    ['a JSON array', 400, { body: '[]' }],
    ['JSON null', 400, { body: 'null' }],
    ['no query', 400, { body: '{}' }],
    ['a numeric query', 400, { body: '{"query":42}' }],
    ['an empty query', 400, { body: '{"query":""}' }],
    ['a whitespace-only query', 400, { body: '{"query":" \\t\\n "}' }],
    ['a query over 1,000 characters', 400, { body: JSON.stringify({ query: 'a'.repeat(1001) }) }],
    ['a query of exactly 1,000 characters', 200, { body: JSON.stringify({ query: 'a '.repeat(500) }) }],
    ['k = 0', 400, { body: '{"query":"x","k":0}' }],
    ['k = 101', 400, { body: '{"query":"x","k":101}' }],
    ['k = 2.5', 400, { body: '{"query":"x","k":2.5}' }],
    ['k as a string', 400, { body: '{"query":"x","k":"5"}' }],
    ['k = 100', 200, { body: '{"query":"x","k":100}' }],
    ['fanout = 0', 400, { body: '{"query":"x","fanout":0}' }],
    ['fanout = 17', 400, { body: '{"query":"x","fanout":17}' }],
    ['fanout as a string', 400, { body: '{"query":"x","fanout":"2"}' }],
    ['fanout = 16', 200, { body: '{"query":"x","fanout":16}' }],
    ['an unknown field', 400, { body: '{"query":"x","limit":3}' }],
    ['a body over 16 KB', 413, { body: big }],
    ['a chunked body over 16 KB', 413, { body: big, chunked: true }],
    ['JSON sent with no content type', 200, { body: '{"query":"x"}' }],
    ['GET on the search route', 404, { method: 'GET', path: '/v1/search' }],
    ['an unknown route', 404, { method: 'GET', path: '/v2/everything' }],
    ['an unknown document', 404, { method: 'GET', path: '/v1/docs/no-such-doc' }],
  ];

  it.each(cases)('%s → %i', async (_name, expected, request) => {
    // A stream has no length to announce: it goes out chunked, and the limit must hold while reading.
    const payload = request.chunked && request.body ? new Blob([request.body]).stream() : request.body;
    const response = await fetch(`${base}${request.path ?? '/v1/search'}`, {
      method: request.method ?? 'POST',
      body: payload,
      ...(request.chunked ? { duplex: 'half' } : {}),
    } as RequestInit);
    expect(response.status).toBe(expected);
    const body = (await response.json()) as { error?: { code: string; message: string } };
    if (expected === 200) return;
    expect(body.error).toEqual({ code: expect.any(String), message: expect.any(String) });
    expect(body.error!.code).toBe({ 400: 'bad_input', 404: 'not_found', 413: 'payload_too_large' }[expected]);
  });
});

describe('status routes', () => {
  it("GET /v1/docs/:id returns the record from the shard that holds it, 404 when no shard does, 400 for an id too long", async () => {
    for (const shard of ['s0', 's1']) {
      const record = docOf(shard);
      const response = await fetch(`${base}/v1/docs/${encodeURIComponent(record.id)}`);
      expect(response.status).toBe(200);
      expect(await response.json()).toEqual({ id: record.id, docid: record.docid, title: record.title, text: record.text });
    }
    const missing = await fetch(`${base}/v1/docs/no-such-doc`);
    expect(missing.status).toBe(404);
    expect(await missing.json()).toEqual({ error: { code: 'not_found', message: "no document with id 'no-such-doc'" } });
    const long = await fetch(`${base}/v1/docs/${'x'.repeat(1025)}`);
    expect(long.status).toBe(400);
    expect(((await long.json()) as { error: { code: string } }).error.code).toBe('bad_input');
  });

  it('GET /v1/shards reports topics, docs, live replicas, build quality and recent latency', async () => {
    await search({ query: 'image viewer' });
    const { shards } = (await (await fetch(`${base}/v1/shards`)).json()) as { shards: Record<string, unknown>[] };
    expect(shards.map((s) => s.id)).toEqual(['s0', 's1']);
    for (const s of shards) {
      const report = JSON.parse(readFileSync(join(indexDir, 'shards', String(s.id), 'report.json'), 'utf8')) as Record<string, unknown>;
      expect(s).toMatchObject({ topics: report.topics, docs: report.docs, version: 1, live_replicas: 1, collision_rate: report.collision_rate, 'index_recall@1': report['index_recall@1'], 'hits@10': report['hits@10'] });
      expect((s.replicas as { pid: number }[])[0]!.pid).toBe(experts.get(String(s.id))!.pid);
      const latency = s.latency_ms as { p50: number; p99: number; window: number };
      expect(latency.window).toBeGreaterThan(0);
      expect(latency.p50).toBeGreaterThan(0);
      expect(latency.p99).toBeGreaterThanOrEqual(latency.p50);
    }
  });

  it('GET /healthz and /readyz say alive and ready', async () => {
    expect(await (await fetch(`${base}/healthz`)).json()).toEqual({ status: 'ok' });
    expect(await (await fetch(`${base}/readyz`)).json()).toEqual({ ready: true, reasons: [] });
  });

  it('GET /metrics has request counts and latencies by route and status, shard latency, errors by code and shard quality', async () => {
    const response = await fetch(`${base}/metrics`);
    expect(response.headers.get('content-type')).toMatch(/text\/plain/);
    const text = await response.text();
    expect(text).toMatch(/dsi_http_requests_total\{route="\/v1\/search",method="POST",status="200"\} \d+/);
    expect(text).toMatch(/dsi_http_requests_total\{route="\/v1\/search",method="POST",status="400"\} \d+/);
    expect(text).toMatch(/dsi_http_requests_total\{route="unmatched",method="GET",status="404"\} \d+/);
    expect(text).toMatch(/dsi_http_request_duration_seconds_bucket\{le="0\.1",route="\/v1\/search",method="POST",status="200"\} \d+/);
    expect(text).toMatch(/dsi_shard_request_duration_seconds_count\{shard="s0",outcome="ok"\} \d+/);
    expect(text).toMatch(/dsi_errors_total\{code="bad_input"\} \d+/);
    expect(text).toMatch(/dsi_errors_total\{code="payload_too_large"\} \d+/);
    expect(text).toMatch(/dsi_shard_collision_rate\{shard="s1"\} [\d.]+/);
    expect(text).toMatch(/dsi_shard_index_recall_at_1\{shard="s0"\} [\d.]+/);
    expect(text).toMatch(/dsi_shard_live_replicas\{shard="s1"\} 1/);
  });
});

describe('the OpenAPI contract', () => {
  it('every route answers as GET /openapi.json says, errors included', async () => {
    const contract = await ApiContract.of(await (await fetch(`${base}/openapi.json`)).json());
    const docId = (JSON.parse(readFileSync(join(indexDir, 'docs.jsonl'), 'utf8').split('\n')[3]!) as { id: string }).id;
    const post = (body: string): RequestInit => ({ method: 'POST', headers: { 'content-type': 'application/json' }, body });
    const cases: [method: string, template: string, path: string, init?: RequestInit][] = [
      ['POST', '/v1/search', '/v1/search', post('{"query":"image viewer","k":5}')],
      ['POST', '/v1/search', '/v1/search', post('{"query":"x","k":0}')],
      ['POST', '/v1/search', '/v1/search', post(JSON.stringify({ query: 'x'.repeat(20_000) }))],
      ['GET', '/v1/docs/{id}', `/v1/docs/${encodeURIComponent(docId)}`],
      ['GET', '/v1/docs/{id}', '/v1/docs/no-such-doc'],
      ['GET', '/v1/docs/{id}', `/v1/docs/${'x'.repeat(1025)}`],
      ['GET', '/v1/shards', '/v1/shards'],
      ['GET', '/v1/traffic', '/v1/traffic'],
      ['GET', '/healthz', '/healthz'],
      ['GET', '/readyz', '/readyz'],
      ['GET', '/metrics', '/metrics'],
      ['GET', '/openapi.json', '/openapi.json'],
      ['GET', '/', '/'],
      ['GET', '/status/app.js', '/status/app.js'],
      ['GET', '/status/style.css', '/status/style.css'],
      ['GET', '/status/chart.umd.min.js', '/status/chart.umd.min.js'],
    ];
    const statuses: number[] = [];
    for (const [method, template, path, init] of cases) {
      const response = await fetch(`${base}${path}`, { method, ...init });
      statuses.push(response.status);
      expect(await contract.check(method, template, response)).toEqual([]);
    }
    expect(statuses).toEqual([200, 400, 413, 200, 404, 400, 200, 200, 200, 200, 200, 200, 200, 200, 200, 200]);
    // The traffic series has seen the searches above.
    const traffic = (await (await fetch(`${base}/v1/traffic`)).json()) as { points: { requests_per_s: number }[] };
    expect(traffic.points.some((p) => p.requests_per_s > 0)).toBe(true);
  });
});

describe('a shard with no expert left', () => {
  it('answers from the other shard as degraded, or 503 when the query needs only the dead one, and is not ready', async () => {
    const shardOf = (topic: number) => (JSON.parse(readFileSync(join(indexDir, 'manifest.json'), 'utf8')) as { shards: { id: string; topics: number[] }[] }).shards.find((s) => s.topics.includes(topic))!.id;
    const both = QUERIES.find((q) => new Set(local.engine.route(q).routed.map((r) => shardOf(r.topic))).size === 2);
    const onlyS1 = QUERIES.find((q) => local.engine.route(q, 1).routed.every((r) => shardOf(r.topic) === 's1'));
    expect(both, 'a query routed to both shards').toBeDefined();
    expect(onlyS1, 'a query routed to s1 alone').toBeDefined();

    experts.get('s1')!.signal('SIGKILL');
    await experts.get('s1')!.exited(10_000);

    const started = performance.now();
    const { status, body } = await search({ query: both! });
    expect(performance.now() - started).toBeLessThan(300 + 200);
    expect(status).toBe(200);
    expect(body.degraded).toBe(true);
    expect(body.missing_shards).toEqual(['s1']);
    expect(body.results.length).toBeGreaterThan(0);
    expect(body.results.every((r) => r.shard === 's0')).toBe(true);

    const dead = await fetch(`${base}/v1/search`, { method: 'POST', body: JSON.stringify({ query: onlyS1, fanout: 1 }) });
    expect(dead.status).toBe(503);
    expect(((await dead.clone().json()) as { error: { code: string } }).error.code).toBe('shard_unavailable');
    const contract = await ApiContract.of(await (await fetch(`${base}/openapi.json`)).json());
    expect(await contract.check('POST', '/v1/search', dead)).toEqual([]);

    // The router holds no documents: those of s1 went with its expert, and no answer of s0 can say they do not exist.
    const ofS1 = await fetch(`${base}/v1/docs/${encodeURIComponent(docOf('s1').id)}`);
    expect(ofS1.status).toBe(503);
    const unavailable = (await ofS1.clone().json()) as { error: { code: string; message: string } };
    expect(unavailable.error.code).toBe('shard_unavailable');
    expect(unavailable.error.message).toMatch(/^shard s1: did not answer .* no other shard holds document/);
    expect(await contract.check('GET', '/v1/docs/{id}', ofS1)).toEqual([]);
    expect((await fetch(`${base}/v1/docs/no-such-doc`)).status).toBe(503);
    const ofS0 = await fetch(`${base}/v1/docs/${encodeURIComponent(docOf('s0').id)}`);
    expect(ofS0.status).toBe(200);
    expect(((await ofS0.json()) as { id: string }).id).toBe(docOf('s0').id);

    // Liveness comes from heartbeats: within HEARTBEAT_TIMEOUT_MS the shard is reported uncovered.
    await waitFor(async () => (await fetch(`${base}/readyz`)).status === 503, 6000);
    expect(await contract.check('GET', '/readyz', await fetch(`${base}/readyz`))).toEqual([]);
    const readiness = (await (await fetch(`${base}/readyz`)).json()) as { ready: boolean; reasons: string[] };
    expect(readiness).toEqual({ ready: false, reasons: ['shard s1 has no live replica'] });
  });
});

/** A document of the shard: its DocID starts with one of the shard's topics. */
function docOf(shard: string): { id: string; docid: string; title: string; text: string } {
  const { topics } = (JSON.parse(readFileSync(join(indexDir, 'manifest.json'), 'utf8')) as { shards: { id: string; topics: number[] }[] }).shards.find((s) => s.id === shard)!;
  const records = readFileSync(join(indexDir, 'docs.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l) as { id: string; docid: string; title: string; text: string });
  return records.find((r) => topics.includes(Number(r.docid.split('-')[0])))!;
}

interface SearchBody {
  results: { id: string; docid: string; score: number; shard: string; title: string }[];
  routed: { topic: number; p: number }[];
  took_ms: number;
  degraded: boolean;
  missing_shards: string[];
}

async function search(body: Record<string, unknown>): Promise<{ status: number; body: SearchBody }> {
  const response = await fetch(`${base}/v1/search`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
  return { status: response.status, body: (await response.json()) as SearchBody };
}
