import { describe, expect, it } from 'vitest';
import { fileURLToPath } from 'node:url';
import { loadCorpus, loadQueries } from '../beir/reader.ts';
import { isBigram } from './featurizer.ts';
import { featurize, hashFeature } from './featurizer.ts';
import { DEFAULT_VOCABULARY, VocabularyBuilder } from './vocabulary.ts';

describe('vocabulary', () => {
  const build = (maxFeatures = DEFAULT_VOCABULARY.maxFeatures) => {
    const builder = new VocabularyBuilder({ minUnigramDf: 1, minBigramDf: 2, minExtraCount: 2, maxFeatures });
    for (const text of ['image viewer', 'image editor', 'audio player', 'image viewer plugins']) builder.addDocument(featurize(text));
    builder.addExtra(featurize('photo browser'));
    builder.addExtra(featurize('photo tool'));
    return builder.build();
  };

  it('keeps every document word, bigrams seen twice, and query words seen twice', () => {
    const v = build();
    expect(v.rowOf(hashFeature('unigram', 'plugins'))).toBeGreaterThanOrEqual(0);
    expect(v.rowOf(hashFeature('bigram', 'image viewer'))).toBeGreaterThanOrEqual(0);
    expect(v.rowOf(hashFeature('bigram', 'audio player'))).toBe(-1);
    expect(v.rowOf(hashFeature('unigram', 'photo'))).toBeGreaterThanOrEqual(0);
    expect(v.rowOf(hashFeature('unigram', 'browser'))).toBe(-1);
  });

  it('cuts to the features in the most documents, as a build with that many features at most would, and is itself when nothing is cut', () => {
    const full = build();
    expect(full.mostFrequent(full.size)).toBe(full);
    // "image" is in 3 documents, "viewer" and "image viewer" in 2, the rest in 1 (or none: query words): cut to 5, ties go to the smaller id.
    for (const count of [1, 3, 5]) {
      const cut = full.mostFrequent(count);
      const built = build(count);
      expect([...cut.ids]).toEqual([...built.ids]);
      expect([...cut.idf]).toEqual([...built.idf]);
      expect(cut.documents).toBe(full.documents);
    }
  });

  it('weighs rare words above common ones and normalises weights to unit length', () => {
    const v = build();
    const enc = v.encode(featurize('image plugins'));
    const weightOf = (word: string) => enc.weights[Array.from(enc.rows).indexOf(v.rowOf(hashFeature('unigram', word)))]!;
    expect(weightOf('plugins')).toBeGreaterThan(weightOf('image'));
    const norm = Math.hypot(...enc.weights);
    expect(norm).toBeCloseTo(1, 5);
  });

  it('drops unknown features, and an unknown text encodes to nothing', () => {
    const v = build();
    expect(v.encode(featurize('kernel module')).rows.length).toBe(0);
  });

  it('keeps at most maxFeatures, those in the most documents', () => {
    const whole = build();
    const bounded = build(2);
    expect(bounded.size).toBe(2);
    // "image" is in three documents, "viewer" and the bigram "image viewer" in two: the bigram's hash breaks the tie or not, "image" stays.
    expect(bounded.rowOf(hashFeature('unigram', 'image'))).toBeGreaterThanOrEqual(0);
    expect(bounded.rowOf(hashFeature('unigram', 'plugins'))).toBe(-1);
    expect(whole.size).toBeGreaterThan(2);
  });

  it('is the same on the demo collection as counting every feature in a Map, when the bound cuts nothing', async () => {
    const demo = fileURLToPath(new URL('../../data/demo', import.meta.url));
    const { docs } = await loadCorpus(demo);
    const queries = [...(await loadQueries(demo)).values()];
    const builder = new VocabularyBuilder(DEFAULT_VOCABULARY);
    const df = new Map<number, number>();
    const extra = new Map<number, number>();
    for (const d of docs) {
      const bag = featurize(`${d.title} ${d.text}`);
      builder.addDocument(bag);
      for (const id of bag.ids) df.set(id, (df.get(id) ?? 0) + 1);
    }
    for (const q of queries) {
      const bag = featurize(q);
      builder.addExtra(bag);
      for (const id of bag.ids) extra.set(id, (extra.get(id) ?? 0) + 1);
    }
    const kept = new Set([...df].filter(([id, n]) => n >= (isBigram(id) ? 2 : 1)).map(([id]) => id));
    for (const [id, n] of extra) if (n >= 2) kept.add(id);
    const ids = Uint32Array.from(kept).sort();
    const v = builder.build();
    expect(v.size).toBeLessThan(DEFAULT_VOCABULARY.maxFeatures);
    expect(v.ids).toEqual(ids);
    ids.forEach((id, i) => {
      const n = df.get(id) ?? 0;
      expect(v.idf[i]).toBe(Math.fround(Math.log(1 + (docs.length - n + 0.5) / (n + 0.5))));
    });
  });
});
