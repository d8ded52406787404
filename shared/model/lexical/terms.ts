/**
 * Text → lexical terms, the one analysis shared by the documents' term sets and the query
 * head. A term is a stemmed word tagged with the field it came from: the description
 * (title and text) or the document's name (its title). Names also yield their parts,
 * because package-like names glue words together: "libxml2-dev" gives libxml2, libxml,
 * xml2, xml and dev, so a query saying "xml" or "development" can reach it by name.
 *
 * Terms are 32-bit hashes, not strings: statistics and postings stay typed arrays whose
 * size is bounded by the collection, never a Map keyed by every distinct word.
 * Any change here is a format change (LEXICAL_VERSION).
 */
import { stemmer } from 'stemmer';
import stopwords from 'stopword';
import { normalize, tokenize } from '../../text/featurizer.ts';

export const LEXICAL_VERSION = 1;

const STOPWORDS: ReadonlySet<string> = new Set(stopwords.eng);
const NAME_PART = /[\p{L}\p{N}]+/gu;
const LETTERS_THEN_DIGITS = /^(\p{L}{2,})\p{N}+$/u;
// "lib" + a name, not a word that starts so ("library", "liberation").
const LIB_PREFIX = /^lib(?!rar|er)(\p{L}[\p{L}\p{N}]+)$/u;

/** The field a term comes from; it is part of the term's hash. */
export const Field = { text: 0, name: 1 } as const;
export type Field = (typeof Field)[keyof typeof Field];

/** FNV-1a over the field tag and the word: the term's id everywhere (index, statistics, head). */
export function termOf(field: Field, word: string): number {
  let h = field === Field.name ? 0x050c5d1f : 0x811c9dc5;
  for (let i = 0; i < word.length; i++) h = Math.imul(h ^ word.charCodeAt(i), 0x01000193);
  return h >>> 0;
}

export function isStopword(word: string): boolean {
  return STOPWORDS.has(word);
}

/** Stemmed form of a normalised word token: what terms and query words are made of. */
export function stem(word: string): string {
  return stemmer(word);
}

/** The name's parts, stemmed: whole tokens, their letter stems (python3 → python) and lib-less forms (libxml2 → xml2, xml). */
export function nameParts(name: string): string[] {
  const parts = new Set<string>();
  const add = (w: string) => {
    if (w.length === 0) return;
    parts.add(w);
    const letters = LETTERS_THEN_DIGITS.exec(w);
    if (letters) parts.add(letters[1]!);
  };
  for (const match of normalize(name).matchAll(NAME_PART)) {
    const w = match[0];
    add(w);
    const lib = LIB_PREFIX.exec(w);
    if (lib) add(lib[1]!);
  }
  return [...parts].map(stem);
}

/** A document's term set: distinct term ids with their counts, and each field's length in words. */
export interface DocumentTerms {
  readonly terms: Uint32Array;
  readonly counts: Uint16Array;
  /** Which field each term is from (Field values). */
  readonly fields: Uint8Array;
  readonly textLength: number;
  readonly nameLength: number;
}

export function documentTerms(title: string, text: string, maxTokens = 512): DocumentTerms {
  const counts = new Map<number, number>();
  const fields = new Map<number, Field>();
  const words = tokenize(`${title} ${text}`, maxTokens);
  for (const w of words) {
    if (STOPWORDS.has(w)) continue;
    const term = termOf(Field.text, stem(w));
    counts.set(term, (counts.get(term) ?? 0) + 1);
    fields.set(term, Field.text);
  }
  const parts = nameParts(title);
  for (const p of parts) {
    const term = termOf(Field.name, p);
    counts.set(term, (counts.get(term) ?? 0) + 1);
    fields.set(term, Field.name);
  }
  const terms = Uint32Array.from(counts.keys()).sort();
  return {
    terms,
    counts: Uint16Array.from(terms, (t) => Math.min(65535, counts.get(t)!)),
    fields: Uint8Array.from(terms, (t) => fields.get(t)!),
    textLength: words.length,
    nameLength: parts.length,
  };
}

/**
 * A query's distinct content words (stemmed, stop words dropped): what term weights and
 * translations are keyed by. A word that names a library also yields its lib-less form,
 * as names do ("libchemps2" reaches the name part "chemps2").
 */
export function queryWords(query: string, maxWords = 64): string[] {
  const out = new Set<string>();
  for (const w of tokenize(query, maxWords)) {
    if (STOPWORDS.has(w)) continue;
    out.add(stem(w));
    const lib = LIB_PREFIX.exec(w);
    if (lib) out.add(stem(lib[1]!));
  }
  return [...out];
}
