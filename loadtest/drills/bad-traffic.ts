import { connect } from 'node:net';
import { decode, encode } from '../../shared/bus/codec.ts';
import { connectBus, type Bus } from '../../shared/bus/connection.ts';
import { HEARTBEAT_INTERVAL_MS, MAX_BATCH_QUERIES, PROTOCOL_VERSION, Subjects } from '../../shared/bus/protocol.ts';
import { waitForLiveReplica } from '../../shared/bus/shard-view.ts';
import { createLogger } from '../../shared/log.ts';
import { httpClient } from '../node/http-client.ts';
import { memoryOf } from '../node/processes.ts';
import { result, type Drill } from './drill.ts';
import { sleep, type DrillCluster } from './drill-cluster.ts';
import { underLoad } from './under-load.ts';

/**
 * Bad traffic at rate, next to ordinary searches: malformed and hostile requests must each
 * get their exact 4xx, cost the router no lasting memory, and leave the searches of
 * everyone else untouched. Also malformed messages published straight onto an expert's
 * NATS subjects (a shard's own, and its process's batch subject), which it must answer
 * with bad_input and log.
 */
interface BadKind {
  readonly name: string;
  readonly body: () => string | Buffer;
  /** Statuses that are right for it. */
  readonly expect: readonly number[];
  /**
   * Also right: the connection closed while the client was still sending (EPIPE,
   * ECONNRESET). The router answers an oversized body 413 as soon as its length is known and
   * closes the connection rather than read the rest; a client still writing then sees the
   * close before it reads the answer.
   */
  readonly closedWhileSending?: boolean;
}

const KINDS: readonly BadKind[] = [
  { name: 'malformed JSON', body: () => '{"query": "strategy game", "k":', expect: [400] },
  { name: 'huge body (1 MB)', body: () => JSON.stringify({ query: 'x'.repeat(1 << 20) }), expect: [413], closedWhileSending: true },
  { name: 'invalid UTF-8 bytes', body: () => Buffer.from(Array.from({ length: 300 }, () => 0x80 + Math.floor(Math.random() * 0x7f))), expect: [400] },
  // Valid JSON, but a query of random code points (lone surrogates, controls, astral): a legal if odd query.
  { name: 'unicode garbage query', body: () => JSON.stringify({ query: garbage(200) }), expect: [200, 400] },
  { name: 'query of 10 KB', body: () => JSON.stringify({ query: 'word '.repeat(2048) }), expect: [400] },
  { name: 'k out of range', body: () => JSON.stringify({ query: 'image viewer', k: [0, -1, 101, 1e9, 2.5, '5'][Math.floor(Math.random() * 6)] }), expect: [400] },
  { name: 'unknown field', body: () => JSON.stringify({ query: 'image viewer', limit: 5 }), expect: [400] },
];

const SLOW_CLIENTS = 20;
/** Slow clients must be cut off by the router's request timeout (10 s) plus its check interval. */
const SLOW_CUTOFF_MS = 12_000;
const NATS_GARBAGE = 20;
const MAX_RSS_GROWTH_MB = 50;
/** Heartbeats come every few seconds (HEARTBEAT_INTERVAL_MS); a live replica is heard within this. */
const HEARTBEAT_WAIT_MS = 3 * HEARTBEAT_INTERVAL_MS;

export const badTrafficDrill: Drill = {
  name: 'bad-traffic',
  title: 'Bad traffic at rate: malformed JSON, 1 MB bodies, invalid UTF-8, unicode garbage, 10 KB queries, k out of range, slowloris bodies; garbage on the NATS subjects of a shard and of its expert process (batches)',
  expectation: `each bad request gets its 4xx (400, 413; 408 for a slow body within ${SLOW_CUTOFF_MS / 1000} s), ordinary searches unaffected (0 failed), router RSS grows < ${MAX_RSS_GROWTH_MB} MB, no crash; NATS garbage, on a shard's subject and on its process's batch subject, answered bad_input and logged by the expert`,
  async run(ctx) {
    const { cluster } = ctx;
    const router = cluster.router!;
    const durationS = 15;
    const badRate = 30;
    const rssBefore = memoryOf(router.pid)?.rss_mb ?? NaN;
    const byKind = new Map<string, Map<string, number>>();
    let wrong = 0;
    const slow: { status: string; ms: number }[] = [];
    let natsOk = 0;
    let batchOk = 0;
    const shard = cluster.shards[0]!;
    const rejectedBefore = rejectedLines(cluster, shard);
    const batchRejectedBefore = rejectedLines(cluster, shard, 'rejected batch search request');

    const client = httpClient(cluster.url, { maxSockets: 64, timeoutMs: 15_000 });
    const bad = async () => {
      const inflight: Promise<void>[] = [];
      for (let i = 0; i < badRate * durationS; i++) {
        const kind = KINDS[i % KINDS.length]!;
        inflight.push(
          client.send('POST', '/v1/search', kind.body(), { 'content-type': 'application/json' }).then((x) => {
            const label = x.error ?? String(x.status);
            const counts = byKind.get(kind.name) ?? new Map<string, number>();
            counts.set(label, (counts.get(label) ?? 0) + 1);
            byKind.set(kind.name, counts);
            const closedEarly = kind.closedWhileSending === true && (x.error === 'EPIPE' || x.error === 'ECONNRESET');
            if (!kind.expect.includes(x.status) && !closedEarly) wrong++;
          }),
        );
        await sleep(1000 / badRate);
      }
      await Promise.all(inflight);
    };
    const slowloris = () => Promise.all(Array.from({ length: SLOW_CLIENTS }, () => slowBody(new URL(cluster.url)).then((r) => void slow.push(r))));
    const natsGarbage = async () => {
      const bus = await connectBus({ url: cluster.natsUrl, name: 'drill-garbage', token: cluster.natsToken, log: createLogger({ name: 'drill', level: 'silent' }) });
      try {
        const payloads = [new TextEncoder().encode('definitely not msgpack'), encode({ v: PROTOCOL_VERSION, query: '', topics: [], k: 0 }), encode({ v: 99, query: 'x' }), new Uint8Array([0xc1, 0xff, 0x00])];
        for (let i = 0; i < NATS_GARBAGE; i++) {
          const reply = decode(await bus.request(Subjects.search(shard), payloads[i % payloads.length]!, 2000)) as { ok?: boolean; error?: { code?: string } };
          if (reply.ok === false && reply.error?.code === 'bad_input') natsOk++;
        }
        // The same process's batch subject: batches with no shard, too many, a wrong version, not msgpack.
        const batchSubject = Subjects.replicaBatch(await replicaOf(bus, shard));
        const query = { v: PROTOCOL_VERSION, query: 'image viewer', k: 10 };
        const batches = [
          payloads[0]!,
          encode({ ...query, shards: [] }),
          encode({ ...query, shards: Array.from({ length: MAX_BATCH_QUERIES + 1 }, () => ({ shard, topics: [] })) }),
          encode({ ...query, v: 99, shards: [{ shard, topics: [] }] }),
        ];
        for (let i = 0; i < NATS_GARBAGE; i++) {
          const reply = decode(await bus.request(batchSubject, batches[i % batches.length]!, 2000)) as { ok?: boolean; error?: { code?: string } };
          if (reply.ok === false && reply.error?.code === 'bad_input') batchOk++;
        }
      } finally {
        await bus.close();
      }
    };

    const run = await underLoad({ url: cluster.url, queries: ctx.queries, rate: ctx.rate, durationS }, [
      { atMs: 1000, run: bad },
      { atMs: 1000, run: async () => void (await slowloris()) },
      { atMs: 2000, run: natsGarbage },
    ]);
    client.close();
    await sleep(2000);
    const rssAfter = memoryOf(router.pid)?.rss_mb ?? NaN;
    const f = run.recorder.figures();
    const slowCut = slow.filter((s) => (s.status === '408' || s.status === 'closed') && s.ms <= SLOW_CUTOFF_MS).length;
    const rejectedLogged = rejectedLines(cluster, shard) - rejectedBefore;
    const batchRejectedLogged = rejectedLines(cluster, shard, 'rejected batch search request') - batchRejectedBefore;
    const growth = rssAfter - rssBefore;
    const ok = wrong === 0 && f.failed === 0 && f.dropped === 0 && slowCut === SLOW_CLIENTS && !router.exited && growth < MAX_RSS_GROWTH_MB && natsOk === NATS_GARBAGE && rejectedLogged >= NATS_GARBAGE && batchOk === NATS_GARBAGE && batchRejectedLogged >= NATS_GARBAGE;
    const statuses = [...byKind].map(([k, counts]) => `${k}: ${[...counts].map(([s, n]) => `${s}×${n}`).join(' ')}`);
    return result(this, ctx, durationS, f, {
      bad_requests: badRate * durationS,
      bad_with_wrong_status: wrong,
      slow_clients_cut_off: `${slowCut}/${SLOW_CLIENTS}`,
      slow_cutoff_max_ms: slow.length ? Math.round(Math.max(...slow.map((s) => s.ms))) : null,
      router_rss_mb: `${rssBefore} → ${rssAfter}`,
      router_alive: !router.exited,
      nats_garbage_answered_bad_input: `${natsOk}/${NATS_GARBAGE}`,
      nats_garbage_logged: rejectedLogged,
      nats_batch_garbage_answered_bad_input: `${batchOk}/${NATS_GARBAGE}`,
      nats_batch_garbage_logged: batchRejectedLogged,
    }, ok, [`${badRate} bad req/s for ${durationS} s next to the searches; statuses by kind: ${statuses.join('; ')}`]);
  },
};

/** A client that sends its headers, then one byte of body every 500 ms: what came back (or "closed"), and when. */
function slowBody(url: URL): Promise<{ status: string; ms: number }> {
  return new Promise((resolve) => {
    const started = performance.now();
    const socket = connect(Number(url.port), url.hostname);
    let text = '';
    let drip: NodeJS.Timeout | undefined;
    const end = () => {
      clearInterval(drip);
      const m = /^HTTP\/1\.1 (\d{3})/.exec(text);
      resolve({ status: m ? m[1]! : 'closed', ms: performance.now() - started });
    };
    socket.on('connect', () => {
      socket.write(`POST /v1/search HTTP/1.1\r\nhost: ${url.host}\r\ncontent-type: application/json\r\ncontent-length: 4000\r\n\r\n{"query":"`);
      drip = setInterval(() => socket.write('a'), 500);
    });
    socket.on('data', (d) => (text += d.toString()));
    socket.on('close', end);
    socket.on('error', () => {});
    // A client the server never cuts off is given up on, and counted as not cut off.
    setTimeout(() => socket.destroy(), SLOW_CUTOFF_MS + 5000).unref();
  });
}

/** Lines in which the replicas of `shard` (running or not) logged a rejected request (of one kind: `message`). */
function rejectedLines(cluster: DrillCluster, shard: string, message = 'rejected search request'): number {
  return cluster.processes.filter((p) => p.shard === shard).reduce((n, p) => n + p.lines.filter((l) => l.includes(`"msg":"${message}"`)).length, 0);
}

/** The replica id of a live process serving `shard`, from the first heartbeat heard. */
async function replicaOf(bus: Bus, shard: string): Promise<string> {
  const live = await waitForLiveReplica(bus, shard, HEARTBEAT_WAIT_MS, createLogger({ name: 'drill', level: 'silent' }));
  if (!live) throw new Error(`no heartbeat of shard ${shard} within ${HEARTBEAT_WAIT_MS} ms`);
  return live.replica;
}

function garbage(n: number): string {
  let s = '';
  for (let i = 0; i < n; i++) {
    const r = Math.random();
    s += r < 0.1 ? String.fromCharCode(0xd800 + Math.floor(Math.random() * 0x800)) : r < 0.2 ? String.fromCharCode(Math.floor(Math.random() * 0x20)) : String.fromCodePoint(Math.floor(Math.random() * 0x10ffff) & ~0xf800 | 0x20);
  }
  return s;
}
