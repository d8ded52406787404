import { describe, expect, it } from 'vitest';
import { defaultGenerator, documentWords, generateQueries } from './query-generator.ts';
import { trainGenerator } from './train-generator.ts';

const idfOf = (word: string) => (word === 'packag' || word === 'tool' ? 1 : 7);
const doc = (title: string, text: string) => ({ title, words: documentWords(title, text, idfOf) });

describe('synthetic query generator', () => {
  const foo = doc('foo-doc', 'Foo frobnicates widgets with great speed. This package contains the documentation and examples for foo, a widget tool.');

  it('is deterministic for a seed and a document, whatever else was generated before', () => {
    const model = defaultGenerator();
    const first = generateQueries(model, foo, 7, 42, 3);
    generateQueries(model, doc('bar', 'Bar draws charts.'), 7, 43, 5);
    expect(generateQueries(model, foo, 7, 42, 3)).toEqual(first);
    expect(generateQueries(model, foo, 8, 42, 3)).not.toEqual(first);
    expect(first).toHaveLength(3);
    for (const q of first) for (const w of q.split(' ')) expect(foo.words.map((x) => x.word)).toContain(w);
  });

  it('learns from training pairs which words queries repeat and what a name part asks for', () => {
    const pairs = [];
    for (let i = 0; i < 40; i++) {
      const name = `tool${String.fromCharCode(97 + (i % 26))}${i}`;
      pairs.push({ query: `${name} manual`, doc: doc(`${name}-doc`, `${name} handles files in many ways and more words follow here without end.`) });
    }
    const model = trainGenerator(pairs);
    expect(model.nameWords.get('doc')?.[0]?.word).toBe('manual');
    const queries = generateQueries(model, doc('zzz-doc', 'zzz handles files in many ways and more words follow here.'), 1, 0, 20);
    // The name's word is drawn far more often than a word from the tail of the text, and "manual" is added for "-doc".
    expect(queries.filter((q) => q.split(' ').includes('zzz')).length).toBeGreaterThan(queries.filter((q) => q.split(' ').includes('follow')).length);
    expect(queries.filter((q) => q.includes('manual')).length).toBeGreaterThan(10);
  });
});
