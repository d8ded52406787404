import type { IndexConfig } from '../../shared/config.ts';
import { buildSemanticDocIds } from '../../shared/docids/build.ts';
import { encodeBatch, packFeatures, type EncoderWeights } from '../../shared/model/tower/encoder.ts';
import type { TrainingCorpus } from '../../shared/model/examples.ts';
import { normalizeRows } from '../../shared/model/heads.ts';
import { SparseTable } from '../../shared/model/sparse-table.ts';
import { fullView, type TokenizedDoc } from '../../shared/model/views.ts';
import type { Vocabulary } from '../../shared/text/vocabulary.ts';
import { mulberry32 } from '../../shared/util/random.ts';
import { gatingPrototypes } from '../../shared/model/gating/prototypes.ts';
import type { GatingJob } from './jobs.ts';

/**
 * DocIDs from the geometry every model starts in: documents embedded by the pre-trained
 * text tower (or, without one, by a random projection of their tf·idf vectors, the
 * untrained towers' state), clustered hierarchically into `topics` topics (the index's
 * topic count unless given, e.g. for a shard added later).
 */
export function semanticDocIds(docs: readonly TokenizedDoc[], vocabulary: Vocabulary, config: Readonly<IndexConfig>, topics = config.docids.topics, tower?: EncoderWeights): number[][] {
  const dim = config.dim;
  const vectors = tower ? towerVectors(tower, docs, config) : randomProjection(docs, vocabulary, config);
  return buildSemanticDocIds(vectors, docs.length, dim, { ...config.docids, topics, seed: config.seed });
}

function randomProjection(docs: readonly TokenizedDoc[], vocabulary: Vocabulary, config: Readonly<IndexConfig>): Float32Array {
  const dim = config.dim;
  const table = new SparseTable(vocabulary.size, dim).initNormal(mulberry32(config.seed), 1);
  const features = packFeatures(docs.map((doc) => vocabulary.encode(fullView(doc, config.featurizer))));
  const bags = new Float32Array(docs.length * dim);
  table.bag(features.rows, features.weights, features.offsets, bags);
  return normalizeRows(bags, dim);
}

function towerVectors(tower: EncoderWeights, docs: readonly TokenizedDoc[], config: Readonly<IndexConfig>): Float32Array {
  const dim = tower.table.dim;
  const out = new Float32Array(docs.length * dim);
  const chunk = 4096;
  for (let start = 0; start < docs.length; start += chunk) {
    const features = docs.slice(start, start + chunk).map((doc) => tower.vocabulary.encode(fullView(doc, config.featurizer)));
    out.set(encodeBatch(tower, features), start * dim);
  }
  return out;
}

/** The gating model's training job over every document of the index (paths[i] is the DocID of corpus.docs[i]), on the index's most frequent features (config.gating.maxFeatures). */
export function gatingJobFor(outDir: string, config: IndexConfig, corpus: TrainingCorpus, vocabulary: Vocabulary, paths: readonly (readonly number[])[], startTower?: string): GatingJob {
  const { docRows, rowTopics } = gatingPrototypes(paths);
  const routing = vocabulary.mostFrequent(config.gating.maxFeatures);
  return {
    kind: 'gating',
    outDir,
    config,
    corpus,
    vocabulary: { ids: routing.ids, idf: routing.idf, documents: routing.documents },
    docRows,
    rowTopics,
    ...(startTower ? { startTower } : {}),
  };
}
