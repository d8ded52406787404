/**
 * What a collection's document records cost in memory, held two ways, one after the other:
 *   map      every record in a Map by id, each a frozen object: how the router held them
 *            (to title results and answer GET /v1/docs/:id) before the experts held them
 *   arrays   titles and texts in two arrays by document number and a Map from id to
 *            number: how an expert holds its shard's (ShardDocuments), here for the whole
 *            collection, which the experts of all shards share between them
 * in MB of heap after a full collection, and bytes per document.
 *
 *   node --expose-gc --import tsx cluster/bench/records-heap.ts CORPUS_DIR
 */
import { readCorpus } from '../../shared/beir/reader.ts';

const corpus = process.argv[2];
const gc = (globalThis as { gc?: () => void }).gc;
if (!corpus || !gc) {
  process.stderr.write('usage: node --expose-gc --import tsx cluster/bench/records-heap.ts CORPUS_DIR\n');
  process.exit(2);
}

/** Heap used by what `build` returns and keeps alive, after full collections on both sides. */
async function heapOf(build: () => Promise<{ size: number }>): Promise<{ mb: number; bytesPerDoc: number; documents: number }> {
  gc!();
  gc!();
  const before = process.memoryUsage().heapUsed;
  const held = await build();
  gc!();
  gc!();
  const bytes = process.memoryUsage().heapUsed - before;
  // Read after the measure, so the structure is alive while it is measured.
  return { mb: Math.round(bytes / 2 ** 20), bytesPerDoc: Math.round(bytes / held.size), documents: held.size };
}

const map = await heapOf(async () => {
  const docs = new Map<string, Readonly<{ id: string; docid: string; title: string; text: string }>>();
  // A DocID of the usual shape (topic-cluster-item): the router's records carried one.
  for await (const d of readCorpus(corpus)) docs.set(d.id, Object.freeze({ id: d.id, docid: `${docs.size % 97}-${docs.size % 89}-${docs.size % 13}`, title: d.title, text: d.text }));
  return docs;
});

const arrays = await heapOf(async () => {
  const held = { titles: [] as string[], texts: [] as string[], numberOf: new Map<string, number>(), get size() { return this.titles.length; } };
  for await (const d of readCorpus(corpus)) {
    held.numberOf.set(d.id, held.titles.length);
    held.titles.push(d.title);
    held.texts.push(d.text);
  }
  return held;
});

process.stdout.write(`${JSON.stringify({ corpus, documents: map.documents, map: { heap_mb: map.mb, bytes_per_doc: map.bytesPerDoc }, arrays: { heap_mb: arrays.mb, bytes_per_doc: arrays.bytesPerDoc } })}\n`);
