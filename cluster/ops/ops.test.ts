import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readShardData, readShardQueries } from '../../shared/artifact/shard-data.ts';
import { defaultIndexConfig, type IndexConfig } from '../../shared/config.ts';
import { parseDocId } from '../../shared/docids/build.ts';
import { BadInputError } from '../../shared/errors.ts';
import { createLogger } from '../../shared/log.ts';
import { initBackend } from '../../shared/model/backend.ts';
import { loadRoutingModels } from '../../shared/model/gating/gating-store.ts';
import { loadHead } from '../../shared/model/lexical/lexical-store.ts';
import { fullView, tokenizeDoc } from '../../shared/model/views.ts';
import { createProgress } from '../../shared/progress.ts';
import { openIndex, OPTIONAL_SHARD_FILES, SHARD_FILES } from '../../shared/artifact/index-artifact.ts';
import { loadExpert, type LoadedExpert } from '../../shared/model/expert/expert-store.ts';
import { buildIndex } from '../indexing/build-index.ts';
import { LocalJobRunner } from '../indexing/local-job-runner.ts';
import { LocalIndex } from '../local-index.ts';
import { splitCollection, type HeldBack } from '../tools/split-collection.ts';
import { DEMO_CORPUS } from '../../test/helpers/cli.ts';
import { addShard, allowedLoss, OLD_SHARD_HITS_TOLERANCE, type AddShardResult } from './add-shard.ts';
import { clusterModelsOfIndex } from './cluster-models.ts';
import { isNotWorse, retrainShard, RETRAIN_TOLERANCE } from './retrain-shard.ts';
import type { AddedData, ClusterModels } from './types.ts';

/**
 * Growing a real (small) index of the demo collection: built without its last 150
 * documents, then 120 of them added as a new shard and 30 added to an existing shard.
 * Few epochs keep the whole file near 40 s on two cores.
 */
const log = createLogger({ name: 'ops-test', level: 'warn' });
const progress = createProgress({ tty: false, log });
const runner = new LocalJobRunner({ parallel: 2, log, env: { ...process.env, DSI_BACKEND: 'wasm', DSI_LOG_LEVEL: 'warn' } });
const KEPT = 1050;
const NEW_SHARD_DOCS = 120;

let work: string;
let indexDir: string;
let held: HeldBack;
let current: ClusterModels;
let grown: AddShardResult;

function addedData(docs: HeldBack['docs']): AddedData {
  const ids = new Set(docs.map((d) => d.id));
  const pairs = (split: string) => (held.pairs.get(split) ?? []).filter((p) => ids.has(p.doc));
  return { docs, queries: { train: pairs('train'), heldout: pairs('dev') } };
}

beforeAll(async () => {
  await initBackend({ prefer: 'wasm' });
  work = mkdtempSync(join(tmpdir(), 'dsi-ops-'));
  held = await splitCollection(DEMO_CORPUS, join(work, 'corpus'), (_doc, i) => i < KEPT);
  indexDir = join(work, 'index');
  const configFor = (n: number): IndexConfig => {
    const c = defaultIndexConfig(n, 3, 5);
    return { ...c, expert: { ...c.expert, epochs: 2 }, gating: { ...c.gating, epochs: 2 } };
  };
  await buildIndex({ corpusDir: join(work, 'corpus'), outDir: indexDir, configFor, log, progress, runner });
  current = await clusterModelsOfIndex(indexDir);
  grown = await addShard({ current, added: addedData(held.docs.slice(0, NEW_SHARD_DOCS)), shardId: 's3', outDir: join(work, 'grown'), log, progress, runner });
}, 180_000);

afterAll(() => rmSync(work, { recursive: true, force: true }));

describe('readShardData', () => {
  it("reads each shard's documents (by topic) and its training and held-out queries from a local index", async () => {
    const manifest = await openIndex(indexDir);
    let docs = 0;
    for (const entry of manifest.shards) {
      const data = await readShardData(indexDir, entry);
      docs += data.docs.length;
      expect(data.docs.length).toBe(entry.docs);
      for (const d of data.docs) expect(entry.topics).toContain(parseDocId(d.docid)[0]);
      const ids = new Set(data.docs.map((d) => d.id));
      expect(data.queries.train.length).toBeGreaterThan(0);
      expect(data.queries.heldout.length).toBeGreaterThan(0);
      for (const p of [...data.queries.train, ...data.queries.heldout]) expect(ids.has(p.doc)).toBe(true);
    }
    expect(docs).toBe(KEPT);
  });

  it('gives no queries for a shard folder without queries.json (an index built before it existed)', async () => {
    expect(OPTIONAL_SHARD_FILES.has(SHARD_FILES.queries)).toBe(true);
    await expect(readShardQueries(join(work, 'corpus'))).resolves.toEqual({ train: [], heldout: [] });
  });
});

describe('addShard', () => {
  it('puts the new documents under new topics, in a new expert with every shard file, and leaves no staging folder', () => {
    expect(grown.shard).toEqual({ id: 's3', topics: [current.topicCount, current.topicCount + 1], docs: NEW_SHARD_DOCS });
    expect(grown.topicCount).toBe(current.topicCount + 2);
    for (const file of Object.values(SHARD_FILES)) expect(existsSync(join(grown.shardDir, file))).toBe(true);
    expect(existsSync(join(grown.gatingDir, 'model.json'))).toBe(true);
    expect(existsSync(`${join(work, 'grown')}.partial-${process.pid}`)).toBe(false);
    for (const d of grown.data.docs) expect(grown.shard.topics).toContain(parseDocId(d.docid)[0]);
    expect(grown.report['index_recall@1']).toBeGreaterThan(0.85);
  });

  it('makes the new documents retrievable through the search with the new gating model', async () => {
    const gating = await loadRoutingModels(grown.gatingDir);
    const experts = new Map<string, LoadedExpert>();
    for (const s of current.shards) experts.set(s.id, await loadExpert(s.dir));
    experts.set('s3', await loadExpert(grown.shardDir));
    const shards = [...current.shards.map((s) => ({ id: s.id, topics: s.topics, docs: s.data.docs.length, dir: s.dir })), { ...grown.shard, dir: grown.shardDir }];
    const index = new LocalIndex(current.config, gating, { shards }, experts);
    try {
      // Each new document's own text finds it; most of its held-out queries do too.
      let found = 0;
      for (const d of grown.data.docs) if ((await index.search(`${d.title} ${d.text}`, 10)).hits.some((h) => h.id === d.id)) found++;
      expect(found / NEW_SHARD_DOCS).toBeGreaterThan(0.9);
      expect(grown.report.report_queries).toBeGreaterThan(5);
      expect(grown.report['hits@10']).toBeGreaterThan(0.5);
    } finally {
      index.dispose();
    }
  });

  it("keeps every old shard's held-out Hits@10 within the stated tolerance", () => {
    expect(grown.tolerance).toBe(OLD_SHARD_HITS_TOLERANCE);
    expect(grown.oldShards.map((s) => s.id)).toEqual(current.shards.map((s) => s.id));
    for (const s of grown.oldShards) {
      expect(s.before.heldout_queries).toBeGreaterThan(20);
      expect(s.after['hits@10']!).toBeGreaterThanOrEqual(s.before['hits@10']! - allowedLoss(s.before.heldout_queries));
    }
    expect(grown.withinTolerance).toBe(true);
  });

  it('refuses documents already in the cluster, naming them, and writes nothing', async () => {
    const outDir = join(work, 'dup');
    const again = { ...addedData(held.docs.slice(0, 3)), docs: [...held.docs.slice(0, 3), current.shards[1]!.data.docs[0]!] };
    const attempt = addShard({ current, added: again, shardId: 's9', outDir, log, progress, runner });
    await expect(attempt).rejects.toBeInstanceOf(BadInputError);
    await expect(attempt).rejects.toThrow(current.shards[1]!.data.docs[0]!.id);
    expect(existsSync(outDir)).toBe(false);
    await expect(addShard({ current, added: addedData(held.docs.slice(0, 3)), shardId: 's0', outDir, log, progress, runner })).rejects.toBeInstanceOf(BadInputError);
  });
});

describe('retrainShard', () => {
  it('continues an expert with added documents: they decode to themselves, old ones are kept, and notWorse is computed', async () => {
    const shard = current.shards[0]!;
    const added = addedData(held.docs.slice(NEW_SHARD_DOCS));
    const outDir = join(work, 'retrained');
    const tensors = tf.memory().numTensors;
    const result = await retrainShard({ config: current.config, topicCount: current.topicCount, runner, shard, head: await loadHead(current.gatingDir), added, mode: 'continue', outDir, log, progress });
    expect(tf.memory().numTensors).toBe(tensors);

    // Added documents get fresh DocIDs inside the shard's topics, distinct from every other.
    const addedIds = new Set(added.docs.map((d) => d.id));
    const records = result.data.docs;
    expect(records).toHaveLength(shard.data.docs.length + added.docs.length);
    expect(new Set(records.map((d) => d.docid)).size).toBe(records.length);
    for (const d of records.filter((r) => addedIds.has(r.id))) expect(shard.topics).toContain(parseDocId(d.docid)[0]);
    const before = new Map(shard.data.docs.map((d) => [d.id, d.docid]));
    for (const d of records.filter((r) => !addedIds.has(r.id))) expect(d.docid).toBe(before.get(d.id));

    const candidate = await loadExpert(result.dir);
    try {
      const { model } = candidate;
      let self = 0;
      for (const d of added.docs) {
        const vector = model.encode([model.encoder.vocabulary.encode(fullView(tokenizeDoc(d, current.config.featurizer.maxTokens), current.config.featurizer))]);
        const top = model.search(vector, 0, [{ node: 0, logp: 0 }], { beamWidth: current.config.decode.beamWidth, topK: 1 })[0];
        if (top && candidate.docIds[top.doc] === d.id) self++;
      }
      expect(self / added.docs.length).toBeGreaterThan(0.9);
    } finally {
      candidate.model.dispose();
    }

    expect(result.candidate['index_recall@1']).toBeGreaterThanOrEqual(result.current['index_recall@1'] - RETRAIN_TOLERANCE);
    expect(result.candidate.heldout_queries).toBeGreaterThan(result.current.heldout_queries);
    expect(result.tolerance).toBe(RETRAIN_TOLERANCE);
    expect(result.notWorse).toBe(isNotWorse(result.current, { ...result.candidate, 'hits@10': result.candidateOnCurrentQueries['hits@10'] }, RETRAIN_TOLERANCE));
    expect(result.report.retrain.not_worse).toBe(result.notWorse);
    for (const file of Object.values(SHARD_FILES)) expect(existsSync(join(result.dir, file))).toBe(true);
    const queries = await readShardQueries(result.dir);
    expect(queries.train.length).toBe(shard.data.queries.train.length + added.queries.train.length);
  });

  it('retrains from scratch on the same DocIDs and checks the candidate the same way', async () => {
    const shard = current.shards[1]!;
    const outDir = join(work, 'scratch');
    const result = await retrainShard({ config: current.config, topicCount: current.topicCount, runner, shard, head: await loadHead(current.gatingDir), mode: 'scratch', epochs: 2, outDir, log, progress });
    expect(new Map(result.data.docs.map((d) => [d.id, d.docid]))).toEqual(new Map(shard.data.docs.map((d) => [d.id, d.docid])));
    expect(result.candidate.heldout_queries).toBe(result.current.heldout_queries);
    expect(result.candidate['index_recall@1']).toBeGreaterThan(0.85);
    expect(result.report.retrain).toMatchObject({ mode: 'scratch', epochs: 2, added_docs: 0 });
    for (const file of Object.values(SHARD_FILES)) expect(existsSync(join(result.dir, file))).toBe(true);
  });

  it('refuses an added document the shard already holds', async () => {
    const shard = current.shards[0]!;
    const doc = shard.data.docs[0]!;
    const attempt = retrainShard({ config: current.config, topicCount: current.topicCount, runner, shard, head: await loadHead(current.gatingDir), added: { docs: [doc], queries: { train: [], heldout: [] } }, mode: 'continue', outDir: join(work, 'never'), log, progress });
    await expect(attempt).rejects.toBeInstanceOf(BadInputError);
    expect(existsSync(join(work, 'never'))).toBe(false);
  });
});

describe('isNotWorse', () => {
  const base = { 'index_recall@1': 0.9, collision_rate: 0.1, 'hits@10': 0.5, heldout_queries: 10 };
  it('holds within the tolerance and fails beyond it on any check, collisions counting upwards', () => {
    expect(isNotWorse(base, { ...base, 'index_recall@1': 0.895 }, 0.01)).toBe(true);
    expect(isNotWorse(base, { ...base, 'index_recall@1': 0.88 }, 0.01)).toBe(false);
    expect(isNotWorse(base, { ...base, collision_rate: 0.12 }, 0.01)).toBe(false);
    expect(isNotWorse(base, { ...base, collision_rate: 0.05, 'hits@10': 0.6 }, 0.01)).toBe(true);
    expect(isNotWorse(base, { ...base, 'hits@10': 0.45 }, 0.01)).toBe(false);
    expect(isNotWorse(base, { ...base, 'hits@10': null, heldout_queries: 0 }, 0.01)).toBe(true);
  });
});
