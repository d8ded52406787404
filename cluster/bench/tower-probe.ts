/**
 * How good the pre-trained text tower is on its own, as a flat dual encoder: every
 * document of the collection is a candidate, ranked by cosine to the query (no DocIDs, no
 * gating, no experts). Prints dev/test Hits@1 and Hits@10 of the tower at its random start
 * and after each pre-training epoch, which is what the index's models start from.
 *
 *   node --import tsx cluster/bench/tower-probe.ts --corpus DIR [--split dev] [--epochs 2] [--limit 3000]
 */
import { parseArgs } from 'node:util';
import * as tf from '@tensorflow/tfjs-core';
import { loadCorpus, loadQueries, loadSplit } from '../../shared/beir/reader.ts';
import { defaultIndexConfig } from '../../shared/config.ts';
import { createLogger } from '../../shared/log.ts';
import { initBackend } from '../../shared/model/backend.ts';
import { createEncoderWeights, encodeBatch, type EncoderWeights } from '../../shared/model/tower/encoder.ts';
import { pretrainEncoder } from '../../shared/model/tower/train-encoder.ts';
import { fullView, tokenizeDoc } from '../../shared/model/views.ts';
import { createProgress } from '../../shared/progress.ts';
import { featurize } from '../../shared/text/featurizer.ts';
import { mulberry32 } from '../../shared/util/random.ts';
import { buildVocabulary } from '../../shared/model/tower/vocabulary.ts';
import { featurizePairs, loadQueryPairs } from '../indexing/query-pairs.ts';

const { values } = parseArgs({ options: { corpus: { type: 'string' }, split: { type: 'string', default: 'dev' }, epochs: { type: 'string', default: '2' }, limit: { type: 'string', default: '3000' } } });
if (!values.corpus) {
  process.stderr.write('usage: tower-probe.ts --corpus DIR [--split dev] [--epochs 2] [--limit 3000]\n');
  process.exit(2);
}
const log = createLogger({ name: 'tower-probe', level: 'warn' });
await initBackend({ prefer: 'auto', log });
const { docs, docIndex } = await loadCorpus(values.corpus);
const config = defaultIndexConfig(docs.length);
const tokenized = docs.map((d) => tokenizeDoc(d, config.featurizer.maxTokens));
const corpus = { docs: tokenized, queries: featurizePairs(await loadQueryPairs(values.corpus, config.trainSplit, docIndex), docIndex) };
const vocabulary = buildVocabulary(corpus, config);
const docFeatures = tokenized.map((d) => vocabulary.encode(fullView(d, config.featurizer)));
const queryTexts = await loadQueries(values.corpus);
const judged = [...(await loadSplit(values.corpus, values.split!, queryTexts, docIndex))].slice(0, Number(values.limit));
const queryFeatures = judged.map(([id]) => vocabulary.encode(featurize(queryTexts.get(id)!, config.featurizer)));

function hits(encoder: EncoderWeights): { 'hits@1': number; 'hits@10': number } {
  const dim = encoder.table.dim;
  const docVectors = encodeBatch(encoder, docFeatures);
  const queryVectors = encodeBatch(encoder, queryFeatures);
  let at1 = 0;
  let at10 = 0;
  tf.tidy(() => {
    // Transposed once, explicitly: matMul's transpose flags are slow on the wasm backend.
    const candidates = tf.transpose(tf.tensor2d(docVectors, [docs.length, dim]));
    for (let start = 0; start < judged.length; start += 256) {
      const n = Math.min(256, judged.length - start);
      const top = tf.tidy(() => tf.topk(tf.matMul(tf.tensor2d(queryVectors.subarray(start * dim, (start + n) * dim), [n, dim]), candidates), 10).indices.arraySync() as number[][]);
      top.forEach((row, i) => {
        const relevant = judged[start + i]![1];
        if (relevant.has(docs[row[0]!]!.id)) at1++;
        if (row.some((r) => relevant.has(docs[r]!.id))) at10++;
      });
    }
  });
  return { 'hits@1': +(at1 / judged.length).toFixed(3), 'hits@10': +(at10 / judged.length).toFixed(3) };
}

const start = createEncoderWeights(vocabulary, config.dim, mulberry32(config.seed));
console.log(JSON.stringify({ split: values.split, queries: judged.length, documents: docs.length, tower: 'random start', ...hits(start) }));
start.mix.dispose();
for (let epochs = 1; epochs <= Number(values.epochs); epochs++) {
  // Retrained from the start for each count: the same seed makes epoch k's tower the one a build with encoder.epochs = k starts from.
  const { encoder, training } = await pretrainEncoder(corpus, vocabulary, { ...config, encoder: { ...config.encoder, epochs } }, createProgress({ tty: false, log }));
  console.log(JSON.stringify({ split: values.split, queries: judged.length, tower: `${epochs} epoch(s)`, seconds: +training.seconds.toFixed(1), ...hits(encoder) }));
  encoder.mix.dispose();
}
