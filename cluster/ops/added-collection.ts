import { stat } from 'node:fs/promises';
import { join } from 'node:path';
import { loadCorpus } from '../../shared/beir/reader.ts';
import { loadQueryPairs } from '../indexing/query-pairs.ts';
import type { AddedData } from './types.ts';

/**
 * Reads a BEIR collection of documents to add. Queries are optional: without
 * queries.jsonl and qrels/ the documents are added from their text alone; with them, the
 * `train` split's pairs train the retrieval task and the `heldout` split's pairs check it.
 */
export async function loadAddedCollection(dir: string, splits: { train: string; heldout: string }): Promise<AddedData> {
  const { docs, docIndex } = await loadCorpus(dir);
  const hasQueries = (await exists(join(dir, 'queries.jsonl'))) || (await exists(join(dir, 'queries.jsonl.gz')));
  if (!hasQueries || !(await exists(join(dir, 'qrels')))) return { docs, queries: { train: [], heldout: [] } };
  return { docs, queries: { train: await loadQueryPairs(dir, splits.train, docIndex), heldout: await loadQueryPairs(dir, splits.heldout, docIndex) } };
}

async function exists(path: string): Promise<boolean> {
  return stat(path).then(() => true, () => false);
}
