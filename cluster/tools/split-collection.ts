import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { listSplits, loadCorpus, loadQueries, readQrels, type BeirDoc } from '../../shared/beir/reader.ts';
import type { QueryPair } from '../../shared/artifact/shard-data.ts';

export interface HeldBack {
  docs: BeirDoc[];
  /** Pairs of every split whose document is held back, by split name. */
  pairs: Map<string, QueryPair[]>;
}

/**
 * Writes the documents `keep` accepts (with their queries and qrels, every split) as a
 * BEIR collection in `outDir`, and returns the others with their query pairs: a collection
 * cut into what an index is first built from and what is added to it later.
 */
export async function splitCollection(from: string, outDir: string, keep: (doc: BeirDoc, index: number) => boolean): Promise<HeldBack> {
  const { docs } = await loadCorpus(from);
  const queries = await loadQueries(from);
  const kept = new Set<string>();
  const held: BeirDoc[] = [];
  docs.forEach((d, i) => (keep(d, i) ? kept.add(d.id) : held.push(d)));
  await mkdir(join(outDir, 'qrels'), { recursive: true });
  await writeFile(join(outDir, 'corpus.jsonl'), docs.filter((d) => kept.has(d.id)).map((d) => `${JSON.stringify({ _id: d.id, title: d.title, text: d.text })}\n`).join(''));
  const keptQueries = new Set<string>();
  const pairs = new Map<string, QueryPair[]>();
  for (const split of await listSplits(from)) {
    const qrels = await readQrels(from, split);
    const lines = ['query-id\tcorpus-id\tscore'];
    const heldPairs: QueryPair[] = [];
    for (const q of qrels) {
      if (kept.has(q.docId)) {
        lines.push(`${q.queryId}\t${q.docId}\t${q.score}`);
        keptQueries.add(q.queryId);
      } else {
        heldPairs.push({ query: queries.get(q.queryId) ?? '', doc: q.docId });
      }
    }
    await writeFile(join(outDir, 'qrels', `${split}.tsv`), `${lines.join('\n')}\n`);
    pairs.set(split, heldPairs.filter((p) => p.query !== ''));
  }
  await writeFile(join(outDir, 'queries.jsonl'), [...queries].filter(([id]) => keptQueries.has(id)).map(([id, text]) => `${JSON.stringify({ _id: id, text })}\n`).join(''));
  return { docs: held, pairs };
}
