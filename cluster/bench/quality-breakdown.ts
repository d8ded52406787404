/**
 * Where each query was lost. For every query of a split (its first relevant document),
 * in the order a search meets it:
 *   not routed       no shard holding the document was asked (the gating model and the
 *                    lexical plan both missed its topic's shard)
 *   not a candidate  its shard was asked, but neither half proposed it: not in the lexical
 *                    pass's top candidates, not under the semantic half's likely clusters
 *   ranked 11+       a candidate, fused below rank 10
 *   ranked 2–10      in the top 10, below another document; the line says whether the
 *                    document above it is a near-duplicate (same name stem: foo, foo-doc,
 *                    libfoo-dev) and which half would have put the right one first
 *   found            rank 1
 * plus how often each half alone proposes the document (candidate recall) and ranks it
 * first, the gating model's top topic, and a few lost queries of each kind.
 *
 *   node --import tsx cluster/bench/quality-breakdown.ts INDEX_DIR CORPUS_DIR [SPLIT=dev] [LIMIT=1500] [--examples N]
 */
import { parseArgs } from 'node:util';
import { initBackend } from '../../shared/model/backend.ts';
import { loadCorpus, loadQueries, loadSplit } from '../../shared/beir/reader.ts';
import { Scoring } from '../../shared/bus/protocol.ts';
import { findCandidates } from '../../shared/model/expert/search-expert.ts';
import { nameParts } from '../../shared/model/lexical/terms.ts';
import { LocalIndex } from '../local-index.ts';

const { values, positionals } = parseArgs({ options: { examples: { type: 'string', default: '3' } }, allowPositionals: true });
const [indexDir, corpusDir, split = 'dev', limitArg = '1500'] = positionals;
if (!indexDir || !corpusDir) {
  process.stderr.write('usage: quality-breakdown.ts INDEX_DIR CORPUS_DIR [SPLIT] [LIMIT] [--examples N]\n');
  process.exit(2);
}
await initBackend({ prefer: 'auto' });
const { index } = await LocalIndex.open(indexDir);
const { docs, docIndex } = await loadCorpus(corpusDir);
const queries = await loadQueries(corpusDir);
const where = new Map<string, { shard: string; local: number; topic: number }>();
for (const [shard, e] of index.experts) e.docIds.forEach((id, i) => where.set(id, { shard, local: i, topic: e.model.trie.pathOf(e.model.trie.leafOfDoc(i))[0]! }));
const qrels = [...(await loadSplit(corpusDir, split, queries, docIndex))].slice(0, Number(limitArg));
const titleOf = (id: string) => docs[docIndex.get(id)!]?.title ?? id;
/** Two names of one family: one's name parts include the other's first part (foo / foo-doc / libfoo-dev). */
const family = (a: string, b: string) => {
  const pa = nameParts(titleOf(a));
  const pb = nameParts(titleOf(b));
  return pa.includes(pb[0] ?? '\u0000') || pb.includes(pa[0] ?? '\u0000');
};

const outcome = { found: 0, 'ranked 2-10': 0, 'ranked 11+': 0, 'not a candidate': 0, 'not routed': 0 };
const detail = { nearDuplicateAbove: 0, lexicalWouldWin: 0, semanticWouldWin: 0, gatingTop1: 0, lexicalCandidate: 0, semanticCandidate: 0, lexicalFirst: 0, semanticFirst: 0 };
const examples = new Map<string, string[]>();
const note = (kind: string, line: string) => {
  const list = examples.get(kind) ?? [];
  if (list.length < Number(values.examples)) list.push(line);
  examples.set(kind, list);
};

for (const [queryId, relevant] of qrels) {
  const text = queries.get(queryId)!;
  const id = [...relevant][0]!;
  const w = where.get(id)!;
  const result = await index.search(text, 10);
  const ids = result.hits.map((h) => h.id);
  const lexicalOnly = (await index.search(text, 1, undefined, Scoring.lexical)).hits[0]?.id;
  const semanticOnly = (await index.search(text, 1, undefined, Scoring.semantic)).hits[0]?.id;
  if (lexicalOnly === id) detail.lexicalFirst++;
  if (semanticOnly === id) detail.semanticFirst++;
  if (result.routed[0]?.topic === w.topic) detail.gatingTop1++;

  const shardQuery = index.engine.shardQueries(text, { k: 10 }).get(w.shard);
  let lexicalCandidate = false;
  let semanticCandidate = false;
  if (shardQuery) {
    const expert = index.experts.get(w.shard)!;
    lexicalCandidate = findCandidates(expert, { ...shardQuery, scoring: Scoring.lexical }, index.config).docs.includes(w.local);
    // Without lexical terms, the candidates are the leaves of the semantic half's likely clusters.
    semanticCandidate = findCandidates(expert, { ...shardQuery, lexical: { terms: [], weights: [], bound: 0 } }, index.config).docs.includes(w.local);
  }
  if (lexicalCandidate) detail.lexicalCandidate++;
  if (semanticCandidate) detail.semanticCandidate++;

  const rank = ids.indexOf(id);
  if (rank === 0) outcome.found++;
  else if (rank > 0) {
    outcome['ranked 2-10']++;
    const above = ids[0]!;
    if (family(above, id)) detail.nearDuplicateAbove++;
    if (lexicalOnly === id) detail.lexicalWouldWin++;
    if (semanticOnly === id) detail.semanticWouldWin++;
    note('ranked 2-10', `"${text}" → ${titleOf(above)} above ${titleOf(id)} (rank ${rank + 1})`);
  } else if (!shardQuery) {
    outcome['not routed']++;
    note('not routed', `"${text}" → ${titleOf(id)} in topic ${w.topic}, routed ${result.routed.map((r) => r.topic).join(',')}`);
  } else if (!lexicalCandidate && !semanticCandidate) {
    outcome['not a candidate']++;
    note('not a candidate', `"${text}" → ${titleOf(id)}; top: ${ids.slice(0, 3).map(titleOf).join(', ')}`);
  } else {
    outcome['ranked 11+']++;
    note('ranked 11+', `"${text}" → ${titleOf(id)}; top: ${ids.slice(0, 3).map(titleOf).join(', ')}`);
  }
}
const n = Math.max(qrels.length, 1);
const share = (o: Record<string, number>) => Object.fromEntries(Object.entries(o).map(([k, v]) => [k, +(v / n).toFixed(3)]));
console.log(JSON.stringify({ split, queries: qrels.length, outcome: share(outcome), ...share(detail) }));
for (const [kind, lines] of examples) {
  console.log(`\n${kind}:`);
  for (const line of lines) console.log(`  ${line}`);
}
index.dispose();
