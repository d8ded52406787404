import { describe, expect, it } from 'vitest';
import { BadInputError } from '../shared/errors.ts';
import { DEFAULT_LIMITS } from './config.ts';
import { searchBodyParser } from './search-body.ts';

const parse = searchBodyParser(DEFAULT_LIMITS);

describe('search body', () => {
  it('takes a query with the default k and no fanout', () => {
    expect(parse('{"query":"image viewer"}')).toEqual({ query: 'image viewer', k: 10, fanout: undefined });
    expect(parse('{"query":"x","k":100,"fanout":16}')).toEqual({ query: 'x', k: 100, fanout: 16 });
  });

  it.each([
    ['not json', /not valid JSON/],
    ['[]', /JSON object/],
    ['null', /JSON object/],
    ['"text"', /JSON object/],
    ['{}', /query is required/],
    ['{"query":3}', /query must be a string/],
    ['{"query":" \\n\\t "}', /query is empty/],
    [`{"query":"${'a'.repeat(1001)}"}`, /longer than 1000/],
    ['{"query":"x","k":0}', /k must be an integer in \[1, 100\]/],
    ['{"query":"x","k":101}', /k must be/],
    ['{"query":"x","k":2.5}', /k must be/],
    ['{"query":"x","k":"3"}', /k must be/],
    ['{"query":"x","k":null}', /k must be/],
    ['{"query":"x","fanout":17}', /fanout must be an integer in \[1, 16\]/],
    ['{"query":"x","fanout":true}', /fanout must be/],
    ['{"query":"x","kk":1}', /unknown field 'kk'/],
  ])('refuses %s', (raw, message) => {
    let caught: unknown;
    try {
      parse(raw);
    } catch (error) {
      caught = error;
    }
    expect(caught).toBeInstanceOf(BadInputError);
    expect((caught as Error).message).toMatch(message);
  });
});
