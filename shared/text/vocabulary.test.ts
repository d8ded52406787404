import { describe, expect, it } from 'vitest';
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
});
