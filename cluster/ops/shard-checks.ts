import type { DocRecord } from '../../shared/artifact/index-artifact.ts';
import type { QueryPair } from '../../shared/artifact/shard-data.ts';
import type { IndexConfig } from '../../shared/config.ts';
import { BadInputError } from '../../shared/errors.ts';
import { fullView, tokenizeDoc } from '../../shared/model/views.ts';
import { featurize } from '../../shared/text/featurizer.ts';
import type { LoadedExpert } from '../../shared/model/expert/expert-store.ts';
import { measureIndexQuality } from '../../shared/model/expert/quality.ts';
import { beamFor } from '../../shared/model/expert/search-expert.ts';
import type { LocalIndex } from '../local-index.ts';
import type { ShardChecks } from './types.ts';

const K = 10;
/** Queries encoded per batch: bounds the query matrix, not the result. */
const CHUNK = 1024;

/** Held-out pairs grouped by query text: a query relevant to several documents counts once, found if any of them is. */
function byQuery(pairs: readonly QueryPair[]): Map<string, Set<string>> {
  const out = new Map<string, Set<string>>();
  for (const p of pairs) {
    const set = out.get(p.query);
    if (set) set.add(p.doc);
    else out.set(p.query, new Set([p.doc]));
  }
  return out;
}

/**
 * A shard's figures with its expert alone, free of routing: index_recall@1 and
 * collision_rate over `docs` (their whole text decoded from the root, as the build's
 * report does) and Hits@10 of the held-out queries decoded the same way. `docs` must hold
 * every document of the expert; held-out pairs for documents it lacks are left out.
 */
export function expertChecks(expert: LoadedExpert, docs: readonly Pick<DocRecord, 'id' | 'title' | 'text'>[], heldout: readonly QueryPair[], config: Readonly<IndexConfig>): ShardChecks {
  const { model } = expert;
  const vocabulary = model.encoder.vocabulary;
  const byId = new Map(docs.map((d) => [d.id, d]));
  const docFeatures = expert.docIds.map((id) => {
    const doc = byId.get(id);
    if (!doc) throw new BadInputError(`shard ${expert.shard}: no text for its document ${id}`);
    return vocabulary.encode(fullView(tokenizeDoc(doc, config.featurizer.maxTokens), config.featurizer));
  });
  const quality = measureIndexQuality(model, docFeatures, config.decode.beamWidth);

  const hits = expertHits(expert, heldout, config);
  return { 'index_recall@1': quality.indexRecallAt1, collision_rate: quality.collisionRate, 'hits@10': hits['hits@10'], heldout_queries: hits.queries };
}

/** Hits@10 of held-out queries decoded by the expert alone from the root; pairs for documents it lacks are left out; null without queries. */
export function expertHits(expert: LoadedExpert, heldout: readonly QueryPair[], config: Readonly<IndexConfig>): { 'hits@10': number | null; queries: number } {
  const { model } = expert;
  const vocabulary = model.encoder.vocabulary;
  const docOf = new Map(expert.docIds.map((id, i) => [id, i]));
  const queries = [...byQuery(heldout)]
    .map(([text, ids]) => ({ text, targets: new Set([...ids].flatMap((id) => (docOf.has(id) ? [docOf.get(id)!] : []))) }))
    .filter((q) => q.targets.size > 0);
  let found = 0;
  const options = beamFor(K, config.decode.beamWidth);
  for (let start = 0; start < queries.length; start += CHUNK) {
    const batch = queries.slice(start, start + CHUNK);
    const vectors = model.encode(batch.map((q) => vocabulary.encode(featurize(q.text, config.featurizer))));
    batch.forEach((q, i) => {
      if (model.search(vectors, i * model.dim, [{ node: 0, logp: 0 }], options).some((h) => q.targets.has(h.doc))) found++;
    });
  }
  return { 'hits@10': queries.length > 0 ? found / queries.length : null, queries: queries.length };
}

/** Hits@10 of held-out queries through the whole search (gating → experts → merge); null without queries. */
export async function searchHits(index: LocalIndex, heldout: readonly QueryPair[], fanout?: number): Promise<{ 'hits@10': number | null; queries: number }> {
  const queries = byQuery(heldout);
  let found = 0;
  for (const [text, relevant] of queries) if ((await index.search(text, K, fanout)).hits.some((h) => relevant.has(h.id))) found++;
  return { 'hits@10': queries.size > 0 ? found / queries.size : null, queries: queries.size };
}

/** Rounded for reports: four decimals are below any difference that means something here. */
export function roundChecks(c: ShardChecks): ShardChecks {
  const r = (x: number) => Math.round(x * 10000) / 10000;
  return { 'index_recall@1': r(c['index_recall@1']), collision_rate: r(c.collision_rate), 'hits@10': c['hits@10'] === null ? null : r(c['hits@10']), heldout_queries: c.heldout_queries };
}
