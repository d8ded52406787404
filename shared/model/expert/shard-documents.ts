import type { DocRecord } from '../../artifact/index-artifact.ts';
import { formatDocId } from '../../docids/build.ts';
import type { DocIdTrie } from '../../docids/trie.ts';
import { ArtifactError } from '../../errors.ts';
import type { LoadedExpert } from './expert-store.ts';

/** The titles of a shard's documents by document number (its expert's trie order): what its hits are titled with. */
export interface ShardTitles {
  readonly titles: readonly string[];
}

/** An expert as its process serves it: with its shard's documents, to title hits and answer document requests. */
export interface ServedExpert extends LoadedExpert {
  readonly documents: ShardDocuments;
}

/** Records as a file streams them or as an object holds them: either is read once, in order. */
type Records = AsyncIterable<DocRecord> | Iterable<DocRecord>;

/**
 * A shard's documents as its expert process holds them: titles and texts in arrays by
 * document number, and the number of each corpus id. No object per document, and no
 * DocID strings: a record's DocID is read from the trie, as a hit's is.
 */
export class ShardDocuments implements ShardTitles {
  readonly titles: readonly string[];
  readonly #texts: readonly string[];
  readonly #numberOf: ReadonlyMap<string, number>;
  readonly #trie: DocIdTrie;

  private constructor(titles: readonly string[], texts: readonly string[], numberOf: ReadonlyMap<string, number>, trie: DocIdTrie) {
    this.titles = titles;
    this.#texts = texts;
    this.#numberOf = numberOf;
    this.#trie = trie;
  }

  /** The expert with its shard's documents, picked from `records` (which may hold other shards' too). */
  static async attach(expert: LoadedExpert, records: Records, where: string): Promise<ServedExpert> {
    const { numberOf, titles, texts } = await collect(expert, records, where, true);
    return { ...expert, documents: new ShardDocuments(titles, texts, numberOf, expert.model.trie) };
  }

  /** The record of a document of this shard; undefined for any other id. */
  record(id: string): DocRecord | undefined {
    const doc = this.#numberOf.get(id);
    if (doc === undefined) return undefined;
    return { id, docid: docIdOf(this.#trie, doc), title: this.titles[doc]!, text: this.#texts[doc]! };
  }
}

/** The expert with its documents' titles only, picked from `records`: for searches in process, whose hits need titles and nothing else of the records. */
export async function attachTitles(expert: LoadedExpert, records: Records, where: string): Promise<LoadedExpert> {
  const { titles } = await collect(expert, records, where, false);
  return { ...expert, documents: { titles } };
}

/** A document's DocID as its expert's trie spells it. */
export function docIdOf(trie: DocIdTrie, doc: number): string {
  return formatDocId(trie.pathOf(trie.leafOfDoc(doc)));
}

/**
 * Reads the records once, keeping what the expert's documents need: every one of them must
 * have a record, under the DocID the expert learnt (a record and a model of different
 * versions are refused, not served side by side).
 */
async function collect(expert: LoadedExpert, records: Records, where: string, withTexts: boolean): Promise<{ numberOf: Map<string, number>; titles: string[]; texts: string[] }> {
  const numberOf = new Map<string, number>();
  expert.docIds.forEach((id, doc) => numberOf.set(id, doc));
  const titles = new Array<string>(expert.docIds.length);
  const texts = withTexts ? new Array<string>(expert.docIds.length) : [];
  let found = 0;
  for await (const record of records) {
    const doc = numberOf.get(record.id);
    if (doc === undefined) continue;
    const docid = docIdOf(expert.model.trie, doc);
    if (record.docid !== docid) throw new ArtifactError(where, `document ${record.id} has DocID ${record.docid} there, ${docid} in the expert of shard ${expert.shard}`);
    if (titles[doc] === undefined) found++;
    titles[doc] = record.title;
    if (withTexts) texts[doc] = record.text;
  }
  if (found < expert.docIds.length) {
    const missing = expert.docIds.filter((_, doc) => titles[doc] === undefined);
    throw new ArtifactError(where, `has no record of ${missing.length} of the ${expert.docIds.length} documents of shard ${expert.shard} (${missing.slice(0, 3).join(', ')}${missing.length > 3 ? ', …' : ''})`);
  }
  return { numberOf, titles, texts };
}
