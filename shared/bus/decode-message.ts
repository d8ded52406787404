import type { z } from 'zod';
import { BadInputError } from '../errors.ts';
import { decode } from './codec.ts';

/**
 * Decodes a payload and validates it against one of the protocol's schemas: what arrives
 * over the bus is untrusted until it has passed both. Any failure is a BadInputError whose
 * message names the offending fields, short enough for a log line or an error reply.
 */
export function decodeMessage<S extends z.ZodTypeAny>(schema: S, bytes: Uint8Array, what: string): z.output<S> {
  const parsed = schema.safeParse(decode(bytes));
  if (!parsed.success) {
    const issues = parsed.error.issues
      .slice(0, 5)
      .map((i) => `${i.path.length > 0 ? i.path.join('.') : '(root)'}: ${i.message}`)
      .join('; ');
    throw new BadInputError(`invalid ${what}: ${issues}`, { cause: parsed.error });
  }
  return parsed.data;
}
