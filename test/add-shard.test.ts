import { cpSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { splitCollection } from '../cluster/tools/split-collection.ts';
import { allowedLoss } from '../cluster/ops/add-shard.ts';
import { DEMO_CORPUS, runDsi } from './helpers/cli.ts';
import { buildDemoIndex, demoQueries } from './helpers/demo-index.ts';
import { startNatsServer, type NatsServerHandle } from './helpers/nats-server.ts';
import { ProcessRegistry } from './helpers/processes.ts';
import { failedOutcomes, search, startTraffic, waitFor } from './helpers/traffic.ts';

/**
 * Growing a running cluster: the demo collection without its Python packages (and a few
 * late documents) is indexed and served from the registry (dsi up: experts know only NATS
 * and their shard id), then the Python packages are added as a new shard while clients
 * search, and the late documents to a shard by a retrain.
 */
const isPython = (title: string) => /^python3?-/.test(title);
/** Every 150th document (from the 75th) that is not a Python package: added to s1 by `dsi retrain --add`. */
const isLate = (title: string, index: number) => !isPython(title) && index % 150 === 75;

let work: string;
let nats: NatsServerHandle;
let base: string;
let addedDir: string;
let addedDocs: { _id: string; title: string; text: string }[];
let lateDir: string;
let lateDocs: { _id: string; title: string; text: string }[];
const processes = new ProcessRegistry();

beforeAll(async () => {
  work = mkdtempSync(join(tmpdir(), 'dsi-add-shard-'));
  const initialDir = join(work, 'initial');
  addedDir = join(work, 'added');
  lateDir = join(work, 'late');
  await splitCollection(DEMO_CORPUS, initialDir, (d, i) => !isPython(d.title) && !isLate(d.title, i));
  await splitCollection(DEMO_CORPUS, addedDir, (d) => isPython(d.title));
  await splitCollection(DEMO_CORPUS, lateDir, (d, i) => isLate(d.title, i));
  addedDocs = readCorpus(addedDir);
  lateDocs = readCorpus(lateDir);
  const indexDir = join(work, 'index');
  [, nats] = await Promise.all([buildDemoIndex(indexDir, { corpus: initialDir }), startNatsServer({ jetstream: true })]);
  const up = processes.spawnDsi(['up', '--index', indexDir, '--port', '0', '--nats', nats.url]);
  base = (await up.waitForLine(/^dsi up: ready at /, 90_000)).match(/ready at (\S+)/)![1]!;
}, 180_000);

afterAll(async () => {
  await processes.killAll();
  await nats?.stop();
  rmSync(work, { recursive: true, force: true });
});

describe('dsi add-shard on a running cluster', () => {
  it('adds a shard for new topics under load: no failed request, the new documents found, old shards within tolerance', async () => {
    expect(addedDocs.length).toBeGreaterThan(60);
    expect(await foundByOwnText()).toBe(0);
    expect(await docStatus(addedDocs[0]!)).toBe(404);

    const traffic = startTraffic(base, [...demoQueries(9), ...addedDocs.slice(0, 20).map((d) => d.title)]);
    const added = await runDsi(['add-shard', '--nats', nats.url, '--corpus', addedDir, '--json', '--wait-ms', '60000']);
    expect(added.code, added.stderr.slice(-2000)).toBe(0);
    // The gating model that knows the new topics is fetched in the background: traffic goes on until the router routes with it.
    await waitFor(async () => ((await (await fetch(`${base}/v1/shards`)).json()) as { gating_version: number }).gating_version === 2, 30_000);
    await new Promise((r) => setTimeout(r, 700));
    const outcomes = await traffic.stop();

    const failed = failedOutcomes(outcomes);
    expect(outcomes.length).toBeGreaterThan(50);
    expect(failed, JSON.stringify(failed.slice(0, 3))).toEqual([]);

    const report = JSON.parse(added.stdout) as {
      shard: { id: string; docs: number; topics: number[] };
      old_shards: { id: string; before: { 'hits@10': number | null; heldout_queries: number }; after: { 'hits@10': number | null } }[];
      tolerance: number;
      within_tolerance: boolean;
    };
    expect(report.shard).toMatchObject({ id: 's2', docs: addedDocs.length });
    expect(report.shard.topics.every((t) => t >= 4)).toBe(true);
    expect(report.old_shards.map((s) => s.id)).toEqual(['s0', 's1']);
    for (const s of report.old_shards) expect(s.after['hits@10']!).toBeGreaterThanOrEqual(s.before['hits@10']! - allowedLoss(s.before.heldout_queries));
    expect(report.within_tolerance).toBe(true);

    // The router picked the shard up by itself: it is listed, live, and answers.
    const shards = ((await (await fetch(`${base}/v1/shards`)).json()) as { shards: { id: string; live_replicas: number; docs: number }[] }).shards;
    expect(shards.find((s) => s.id === 's2')).toMatchObject({ live_replicas: 1, docs: addedDocs.length });
    // Most new documents are found by their own text (the same measure as index_recall, through the whole cluster).
    expect(await foundByOwnText()).toBeGreaterThan(0.6);
    // Their records come from the new shard's expert, under its new topics.
    for (const doc of [addedDocs[0]!, addedDocs.at(-1)!]) {
      const record = (await (await fetch(`${base}/v1/docs/${encodeURIComponent(doc._id)}`)).json()) as { id: string; docid: string; title: string; text: string };
      expect(record).toMatchObject({ id: doc._id, title: doc.title, text: doc.text });
      expect(report.shard.topics).toContain(Number(record.docid.split('-')[0]));
    }
  }, 240_000);
});

describe('dsi retrain and dsi rollback on a running cluster', () => {
  it('swaps the retrained shard in under load, then back: no failed request, answers (and records) from the new version after the swap', async () => {
    expect(lateDocs.length).toBeGreaterThanOrEqual(5);
    expect(await docStatus(lateDocs[0]!)).toBe(404);
    const traffic = startTraffic(base, demoQueries(5));
    const retrained = await runDsi(['retrain', '--nats', nats.url, '--shard', 's1', '--add', lateDir, '--epochs', '1', '--force', '--json']);
    expect(retrained.code, retrained.stderr.slice(-2000)).toBe(0);
    const summary = JSON.parse(retrained.stdout) as { from_version: number; published_version: number; current: { 'index_recall@1': number }; candidate: { 'index_recall@1': number } };
    expect(summary).toMatchObject({ from_version: 1, published_version: 2 });
    expect(summary.candidate['index_recall@1']).toBeGreaterThan(0.5);
    await waitFor(async () => (await servedVersion('s1')) === 2, 30_000);
    const swappedAt = performance.now();
    // The documents added by the retrain came with the version that holds them.
    for (const doc of lateDocs) expect(await (await fetch(`${base}/v1/docs/${encodeURIComponent(doc._id)}`)).json()).toMatchObject({ id: doc._id, title: doc.title, text: doc.text });
    await new Promise((r) => setTimeout(r, 800));

    const rolled = await runDsi(['rollback', '--nats', nats.url, '--shard', 's1']);
    expect(rolled.code, rolled.stderr).toBe(0);
    await waitFor(async () => (await servedVersion('s1')) === 1, 30_000);
    const rolledAt = performance.now();
    // And went with it.
    expect(await docStatus(lateDocs[0]!)).toBe(404);
    await new Promise((r) => setTimeout(r, 800));
    const outcomes = await traffic.stop();

    const failed = failedOutcomes(outcomes);
    expect(failed, JSON.stringify(failed.slice(0, 3))).toEqual([]);
    const s1Between = outcomes.filter((o) => o.at > swappedAt + 100 && o.at < rolledAt - 1000 && o.versions.s1 !== undefined);
    const s1After = outcomes.filter((o) => o.at > rolledAt + 100 && o.versions.s1 !== undefined);
    expect(s1Between.length).toBeGreaterThan(0);
    expect(s1Between.every((o) => o.versions.s1 === 2)).toBe(true);
    expect(s1After.length).toBeGreaterThan(0);
    expect(s1After.every((o) => o.versions.s1 === 1)).toBe(true);
  }, 180_000);
});

function readCorpus(dir: string): { _id: string; title: string; text: string }[] {
  return readFileSync(join(dir, 'corpus.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l) as { _id: string; title: string; text: string });
}

async function docStatus(doc: { _id: string }): Promise<number> {
  return (await fetch(`${base}/v1/docs/${encodeURIComponent(doc._id)}`)).status;
}

async function servedVersion(shard: string): Promise<number | null> {
  const shards = ((await (await fetch(`${base}/v1/shards`)).json()) as { shards: { id: string; version: number | null }[] }).shards;
  return shards.find((s) => s.id === shard)?.version ?? null;
}

describe('dsi add-shard on a local index', () => {
  it('grows the index folder by one shard that the search in process answers from', async () => {
    const localIndex = join(work, 'local-index');
    cpSync(join(work, 'index'), localIndex, { recursive: true });
    const added = await runDsi(['add-shard', '--index', localIndex, '--corpus', addedDir, '--id', 'py']);
    expect(added.code, added.stderr.slice(-2000)).toBe(0);
    expect(added.stdout).toMatch(/new shard py: \d+ documents/);
    const manifest = JSON.parse(readFileSync(join(localIndex, 'manifest.json'), 'utf8')) as { shards: { id: string; docs: number }[]; topics: number };
    expect(manifest.shards.map((s) => s.id)).toEqual(['s0', 's1', 'py']);
    expect(manifest.shards[2]!.docs).toBe(addedDocs.length);
    const report = JSON.parse(readFileSync(join(localIndex, 'shards', 'py', 'report.json'), 'utf8')) as { 'index_recall@1': number; addition: { old_shards: { id: string }[]; tolerance: number } };
    expect(report['index_recall@1']).toBeGreaterThan(0.5);
    expect(report.addition.old_shards.map((s) => s.id)).toEqual(['s0', 's1']);
    expect(report.addition.tolerance).toBe(0.02);
    let found = 0;
    for (const doc of addedDocs.slice(0, 8)) {
      const answer = await runDsi(['query', '--index', localIndex, '--json', '--k', '10', `${doc.title} ${doc.text}`.slice(0, 900)]);
      expect(answer.code, answer.stderr).toBe(0);
      const hit = (JSON.parse(answer.stdout) as { results: { id: string; title: string }[] }).results.find((r) => r.id === doc._id);
      if (!hit) continue;
      found++;
      // Titled by the new shard's expert, from its own documents.
      expect(hit.title).toBe(doc.title);
    }
    expect(found).toBeGreaterThanOrEqual(5);
    // Adding the same documents again is refused, and the index is left as it was.
    const again = await runDsi(['add-shard', '--index', localIndex, '--corpus', addedDir]);
    expect(again.code).toBe(2);
    expect(again.stderr).toMatch(/already/);
    expect((JSON.parse(readFileSync(join(localIndex, 'manifest.json'), 'utf8')) as { shards: unknown[] }).shards).toHaveLength(3);
  }, 240_000);
});

/** Share of the added documents whose own text finds them in the top 10 through POST /v1/search. */
async function foundByOwnText(): Promise<number> {
  let found = 0;
  for (const doc of addedDocs) {
    const { status, body } = await search(base, `${doc.title} ${doc.text}`.slice(0, 900), 10);
    expect(status).toBe(200);
    if (body.results.some((r) => r.id === doc._id)) found++;
  }
  return found / addedDocs.length;
}
