/**
 * What the gating model's training costs as the collection grows, unbounded (every view
 * of every document each epoch, a softmax over every prototype row, every document
 * re-encoded to re-anchor) against bounded (IndexConfig.gating.bounded: at most
 * viewsPerRow views per row, a softmax over softmaxRows sampled rows, a fixed sample of
 * each row's documents re-anchored). For each size, a sample of the collection (every core
 * document plus evenly spaced distractors, as cluster/tools/distractor-sample.ts makes
 * them) at the default config for that size (shards grown as bench:scale grows them):
 *   prepare     seconds to tokenize, build the vocabulary and the DocIDs, and the fixed
 *               views (ExampleStream), documentFeatures, prototypeAnchors over every document
 *               and over the bounded sample, and one epoch's examples either way
 *   train       examples/s of trainStep over --batches batches of each path, and the
 *               epoch time that gives (examples ÷ examples/s + re-anchoring)
 *   quality     (--quality sizes: both paths; --bounded-quality sizes: the bounded one)
 *               trainGating at the config's epochs, its wall time, and on the test split's
 *               queries how often the relevant document's topic is among those the gating
 *               model alone asks (selectTopics at the config's threshold and fan-out), and
 *               ranked first
 *
 *   node --import tsx cluster/bench/gating-scale.ts --corpus DIR [--sizes 60k,200k,800k]
 *        [--batches 12] [--quality 60k] [--bounded-quality 200k] [--bounds JSON] [--also-softmax N,…] [--out FILE]
 *
 * --also-softmax 512,1024 times the bounded path's steps at these softmax sizes too.
 * --bounds overrides the bounded path's settings (e.g. '{"softmaxRows":160}': at 60K, a
 * sample of the rows as small a share as the default's at 800K), the timing's and the quality's.
 *
 * Cheap on purpose: no pre-trained text tower (DocIDs from a random projection of tf·idf
 * vectors, the gating model's tower from random rows, as with encoder.epochs 0) and all of
 * the train split's queries (the build sets calibration queries aside). Quality figures
 * compare the two paths with each other, not with a full build's. Timings on a shared
 * machine are noisy: compare the two paths within one run.
 */
import { writeFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import * as tf from '@tensorflow/tfjs-core';
import { loadCorpus } from '../../shared/beir/reader.ts';
import { defaultIndexConfig, IndexConfigSchema, type IndexConfig } from '../../shared/config.ts';
import { createLogger } from '../../shared/log.ts';
import { initBackend } from '../../shared/model/backend.ts';
import { ExampleStream, type DocExample, type TrainingCorpus } from '../../shared/model/examples.ts';
import { GatingModel, prototypeAnchors, selectTopics, type GatingExample } from '../../shared/model/gating/gating-model.ts';
import { gatingPrototypes } from '../../shared/model/gating/prototypes.ts';
import { anchorSample, documentsOfRows, trainGating } from '../../shared/model/gating/train-gating.ts';
import { DEFAULT_SPARSE_ADAM } from '../../shared/model/sparse-table.ts';
import { createEncoderWeights } from '../../shared/model/tower/encoder.ts';
import { buildVocabulary } from '../../shared/model/tower/vocabulary.ts';
import { tokenizeDoc } from '../../shared/model/views.ts';
import { createProgress } from '../../shared/progress.ts';
import { featurize } from '../../shared/text/featurizer.ts';
import { mulberry32, shuffleInPlace } from '../../shared/util/random.ts';
import { featurizePairs, loadQueryPairs } from '../indexing/query-pairs.ts';
import { semanticDocIds } from '../indexing/semantic-ids.ts';
import { distractorChoice, REGISTRY_DISTRACTOR } from '../tools/distractor-sample.ts';
import { DEFAULT_SHARDS_PER_100K, parseSizes, shardsFor } from './scale-options.ts';

const { values } = parseArgs({
  options: {
    corpus: { type: 'string' },
    sizes: { type: 'string', default: '60k,200k,800k' },
    batches: { type: 'string', default: '12' },
    quality: { type: 'string', default: '' },
    'bounded-quality': { type: 'string', default: '' },
    bounds: { type: 'string', default: '{}' },
    'also-softmax': { type: 'string', default: '' },
    out: { type: 'string' },
  },
});
if (!values.corpus) {
  process.stderr.write('usage: gating-scale.ts --corpus DIR [--sizes 60k,200k,800k] [--batches 12] [--quality 60k] [--bounded-quality 200k] [--bounds JSON] [--also-softmax N,…] [--out FILE]\n');
  process.exit(2);
}
const sizesOf = (text: string) => (text ? parseSizes(text) : []);
const batches = Number(values.batches);
const boundsOverride = IndexConfigSchema.shape.gating.shape.bounded.removeDefault().partial().strict().parse(JSON.parse(values.bounds!));
const log = createLogger({ name: 'bench-gating', level: 'warn' });
const silent = createProgress({ tty: false, log });
await initBackend({ prefer: 'auto', log });

const seconds = (since: number) => +((performance.now() - since) / 1000).toFixed(2);
function timed<T>(into: Record<string, number>, name: string, run: () => T): T {
  const t = performance.now();
  const out = run();
  into[name] = seconds(t);
  return out;
}

let t = performance.now();
const collection = await loadCorpus(values.corpus);
const loadSeconds = seconds(t);
const isDistractor = (id: string) => REGISTRY_DISTRACTOR.test(id);
const core = collection.docs.filter((d) => !isDistractor(d.id)).length;
const available = collection.docs.length - core;
const testPairs = await loadQueryPairs(values.corpus, 'test', collection.docIndex);
const results: Record<string, unknown>[] = [];
console.log(`collection: ${collection.docs.length} documents loaded in ${loadSeconds} s`);

for (const size of sizesOf(values.sizes!)) {
  const keep = distractorChoice(core, available, { from: '', out: '', size: Math.max(size, core) });
  let d = 0;
  const docs = collection.docs.filter((doc) => !isDistractor(doc.id) || keep(d++));
  const docIndex = new Map(docs.map((doc, i) => [doc.id, i]));
  const defaults = defaultIndexConfig(docs.length, shardsFor(docs.length, { shards: undefined, shardsPer100k: DEFAULT_SHARDS_PER_100K }), 1);
  const config: IndexConfig = { ...defaults, gating: { ...defaults.gating, bounded: { ...defaults.gating.bounded, ...boundsOverride } } };
  const bounds = config.gating.bounded;
  const prepare: Record<string, number> = {};
  const tokenized = timed(prepare, 'tokenize_s', () => docs.map((doc) => tokenizeDoc(doc, config.featurizer.maxTokens)));
  const queries = featurizePairs(await loadQueryPairs(values.corpus, config.trainSplit, docIndex), docIndex);
  const corpus: TrainingCorpus = { docs: tokenized, queries };
  const vocabulary = timed(prepare, 'vocabulary_s', () => buildVocabulary(corpus, config));
  const paths = timed(prepare, 'docids_s', () => semanticDocIds(tokenized, vocabulary, config));
  const { docRows, rowTopics } = gatingPrototypes(paths);
  const rows = rowTopics.length;
  const encoder = createEncoderWeights(vocabulary, config.dim, mulberry32(config.seed));
  const stream = timed(prepare, 'fixed_views_s', () => new ExampleStream(corpus, vocabulary, config.views, config.featurizer));
  const docFeatures = timed(prepare, 'document_features_s', () => stream.documentFeatures());
  timed(prepare, 'anchors_all_s', () => prototypeAnchors(encoder, rows, docFeatures, docRows));
  const rowDocs = documentsOfRows(docRows, rows);
  const anchored = anchorSample(rowDocs, bounds.anchorDocsPerRow, mulberry32(config.seed + 11), docFeatures);
  timed(prepare, 'anchors_sampled_s', () => prototypeAnchors(encoder, rows, anchored.docFeatures, anchored.docRows));
  const rand = mulberry32(config.seed + 7);
  const unboundedEpoch = timed(prepare, 'epoch_examples_unbounded_s', () => stream.epoch(rand));
  const boundedEpoch = timed(prepare, 'epoch_examples_bounded_s', () => stream.sampledEpoch(rand, rowDocs, bounds.viewsPerRow));

  const model = GatingModel.create(encoder, rowTopics, docFeatures, docRows);
  const throughput = (examples: readonly DocExample[], sample: boolean) => stepsPerSecond(model, examples, docRows, config, sample);
  const unbounded = throughput(unboundedEpoch, false);
  const bounded = throughput(boundedEpoch, true);
  const epochSeconds = (examples: number, perSecond: number, anchors: number) => Math.round(examples / perSecond + (config.gating.reanchor ? anchors : 0));
  const alsoSoftmax = sizesOf(values['also-softmax']!).map((rows) => {
    const perSecond = stepsPerSecond(model, boundedEpoch, docRows, { ...config, gating: { ...config.gating, bounded: { ...bounds, softmaxRows: rows } } }, true);
    return { softmax_rows: rows, examples_per_s: perSecond, epoch_s: epochSeconds(boundedEpoch.length, perSecond, prepare.anchors_sampled_s!) };
  });
  model.dispose();
  const row: Record<string, unknown> = {
    documents: docs.length,
    topics: config.docids.topics,
    rows,
    bounds,
    training_queries: queries.length,
    prepare,
    unbounded: { examples_per_epoch: unboundedEpoch.length, examples_per_s: unbounded, epoch_s: epochSeconds(unboundedEpoch.length, unbounded, prepare.anchors_all_s!) },
    bounded: {
      active: rows > bounds.aboveRows,
      examples_per_epoch: boundedEpoch.length,
      examples_per_s: bounded,
      epoch_s: epochSeconds(boundedEpoch.length, bounded, prepare.anchors_sampled_s!),
      also: alsoSoftmax,
    },
    epochs: config.gating.epochs,
  };
  console.log(JSON.stringify(row));
  for (const [flag, paths] of [['quality', ['unbounded', 'bounded']], ['bounded-quality', ['bounded']]] as const) {
    if (!sizesOf(values[flag]!).some((s) => sampleOf(s) === docs.length)) continue;
    for (const path of paths) {
      const c: IndexConfig = { ...config, gating: { ...config.gating, bounded: { ...bounds, aboveRows: path === 'bounded' ? 0 : 2 ** 31 - 1 } } };
      const { model: trained, training } = await trainGating(corpus, vocabulary, docRows, rowTopics, c, silent);
      row[`quality_${path}`] = { train_s: Math.round(training.seconds), examples_per_s: Math.round(training.examplesPerSecond), losses: training.losses.map((l) => +l.toFixed(3)), ...routing(trained, docIndex, docRows, config) };
      trained.dispose();
      console.log(JSON.stringify({ documents: docs.length, path, ...(row[`quality_${path}`] as object) }));
    }
  }
  row.peak_rss_mb = Math.round(process.resourceUsage().maxRSS / 1024);
  results.push(row);
  if (values.out) writeFileSync(values.out, `${JSON.stringify({ collection: values.corpus, load_s: loadSeconds, sizes: results }, null, 2)}\n`);
}

/** The sample's document count for a --sizes entry (a size below the core is the core). */
function sampleOf(size: number): number {
  return Math.max(size, core);
}

/** trainStep's examples/s over `batches` batches of shuffled examples (after one to warm up). */
function stepsPerSecond(model: GatingModel, examples: readonly DocExample[], docRows: Int32Array, config: IndexConfig, sample: boolean): number {
  const order = Int32Array.from(examples.keys());
  shuffleInPlace(order, mulberry32(3));
  const size = config.gating.batchSize;
  const batch = (b: number): GatingExample[] => Array.from(order.subarray(b * size, (b + 1) * size), (i) => ({ features: examples[i]!.features, topic: docRows[examples[i]!.doc]! }));
  const dense = tf.train.adam(config.gating.denseLearningRate);
  const sparse = { ...DEFAULT_SPARSE_ADAM, learningRate: config.gating.encoderLearningRate };
  const softmax = sample ? { rows: config.gating.bounded.softmaxRows, rand: mulberry32(5) } : undefined;
  model.trainStep(batch(0), sparse, dense, config.gating.topicWeight, softmax);
  const t = performance.now();
  let seen = 0;
  for (let b = 1; b <= batches; b++) {
    const items = batch(b);
    model.trainStep(items, sparse, dense, config.gating.topicWeight, softmax);
    seen += items.length;
  }
  dense.dispose();
  return Math.round(seen / ((performance.now() - t) / 1000));
}

/** On the test split: how often the relevant document's topic is asked (selectTopics alone), and ranked first; the mean topics asked. */
function routing(model: GatingModel, docIndex: ReadonlyMap<string, number>, docRows: Int32Array, config: IndexConfig) {
  const pairs = testPairs.filter((p) => docIndex.has(p.doc));
  const logp = model.route(pairs.map((p) => model.encoder.vocabulary.encode(featurize(p.query))));
  const topics = model.topicIds.length;
  let asked = 0;
  let first = 0;
  let fanout = 0;
  pairs.forEach((p, i) => {
    const scores = logp.subarray(i * topics, (i + 1) * topics);
    const topic = model.topicLabels[docRows[docIndex.get(p.doc)!]!]!;
    const chosen = selectTopics(scores, model.topicIds, config.routing);
    if (chosen.some((c) => c.topic === topic)) asked++;
    if (chosen[0]!.topic === topic) first++;
    fanout += chosen.length;
  });
  const n = Math.max(pairs.length, 1);
  return { test_queries: pairs.length, topic_asked: +(asked / n).toFixed(3), topic_first: +(first / n).toFixed(3), mean_fanout: +(fanout / n).toFixed(2) };
}

