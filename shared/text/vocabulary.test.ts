import { describe, expect, it } from 'vitest';
import { featurize, hashFeature } from './featurizer.ts';
import { VocabularyBuilder } from './vocabulary.ts';

describe('vocabulary', () => {
  const build = () => {
    const builder = new VocabularyBuilder();
    for (const text of ['image viewer', 'image editor', 'audio player', 'image viewer plugins']) builder.addDocument(featurize(text));
    builder.addExtra(featurize('photo browser'));
    builder.addExtra(featurize('photo tool'));
    return builder.build({ minUnigramDf: 1, minBigramDf: 2, minExtraCount: 2 });
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
});
