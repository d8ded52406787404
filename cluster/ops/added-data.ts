import { BadInputError } from '../../shared/errors.ts';
import { ShardEntrySchema } from '../../shared/artifact/manifest.ts';
import type { AddedData } from './types.ts';

/** How many offending ids an error message names: enough to find them, short enough to read. */
const NAMED_IN_ERRORS = 5;

function named(ids: readonly string[]): string {
  const shown = ids.slice(0, NAMED_IN_ERRORS).join(', ');
  return ids.length > NAMED_IN_ERRORS ? `${shown} and ${ids.length - NAMED_IN_ERRORS} more` : shown;
}

/**
 * Refuses added documents that would make two documents share a corpus id (within the
 * addition or with the documents already held: `existing`), and queries that point at a
 * document that is neither added nor in `alsoKnown`.
 */
export function checkAdded(added: Readonly<AddedData>, existing: ReadonlySet<string>, where: string, alsoKnown: ReadonlySet<string> = new Set()): void {
  const seen = new Set<string>();
  const repeated: string[] = [];
  const held: string[] = [];
  for (const d of added.docs) {
    if (seen.has(d.id)) repeated.push(d.id);
    seen.add(d.id);
    if (existing.has(d.id)) held.push(d.id);
  }
  if (repeated.length > 0) throw new BadInputError(`${where}: ${repeated.length} added document id(s) appear more than once: ${named(repeated)}`);
  if (held.length > 0) throw new BadInputError(`${where}: ${held.length} added document id(s) are already in the cluster: ${named(held)} (documents are added once; change one by retraining its shard)`);
  for (const [split, pairs] of Object.entries(added.queries)) {
    const unknown = [...new Set(pairs.filter((p) => !seen.has(p.doc) && !alsoKnown.has(p.doc)).map((p) => p.doc))];
    if (unknown.length > 0) throw new BadInputError(`${where}: ${split} queries point at ${unknown.length} unknown document(s): ${named(unknown)}`);
  }
}

/** A shard id the manifest accepts and the cluster does not use yet. */
export function checkNewShardId(id: string, taken: readonly string[]): void {
  if (!ShardEntrySchema.shape.id.safeParse(id).success) throw new BadInputError(`shard id '${id}' must be lower-case letters, digits and dashes`);
  if (taken.includes(id)) throw new BadInputError(`shard id '${id}' is already in the cluster`);
}
