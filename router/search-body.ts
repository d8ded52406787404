import { z } from 'zod';
import { BadInputError } from '../shared/errors.ts';
import type { RequestLimits } from './config.ts';

/** A validated `POST /v1/search` body. */
export interface SearchBody {
  readonly query: string;
  readonly k: number;
  /** Most topics to ask; the index's own routing setting when absent. */
  readonly fanout: number | undefined;
}

/**
 * The body's schema, built once per limits (at start-up), not per request. The same
 * object validates requests here and describes them in GET /openapi.json.
 */
export function searchBodySchema(limits: RequestLimits) {
  const integer = (name: string, max: number) =>
    z
      .number({ invalid_type_error: `${name} must be an integer in [1, ${max}]` })
      .int(`${name} must be an integer in [1, ${max}]`)
      .min(1, `${name} must be an integer in [1, ${max}]`)
      .max(max, `${name} must be an integer in [1, ${max}]`);
  return z
    .object(
      {
        query: z
          .string({ required_error: 'query is required', invalid_type_error: 'query must be a string' })
          .max(limits.maxQueryChars, `query is longer than ${limits.maxQueryChars} characters`)
          .refine((q) => q.trim().length > 0, 'query is empty')
          .describe('The search text; not empty or only white space.'),
        k: integer('k', limits.maxK).optional().describe(`How many results to return (default ${limits.defaultK}).`),
        fanout: integer('fanout', limits.maxFanout).optional().describe("Most topics to ask, those the lexical half adds included; when absent, the index's own routing setting, plus up to routing.lexicalTopics where the lexical half expects candidates the gating model did not."),
      },
      { invalid_type_error: 'the body must be a JSON object' },
    )
    .strict();
}

/**
 * Parses a search body from its raw text. Pure: takes the limits as an argument, throws
 * BadInputError with a message naming the field, never anything that would become a 500.
 */
export function searchBodyParser(limits: RequestLimits): (raw: string) => SearchBody {
  const schema = searchBodySchema(limits);

  return (raw) => {
    let json: unknown;
    try {
      json = JSON.parse(raw);
    } catch (cause) {
      throw new BadInputError(`the body is not valid JSON: ${(cause as Error).message}`, { cause });
    }
    const parsed = schema.safeParse(json);
    if (!parsed.success) throw new BadInputError(describe(parsed.error));
    return { query: parsed.data.query, k: parsed.data.k ?? limits.defaultK, fanout: parsed.data.fanout };
  };
}

function describe(error: z.ZodError): string {
  const issue = error.issues[0];
  if (!issue) return 'invalid search request';
  if (issue.code === z.ZodIssueCode.unrecognized_keys) return `unknown field ${issue.keys.map((k) => `'${k}'`).join(', ')} (expected query, k, fanout)`;
  return issue.message;
}
