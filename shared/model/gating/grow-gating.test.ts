import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { defaultIndexConfig, type IndexConfig } from '../../config.ts';
import { createLogger } from '../../log.ts';
import { createProgress } from '../../progress.ts';
import { featurize } from '../../text/featurizer.ts';
import { VocabularyBuilder } from '../../text/vocabulary.ts';
import { mulberry32 } from '../../util/random.ts';
import { initBackend } from '../backend.ts';
import type { TrainingQuery } from '../examples.ts';
import { growEncoder } from '../tower/grow-encoder.ts';
import { fullView, tokenizeDoc } from '../views.ts';
import type { GatingModel } from './gating-model.ts';
import { loadGatingPrototypes, prototypesOf, saveGating } from './gating-store.ts';
import { growGating } from './grow-gating.ts';
import { trainGating } from './train-gating.ts';

// 6 topics of 3 prototype rows of 3 documents; the last topic arrives later (an added shard).
// Each document has words of its own, and its training queries a word no document
// contains: only training ties a query to its topic.
const TOPICS = 6;
const ROWS_PER_TOPIC = 3;
const DOCS_PER_ROW = 3;
const DOCS_PER_TOPIC = ROWS_PER_TOPIC * DOCS_PER_ROW;
const OLD_DOCS = (TOPICS - 1) * DOCS_PER_TOPIC;
const paths = Array.from({ length: TOPICS * DOCS_PER_TOPIC }, (_, d) => [Math.floor(d / DOCS_PER_TOPIC), Math.floor(d / DOCS_PER_ROW) % ROWS_PER_TOPIC, d % DOCS_PER_ROW]);
const docs = paths.map(([t], d) => tokenizeDoc({ title: `pkg${d}x`, text: `area${t}x tool${d}x handles files of kind${d}x and more with common shared words in a longer text than one span` }, 256));
const queriesOf = (from: number, to: number): TrainingQuery[] =>
  Array.from({ length: to - from }, (_, i) => [`ask${from + i}x please`, `ask${from + i}x now`]).flatMap((texts, doc) => texts.map((t) => ({ doc, bag: featurize(t) })));
const oldQueries = queriesOf(0, OLD_DOCS);
const addedQueries = queriesOf(OLD_DOCS, docs.length);
const silent = createProgress({ tty: false, log: createLogger({ name: 'grow-gating-test', level: 'silent' }) });

function config(): IndexConfig {
  const c = defaultIndexConfig(docs.length, 1);
  return { ...c, dim: 32, gating: { ...c.gating, epochs: 12, batchSize: 16 } };
}

async function trainOld(c: IndexConfig): Promise<GatingModel> {
  await initBackend({ prefer: 'cpu' });
  const builder = new VocabularyBuilder(c.vocabulary);
  for (const d of docs.slice(0, OLD_DOCS)) builder.addDocument(fullView(d, c.featurizer));
  for (const q of oldQueries) builder.addExtra(q.bag);
  const docRows = Int32Array.from({ length: OLD_DOCS }, (_, d) => Math.floor(d / DOCS_PER_ROW));
  const rowTopics = Int32Array.from({ length: OLD_DOCS / DOCS_PER_ROW }, (_, r) => Math.floor(r / ROWS_PER_TOPIC));
  return (await trainGating({ docs: docs.slice(0, OLD_DOCS), queries: oldQueries }, builder.build(), docRows, rowTopics, c, silent)).model;
}

/** Fraction of `queries` (doc positions from `first`) whose most likely topic is their document's. */
function topicFirst(model: GatingModel, queries: readonly TrainingQuery[], first: number): number {
  const logp = model.route(queries.map((q) => model.encoder.vocabulary.encode(q.bag)));
  const topics = model.topicIds.length;
  let right = 0;
  queries.forEach((q, i) => {
    const scores = logp.subarray(i * topics, (i + 1) * topics);
    if (model.topicIds[scores.indexOf(Math.max(...scores))] === paths[first + q.doc]![0]) right++;
  });
  return right / queries.length;
}

describe('growGating', () => {
  it('adds the new topic\'s rows, routes its queries to it, keeps every old weight, and trains on the added documents and a replay of as many', async () => {
    const c = config();
    const current = await trainOld(c);
    const added = { docs: docs.slice(OLD_DOCS), queries: addedQueries };
    const encoder = growEncoder(current.encoder, [], added.docs, addedQueries.map((q) => q.bag), c, mulberry32(3));
    // The replay: one old document of each row, the queries pointing at them, and their topics.
    const replayDocs = Array.from({ length: OLD_DOCS / DOCS_PER_ROW }, (_, r) => r * DOCS_PER_ROW);
    const replay = { docs: replayDocs.map((d) => docs[d]!), queries: replayDocs.flatMap((d, i) => oldQueries.filter((q) => q.doc === d).map((q) => ({ ...q, doc: i }))) };
    const replayTopics = Int32Array.from(replayDocs, (d) => paths[d]![0]!);
    // The parts growing starts from, as a grow-gating job reads them: from the saved model, without its tower's table.
    const dir = await mkdtemp(join(tmpdir(), 'dsi-grow-gating-'));
    await saveGating(dir, current);
    const saved = await loadGatingPrototypes(dir);
    expect(saved).toEqual(prototypesOf(current));
    await rm(dir, { recursive: true });
    const { model, training } = await growGating({ current: saved, encoder, added, addedPaths: paths.slice(OLD_DOCS), replay, replayTopics }, c, silent);

    const oldRows = current.topicLabels.length;
    expect(Array.from(model.topicLabels)).toEqual([...current.topicLabels, ...Array(ROWS_PER_TOPIC).fill(TOPICS - 1)]);
    expect(Array.from(model.topics.dataSync().subarray(0, oldRows * c.dim))).toEqual(Array.from(current.topics.dataSync()));
    expect(Array.from(model.encoder.table.values.subarray(0, current.encoder.table.values.length))).toEqual(Array.from(current.encoder.table.values));
    expect(Array.from(model.encoder.mix.dataSync())).toEqual(Array.from(current.encoder.mix.dataSync()));
    expect(model.scale.dataSync()[0]).toBe(current.scale.dataSync()[0]);
    expect(model.encoder.table.rows).toBeGreaterThan(current.encoder.table.rows);

    // Per epoch: the whole text and 2 spans of each added and replayed document, each of their queries twice.
    expect(training.examples).toBe(c.gating.epochs * (3 * added.docs.length + 2 * added.queries.length + 3 * replay.docs.length + 2 * replay.queries.length));
    expect(topicFirst(model, addedQueries, OLD_DOCS)).toBeGreaterThan(0.9);
    // Old queries keep their route where no new topic competes: at most a few move.
    expect(topicFirst(model, oldQueries, 0)).toBeGreaterThanOrEqual(topicFirst(current, oldQueries, 0) - 0.05);
    model.dispose();
    current.dispose();
  });
});
