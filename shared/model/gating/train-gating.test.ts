import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { defaultIndexConfig, type IndexConfig } from '../../config.ts';
import { createLogger } from '../../log.ts';
import { createProgress } from '../../progress.ts';
import { featurize } from '../../text/featurizer.ts';
import { VocabularyBuilder } from '../../text/vocabulary.ts';
import { initBackend } from '../backend.ts';
import { fullView, tokenizeDoc } from '../views.ts';
import type { GatingModel } from './gating-model.ts';
import { trainGating } from './train-gating.ts';

// 6 topics of 4 prototype rows of 3 documents. Each document has words of its own, and its
// training queries a word no document contains: only training ties a query to its topic.
const TOPICS = 6;
const ROWS_PER_TOPIC = 4;
const DOCS_PER_ROW = 3;
const ROWS = TOPICS * ROWS_PER_TOPIC;
const DOCS = ROWS * DOCS_PER_ROW;
const docRows = Int32Array.from({ length: DOCS }, (_, d) => Math.floor(d / DOCS_PER_ROW));
const rowTopics = Int32Array.from({ length: ROWS }, (_, r) => Math.floor(r / ROWS_PER_TOPIC));
const docs = Array.from({ length: DOCS }, (_, d) => {
  const t = rowTopics[docRows[d]!]!;
  return tokenizeDoc({ title: `pkg${d}x`, text: `area${t}x tool${d}x handles files of kind${d}x and more with common shared words in a longer text than one span` }, 256);
});
const queries = Array.from({ length: DOCS }, (_, d) => [`ask${d}x please`, `ask${d}x now`]).flatMap((texts, doc) => texts.map((t) => ({ doc, bag: featurize(t) })));
const silent = createProgress({ tty: false, log: createLogger({ name: 'gating-test', level: 'silent' }) });

function configWith(bounded: Partial<IndexConfig['gating']['bounded']>, epochs: number): IndexConfig {
  const c = defaultIndexConfig(DOCS, 1);
  return { ...c, dim: 32, gating: { ...c.gating, epochs, batchSize: 16, bounded: { ...c.gating.bounded, ...bounded } } };
}

function vocabulary(config: IndexConfig) {
  const builder = new VocabularyBuilder(config.vocabulary);
  for (const d of docs) builder.addDocument(fullView(d, config.featurizer));
  for (const q of queries) builder.addExtra(q.bag);
  return builder.build();
}

async function train(config: IndexConfig) {
  await initBackend({ prefer: 'cpu' });
  return trainGating({ docs, queries }, vocabulary(config), docRows, rowTopics, config, silent);
}

/** Fraction of the training queries whose most likely topic is their document's. */
function topicFirst(model: GatingModel): number {
  const logp = model.route(queries.map((q) => model.encoder.vocabulary.encode(q.bag)));
  const topics = model.topicIds.length;
  let right = 0;
  queries.forEach((q, i) => {
    const scores = logp.subarray(i * topics, (i + 1) * topics);
    const best = scores.indexOf(Math.max(...scores));
    if (model.topicIds[best] === rowTopics[docRows[q.doc]!]) right++;
  });
  return right / queries.length;
}

function digest(model: GatingModel): string {
  const hash = createHash('sha256');
  for (const values of [model.topics.dataSync(), model.scale.dataSync(), model.encoder.mix.dataSync(), model.encoder.table.values]) hash.update(new Uint8Array(values.buffer, values.byteOffset, values.byteLength));
  return hash.digest('hex');
}

describe('trainGating bounded (above gating.bounded.aboveRows)', () => {
  it('learns on a sample of views and of rows: the loss falls and queries route to their topic', async () => {
    const { model, training } = await train(configWith({ aboveRows: 4, softmaxRows: 8, viewsPerRow: 4, anchorDocsPerRow: 2 }, 15));
    const untrained = await train(configWith({ aboveRows: 4, softmaxRows: 8, viewsPerRow: 4, anchorDocsPerRow: 2 }, 0));
    // Per epoch: the training queries twice, and 4 views of each row.
    expect(training.examples).toBe(15 * (2 * queries.length + 4 * ROWS));
    expect(training.losses.at(-1)!).toBeLessThan(training.losses[0]! * 0.5);
    expect(topicFirst(untrained.model)).toBeLessThan(0.4);
    expect(topicFirst(model)).toBeGreaterThan(0.9);
    model.dispose();
    untrained.model.dispose();
  });
});

describe('trainGating at or below the bound', () => {
  it('trains exactly as before bounding existed: the same weights as the unbounded training gave', async () => {
    const { model, training } = await train(configWith({ aboveRows: ROWS, softmaxRows: 2, viewsPerRow: 1, anchorDocsPerRow: 1 }, 2));
    // The whole text and 2 spans of every document (none is longer than a lead), each query twice: every view, every epoch.
    expect(training.examples).toBe(2 * (3 * DOCS + 2 * queries.length));
    // The digest of the weights the training gave before it could be bounded (same collection, seed and backend).
    expect(digest(model)).toBe(UNBOUNDED_DIGEST);
    model.dispose();
  });
});

/** Printed by this fixture at the commit before bounded training (on the cpu backend); a change to the unbounded path changes it. */
const UNBOUNDED_DIGEST = 'c0e37b007ddf12632365f661991958c29a24e86fc9e3fb86179f487a8f4cc44d';
