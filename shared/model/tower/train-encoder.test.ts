import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { defaultIndexConfig } from '../../config.ts';
import { createLogger } from '../../log.ts';
import { createProgress } from '../../progress.ts';
import { featurize } from '../../text/featurizer.ts';
import { VocabularyBuilder } from '../../text/vocabulary.ts';
import { mulberry32 } from '../../util/random.ts';
import { initBackend } from '../backend.ts';
import { columnsOf, createEncoderWeights, encodeBatch, encodeOne, type EncoderWeights } from './encoder.ts';
import { loadTower, saveTower } from './encoder-store.ts';
import { pretrainEncoder } from './train-encoder.ts';
import { fullView, tokenizeDoc } from '../views.ts';

const DOCS = 24;
// Each document has words of its own; its queries use a word no document contains, so only
// training can tie a query to its document.
const docs = Array.from({ length: DOCS }, (_, i) => tokenizeDoc({ title: `pkg${i}x`, text: `tool${i}x handles files of kind${i}x with common shared words` }, 256));
const queries = Array.from({ length: DOCS }, (_, i) => [`ask${i}x please`, `ask${i}x now`]).flatMap((texts, doc) => texts.map((t) => ({ doc, bag: featurize(t) })));
const config = { ...defaultIndexConfig(DOCS, 1), dim: 32, encoder: { epochs: 30, batchSize: 16, learningRate: 0.05, scale: 20 } };
const silent = createProgress({ tty: false, log: createLogger({ name: 'tower-test', level: 'silent' }) });
const work = await mkdtemp(join(tmpdir(), 'dsi-tower-'));
afterAll(() => rm(work, { recursive: true, force: true }));

function vocabulary() {
  const builder = new VocabularyBuilder(config.vocabulary);
  for (const d of docs) builder.addDocument(fullView(d, config.featurizer));
  for (const q of queries) builder.addExtra(q.bag);
  return builder.build();
}

/** Fraction of the training queries whose nearest document (cosine) is their own. */
function nearestIsOwn(encoder: EncoderWeights): number {
  const dim = encoder.table.dim;
  const d = encodeBatch(encoder, docs.map((doc) => encoder.vocabulary.encode(fullView(doc, config.featurizer))));
  const q = encodeBatch(encoder, queries.map((p) => encoder.vocabulary.encode(p.bag)));
  let right = 0;
  queries.forEach((p, i) => {
    let best = -1;
    let bestScore = Number.NEGATIVE_INFINITY;
    for (let j = 0; j < DOCS; j++) {
      let s = 0;
      for (let k = 0; k < dim; k++) s += q[i * dim + k]! * d[j * dim + k]!;
      if (s > bestScore) [best, bestScore] = [j, s];
    }
    if (best === p.doc) right++;
  });
  return right / queries.length;
}

describe('pretrainEncoder', () => {
  it('ties queries to documents they share no word with, which the random start cannot', async () => {
    await initBackend({ prefer: 'cpu' });
    const vocab = vocabulary();
    const before = createEncoderWeights(vocab, config.dim, mulberry32(config.seed));
    const { encoder, training } = await pretrainEncoder({ docs, queries }, vocab, config, silent);
    expect(nearestIsOwn(before)).toBeLessThan(0.3);
    expect(nearestIsOwn(encoder)).toBeGreaterThan(0.9);
    expect(training.losses.at(-1)!).toBeLessThan(training.losses[0]!);
    before.mix.dispose();
    encoder.mix.dispose();
  });

  it('encodes one query in plain JavaScript as the batched TensorFlow.js path does', async () => {
    await initBackend({ prefer: 'cpu' });
    const vocab = vocabulary();
    const { encoder } = await pretrainEncoder({ docs, queries }, vocab, { ...config, encoder: { ...config.encoder, epochs: 2 } }, silent);
    const items = queries.slice(0, 6).map((q) => encoder.vocabulary.encode(q.bag));
    const batch = encodeBatch(encoder, items);
    const columns = columnsOf(encoder.mix.dataSync() as Float32Array, config.dim);
    items.forEach((item, i) => {
      const one = encodeOne(encoder, columns, item);
      one.forEach((v, k) => expect(v).toBeCloseTo(batch[i * config.dim + k]!, 5));
    });
    encoder.mix.dispose();
  });

  it('round-trips through a tower folder, and a model started from it keeps the rows of the features it knows', async () => {
    await initBackend({ prefer: 'cpu' });
    const vocab = vocabulary();
    const { encoder } = await pretrainEncoder({ docs, queries }, vocab, { ...config, encoder: { ...config.encoder, epochs: 2 } }, silent);
    await saveTower(join(work, 'tower'), encoder);
    const loaded = await loadTower(join(work, 'tower'));
    expect(loaded.table.values).toEqual(encoder.table.values);
    expect(loaded.mix.dataSync()).toEqual(encoder.mix.dataSync());

    // A model whose vocabulary is a subset plus one unknown feature.
    const builder = new VocabularyBuilder(config.vocabulary);
    builder.addDocument(fullView(docs[0]!, config.featurizer));
    builder.addDocument(featurize('brand new words'));
    const own = builder.build();
    const model = createEncoderWeights(own, config.dim, mulberry32(9), loaded);
    for (let row = 0; row < own.size; row++) {
      const from = vocab.rowOf(own.ids[row]!);
      if (from >= 0) expect(Array.from(model.table.row(row))).toEqual(Array.from(encoder.table.row(from)));
      else expect(model.table.row(row).some((v) => v !== 0)).toBe(true);
    }
    expect(model.mix.dataSync()).toEqual(encoder.mix.dataSync());
    for (const e of [encoder, loaded, model]) e.mix.dispose();
  });
});
