import { describe, expect, it } from 'vitest';
import { BadInputError } from '../shared/errors.ts';
import { Bm25Baseline } from './bm25.ts';

const DOCS = [
  { id: 'd1', title: 'nginx', text: 'Small, powerful, scalable web server and reverse proxy.' },
  { id: 'd2', title: 'postgresql', text: 'Object-relational SQL database server with transactions.' },
  { id: 'd3', title: 'gimp', text: 'GNU Image Manipulation Program for editing photographs and images.' },
  { id: 'd4', title: 'vim', text: 'Vi IMproved, a highly configurable text editor for programmers.' },
  { id: 'd5', title: 'sqlite3', text: 'Command line interface for the SQLite 3 embedded database library.' },
];

describe('Bm25Baseline', () => {
  const bm25 = Bm25Baseline.build(DOCS);

  it('ranks the document that matches the query first', () => {
    expect(bm25.search('text editor', 5)[0]).toBe('d4');
    expect(bm25.search('reverse proxy web server', 5)[0]).toBe('d1');
    expect(bm25.search('photo image editing', 5)[0]).toBe('d3');
  });

  it('combines terms with OR, ranking documents that match more of them higher', () => {
    // PostgreSQL matches all three words; nginx only "server", SQLite only "database".
    const ranked = bm25.search('database server transactions', 5);
    expect(ranked[0]).toBe('d2');
    expect([...ranked].sort()).toEqual(['d1', 'd2', 'd5']);
  });

  it('stems, so inflected query words still match', () => {
    expect(bm25.search('databases', 5).slice(0, 2).sort()).toEqual(['d2', 'd5']);
    expect(bm25.search('editors', 5)[0]).toBe('d4');
  });

  it('matches titles too', () => {
    expect(bm25.search('nginx', 5)).toEqual(['d1']);
  });

  it('returns at most k ids, and nothing for unknown or stop-word-only queries', () => {
    expect(bm25.search('database server', 1)).toHaveLength(1);
    expect(bm25.search('database server', 0)).toEqual([]);
    expect(bm25.search('zzzz', 5)).toEqual([]);
    expect(bm25.search('for the and', 5)).toEqual([]);
  });

  it('rejects duplicate document ids', () => {
    expect(() => Bm25Baseline.build([DOCS[0], { ...DOCS[1], id: 'd1' }])).toThrow(BadInputError);
  });
});
