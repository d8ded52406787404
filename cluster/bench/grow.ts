/**
 * What growing an index costs next to rebuilding it, in one run on one machine:
 *   1. `dsi index` over the whole collection (the full rebuild, the yardstick);
 *   2. the documents of the last `--fraction` of its topics are held back with their
 *      queries (and `--late` of the rest, spread over every topic), and the initial index
 *      is built from what remains;
 *   3. addShard adds the held-back topics as a new shard (new expert; the gating model grown
 *      with the new topics' rows, and, with `--gating grow,retrain`, retrained over every
 *      document instead, from the same initial index);
 *   4. retrainShard continues shard s0 for one epoch with the late documents that the
 *      initial gating model routes to s0.
 * Prints a table and the figures as JSON (seconds, documents, ratio to the full rebuild,
 * old shards' Hits@10 before/after, the new shard's and the retrained shard's checks).
 *
 *   npm run bench:grow -- --corpus DIR [--shards 4] [--fraction 0.1] [--late 0.02] [--epochs N] [--gating grow,retrain] [--out DIR]
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { availableParallelism, tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { readDocRecords } from '../../shared/artifact/index-artifact.ts';
import type { QueryPair } from '../../shared/artifact/shard-data.ts';
import { defaultIndexConfig, type IndexConfig } from '../../shared/config.ts';
import { parseDocId } from '../../shared/docids/build.ts';
import { createLogger } from '../../shared/log.ts';
import { initBackend } from '../../shared/model/backend.ts';
import { loadHead } from '../../shared/model/lexical/lexical-store.ts';
import { loadGating } from '../../shared/model/gating/gating-store.ts';
import { createProgress } from '../../shared/progress.ts';
import { featurize } from '../../shared/text/featurizer.ts';
import { buildIndex } from '../indexing/build-index.ts';
import { LocalJobRunner } from '../indexing/local-job-runner.ts';
import { addShard, type AddShardGating, type AddShardResult } from '../ops/add-shard.ts';
import { clusterModelsOfIndex } from '../ops/cluster-models.ts';
import { retrainShard } from '../ops/retrain-shard.ts';
import type { ShardChecks } from '../ops/types.ts';
import { splitCollection } from '../tools/split-collection.ts';

const { values } = parseArgs({
  options: {
    corpus: { type: 'string', default: 'data/demo' },
    shards: { type: 'string', default: '4' },
    fraction: { type: 'string', default: '0.1' },
    late: { type: 'string', default: '0.02' },
    epochs: { type: 'string' },
    gating: { type: 'string', default: 'grow,retrain' },
    out: { type: 'string' },
  },
});
const shards = Number(values.shards);
const fraction = Number(values.fraction);
const lateFraction = Number(values.late);
const gatingModes = values.gating!.split(',').map((m) => {
  if (m !== 'grow' && m !== 'retrain') throw new Error(`--gating: 'grow' and/or 'retrain', comma-separated, got '${m}'`);
  return m as AddShardGating;
});
const log = createLogger({ name: 'bench-grow', level: 'warn' });
const backend = await initBackend({ prefer: 'auto', log });
const work = values.out ?? mkdtempSync(join(tmpdir(), 'dsi-grow-'));
const progress = createProgress({ tty: false, log });
const parallel = availableParallelism();
const runner = new LocalJobRunner({ parallel, log, env: { ...process.env, DSI_LOG_LEVEL: 'warn' } });
const configFor = (n: number): IndexConfig => {
  const c = defaultIndexConfig(n, shards, 1);
  return values.epochs ? { ...c, expert: { ...c.expert, epochs: Number(values.epochs) } } : c;
};
const build = (corpusDir: string, outDir: string) => buildIndex({ corpusDir, outDir, configFor, log, progress, runner });

// 1. The full rebuild.
const full = await build(values.corpus!, join(work, 'full'));
const topicCount = full.manifest.topics;
const heldTopics = Math.max(1, Math.round(topicCount * fraction));
const topicOf = new Map((await readDocRecords(join(work, 'full'))).map((d) => [d.id, parseDocId(d.docid)[0]!]));
const held = (id: string) => topicOf.get(id)! >= topicCount - heldTopics;
// Every k-th remaining document arrives late: spread over every topic, as new packages are.
const lateEvery = lateFraction > 0 ? Math.max(2, Math.round(1 / lateFraction)) : Infinity;
let remaining = 0;
const late = new Set<string>();

// 2. The initial index, without the held-back topics and the late documents.
const rest = await splitCollection(values.corpus!, join(work, 'initial-corpus'), (d) => {
  if (held(d.id)) return false;
  if (remaining++ % lateEvery === lateEvery - 1) {
    late.add(d.id);
    return false;
  }
  return true;
});
const initial = await build(join(work, 'initial-corpus'), join(work, 'initial'));
const config = initial.manifest.config;
const pairsOf = (split: string | null, keep: (id: string) => boolean): QueryPair[] => (split === null ? [] : (rest.pairs.get(split) ?? [])).filter((p) => keep(p.doc));

// 3. The held-back topics as a new shard, once per way of teaching the gating model its topics.
const current = await clusterModelsOfIndex(join(work, 'initial'));
const newDocs = rest.docs.filter((d) => held(d.id));
const additions: { gating: AddShardGating; result: AddShardResult }[] = [];
for (const gating of gatingModes) {
  const result = await addShard({
    current,
    added: { docs: newDocs, queries: { train: pairsOf(config.trainSplit, held), heldout: pairsOf(config.reportSplit, held) } },
    shardId: `s${current.shards.length}`,
    gating,
    outDir: join(work, `add-${gating}`),
    log,
    progress,
    runner,
  });
  additions.push({ gating, result });
}

// 4. Shard s0 retrained with the late documents the initial gating model routes to it.
const target = current.shards[0]!;
const gating = await loadGating(current.gatingDir);
const targetTopics = new Set(target.topics);
const lateDocs = rest.docs.filter((d) => {
  if (!late.has(d.id)) return false;
  const logp = gating.route([gating.encoder.vocabulary.encode(featurize(`${d.title} ${d.text}`, config.featurizer))]);
  let best = 0;
  for (let t = 1; t < logp.length; t++) if (logp[t]! > logp[best]!) best = t;
  return targetTopics.has(gating.topicIds[best]!);
});
gating.dispose();
const lateIds = new Set(lateDocs.map((d) => d.id));
const retrained = await retrainShard({
  config,
  topicCount: current.topicCount,
  shard: target,
  head: await loadHead(current.gatingDir),
  added: { docs: lateDocs, queries: { train: pairsOf(config.trainSplit, (id) => lateIds.has(id)), heldout: pairsOf(config.reportSplit, (id) => lateIds.has(id)) } },
  mode: 'continue',
  epochs: 1,
  outDir: join(work, 'retrain'),
  log,
  progress,
  runner,
});

const r = (x: number | null, digits = 3) => (x === null ? null : +x.toFixed(digits));
const checks = (c: ShardChecks) => ({ 'index_recall@1': r(c['index_recall@1']), collision_rate: r(c.collision_rate), 'hits@10': r(c['hits@10']), heldout_queries: c.heldout_queries });
const docs = full.manifest.corpus.documents;
const figures = {
  backend,
  corpus: values.corpus,
  documents: docs,
  steps: [
    { step: 'full rebuild (dsi index, every document)', docs, seconds: r(full.seconds, 1), ratio: 1 },
    { step: 'initial build (held-back and late documents left out)', docs: initial.manifest.corpus.documents, seconds: r(initial.seconds, 1), ratio: r(initial.seconds / full.seconds) },
    ...additions.map(({ gating, result }) => ({ step: `addShard ${result.shard.id}, gating ${gating === 'grow' ? 'grown' : 'retrained'} (new expert + gating + checks)`, docs: result.shard.docs, seconds: r(result.seconds, 1), ratio: r(result.seconds / full.seconds) })),
    { step: `retrainShard ${target.id} continue, 1 epoch (+${lateDocs.length} late documents)`, docs: retrained.data.docs.length, seconds: r(retrained.seconds, 1), ratio: r(retrained.seconds / full.seconds) },
  ],
  additions: additions.map(({ gating, result: a }) => ({
    gating,
    seconds: r(a.seconds, 1),
    new_shard: { id: a.shard.id, topics: a.shard.topics, docs: a.shard.docs, collision_rate: r(a.report.collision_rate), 'index_recall@1': r(a.report['index_recall@1']), 'hits@10': r(a.report['hits@10']), heldout_queries: a.report.report_queries },
    old_shards: a.oldShards.map((s) => ({ id: s.id, 'hits@10_before': r(s.before['hits@10']), 'hits@10_after': r(s.after['hits@10']), heldout_queries: s.before.heldout_queries })),
    old_shards_tolerance: a.tolerance,
    old_shards_within_tolerance: a.withinTolerance,
    fanout: a.fanout,
  })),
  retrain: {
    shard: target.id,
    late_docs: lateDocs.length,
    late_docs_routed_elsewhere: late.size - lateDocs.length,
    current: checks(retrained.current),
    candidate: checks(retrained.candidate),
    'candidate_hits@10_on_current_queries': r(retrained.candidateOnCurrentQueries['hits@10']),
    not_worse: retrained.notWorse,
    tolerance: retrained.tolerance,
  },
};

const pad = (s: unknown, n: number) => String(s ?? 'n/a').padEnd(n);
console.log(`\n${pad('step', 64)} ${pad('docs', 7)} ${pad('seconds', 8)} vs full rebuild`);
for (const s of figures.steps) console.log(`${pad(s.step, 64)} ${pad(s.docs, 7)} ${pad(s.seconds, 8)} ${s.ratio}`);
for (const a of figures.additions) {
  const n = a.new_shard;
  console.log(`\ngating ${a.gating}: new shard ${n.id} (topics ${n.topics.join(',')}): index_recall@1 ${n['index_recall@1']}  collision_rate ${n.collision_rate}  hits@10 ${n['hits@10']} (${n.heldout_queries} held-out queries)`);
  console.log(`  old shards' Hits@10 through the pipeline, old gating → new gating (tolerance ${a.old_shards_tolerance}, held: ${a.old_shards_within_tolerance}; fan-out ${a.fanout.from} → ${a.fanout.to}):`);
  for (const s of a.old_shards) console.log(`    ${pad(s.id, 4)} ${s['hits@10_before']} → ${s['hits@10_after']}  (${s.heldout_queries} queries)`);
}
const rt = figures.retrain;
console.log(`retrain ${rt.shard} (+${rt.late_docs} late docs; ${rt.late_docs_routed_elsewhere} routed elsewhere, left out), expert alone:`);
console.log(`  current   recall ${rt.current['index_recall@1']}  collisions ${rt.current.collision_rate}  hits@10 ${rt.current['hits@10']} (${rt.current.heldout_queries} q)`);
console.log(`  candidate recall ${rt.candidate['index_recall@1']}  collisions ${rt.candidate.collision_rate}  hits@10 ${rt.candidate['hits@10']} (${rt.candidate.heldout_queries} q; ${rt['candidate_hits@10_on_current_queries']} on current's)  not worse: ${rt.not_worse}`);
console.log(`\n${JSON.stringify(figures)}`);
if (!values.out) rmSync(work, { recursive: true, force: true });
