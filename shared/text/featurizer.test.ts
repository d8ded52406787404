import { describe, expect, it } from 'vitest';
import { DEFAULT_FEATURIZER, featurize, featurizeQuery, hashFeature, isBigram, normalize, tokenize } from './featurizer.ts';

describe('featurizer', () => {
  it('normalises width and case, and splits on anything but letters and digits', () => {
    expect(normalize('Ｐｙｔｈｏｎ GTK')).toBe('python gtk');
    expect(tokenize('libfoo-dev: C++ bindings (v2.0)')).toEqual(['libfoo', 'dev', 'c', 'bindings', 'v2', '0']);
  });

  it('adds the letter stem of a versioned token', () => {
    expect(tokenize('python3 gtk4 x11')).toEqual(['python3', 'python', 'gtk4', 'gtk', 'x11']);
  });

  it('is deterministic and order-insensitive for the same multiset of features', () => {
    const a = featurize('image viewer for the GNOME desktop');
    const b = featurize('image viewer for the GNOME desktop');
    expect(Array.from(a.ids)).toEqual(Array.from(b.ids));
    expect(Array.from(a.counts)).toEqual(Array.from(b.counts));
    expect(Array.from(a.ids)).toEqual(Array.from(a.ids).sort((x, y) => x - y));
  });

  it('counts repeated features and tells bigrams from unigrams', () => {
    const bag = featurize('data data data');
    const unigram = hashFeature('unigram', 'data');
    const bigram = hashFeature('bigram', 'data data');
    expect(isBigram(unigram)).toBe(false);
    expect(isBigram(bigram)).toBe(true);
    expect(bag.counts[bag.ids.indexOf(unigram)]).toBe(3);
    expect(bag.counts[bag.ids.indexOf(bigram)]).toBe(2);
    expect(bag.ids.length).toBe(2);
  });

  it('honours the bigram switch and the token cap', () => {
    expect(featurize('a b c', { ...DEFAULT_FEATURIZER, bigrams: false }).ids.length).toBe(3);
    expect(featurize('a b c d e', { bigrams: false, maxTokens: 2 }).ids.length).toBe(2);
  });

  it('yields an empty bag for text without words', () => {
    expect(featurize('  --- !!! ').ids.length).toBe(0);
  });

  it('featurizes a query once for the same text and options, and again when either changes', () => {
    const first = featurizeQuery('gtk4 image viewer');
    expect(featurizeQuery('gtk4 image viewer', { ...DEFAULT_FEATURIZER })).toBe(first);
    expect(first).toEqual(featurize('gtk4 image viewer'));
    const unigrams = featurizeQuery('gtk4 image viewer', { ...DEFAULT_FEATURIZER, bigrams: false });
    expect(unigrams).toEqual(featurize('gtk4 image viewer', { ...DEFAULT_FEATURIZER, bigrams: false }));
    expect(featurizeQuery('gtk3 image viewer')).toEqual(featurize('gtk3 image viewer'));
  });
});
