import { FeatureCounts } from './feature-counts.ts';
import { KeyIndex } from '../util/key-index.ts';
import { isBigram, type FeatureBag } from './featurizer.ts';

/**
 * A model's vocabulary: the feature hashes it has rows for, and each one's inverse
 * document frequency. Features outside it are ignored at encoding time: a model has
 * learned nothing about them.
 */
export interface EncodedFeatures {
  readonly rows: Int32Array;
  readonly weights: Float32Array;
}

export class Vocabulary {
  readonly ids: Uint32Array;
  readonly idf: Float32Array;
  readonly documents: number;
  // Built once: encoding runs per query, and a hash lookup beats a binary search here.
  readonly #rowOf: KeyIndex;

  constructor(ids: Uint32Array, idf: Float32Array, documents: number) {
    if (ids.length !== idf.length) throw new Error(`vocabulary: ${ids.length} ids but ${idf.length} idf values`);
    this.ids = ids;
    this.idf = idf;
    this.documents = documents;
    this.#rowOf = new KeyIndex(ids);
  }

  get size(): number {
    return this.ids.length;
  }

  /**
   * The `count` features in the most documents (the lowest idf: it falls as document
   * frequency grows; ties to the smaller id), ids ascending as in any vocabulary; this
   * vocabulary itself when it has no more than that.
   */
  mostFrequent(count: number): Vocabulary {
    if (this.ids.length <= count) return this;
    const rows = Array.from(this.ids, (_, row) => row)
      .sort((a, b) => this.idf[a]! - this.idf[b]! || this.ids[a]! - this.ids[b]!)
      .slice(0, Math.max(0, count))
      .sort((a, b) => this.ids[a]! - this.ids[b]!);
    return new Vocabulary(Uint32Array.from(rows, (row) => this.ids[row]!), Float32Array.from(rows, (row) => this.idf[row]!), this.documents);
  }

  rowOf(hash: number): number {
    return this.#rowOf.get(hash);
  }

  /**
   * Rows and weights of a bag: sublinear tf × idf, L2-normalised so that long and short
   * texts land on one scale. An empty result means the text shares nothing with the model.
   */
  encode(bag: FeatureBag): EncodedFeatures {
    const rows: number[] = [];
    const weights: number[] = [];
    let norm = 0;
    for (let i = 0; i < bag.ids.length; i++) {
      const row = this.#rowOf.get(bag.ids[i]!);
      if (row < 0) continue;
      const w = (1 + Math.log(bag.counts[i]!)) * this.idf[row]!;
      rows.push(row);
      weights.push(w);
      norm += w * w;
    }
    const scale = norm > 0 ? 1 / Math.sqrt(norm) : 0;
    const out = Float32Array.from(weights);
    for (let i = 0; i < out.length; i++) out[i]! *= scale;
    return { rows: Int32Array.from(rows), weights: out };
  }
}

export interface VocabularyOptions {
  /** Unigrams seen in fewer documents are dropped (1 keeps every word: rare words identify documents). */
  minUnigramDf: number;
  /** Bigrams seen in fewer documents are dropped: most bigrams occur once and would bloat the table. */
  minBigramDf: number;
  /** Features of extra texts (training queries) are kept when seen at least this often. */
  minExtraCount: number;
  /**
   * At most this many features, those in the most documents (ties: the smaller id): the
   * model's tables grow with it. While counting, at most COUNTED_PER_FEATURE times as many
   * distinct features are held, the rarest dropped beyond that (FeatureCounts).
   */
  maxFeatures: number;
}

/** 2^22 features: more than a collection of 800K documents has at the thresholds below (debian-plus-registries: 1,420,508), so its vocabulary is whole. */
export const DEFAULT_VOCABULARY: Readonly<VocabularyOptions> = Object.freeze({ minUnigramDf: 1, minBigramDf: 2, minExtraCount: 2, maxFeatures: 1 << 22 });

/** How many distinct features are counted per feature a vocabulary may keep. */
export const COUNTED_PER_FEATURE = 8;

/** Counts document frequencies over documents and occurrences over extra texts, then freezes a vocabulary. */
export class VocabularyBuilder {
  readonly #df: FeatureCounts;
  readonly #extra: FeatureCounts;
  readonly #options: Readonly<VocabularyOptions>;
  #documents = 0;

  constructor(options: Readonly<VocabularyOptions> = DEFAULT_VOCABULARY) {
    this.#options = options;
    const counted = Math.max(2, options.maxFeatures * COUNTED_PER_FEATURE);
    this.#df = new FeatureCounts(counted);
    this.#extra = new FeatureCounts(counted);
  }

  addDocument(bag: FeatureBag): void {
    this.#documents++;
    for (const id of bag.ids) this.#df.add(id);
  }

  addExtra(bag: FeatureBag): void {
    for (const id of bag.ids) this.#extra.add(id);
  }

  build(): Vocabulary {
    const options = this.#options;
    const kept = new Map<number, number>();
    this.#df.forEach((id, df) => {
      if (df >= (isBigram(id) ? options.minBigramDf : options.minUnigramDf)) kept.set(id, df);
    });
    this.#extra.forEach((id, n) => {
      if (n >= options.minExtraCount && !kept.has(id)) kept.set(id, this.#df.get(id));
    });
    let ids = Uint32Array.from(kept.keys());
    if (ids.length > options.maxFeatures) {
      // The features in the most documents; ties to the smaller id, so a build is repeatable.
      ids = Uint32Array.from([...kept].sort((a, b) => b[1] - a[1] || a[0] - b[0]).slice(0, options.maxFeatures), ([id]) => id);
    }
    ids.sort();
    const idf = new Float32Array(ids.length);
    const n = this.#documents;
    for (let i = 0; i < ids.length; i++) {
      const df = this.#df.get(ids[i]!);
      // BM25's idf, never negative: words in most documents weigh little but still count.
      idf[i] = Math.log(1 + (n - df + 0.5) / (df + 0.5));
    }
    return new Vocabulary(ids, idf, n);
  }
}
