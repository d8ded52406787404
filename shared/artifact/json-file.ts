import { readFile } from 'node:fs/promises';
import type { z } from 'zod';
import { ArtifactError } from '../errors.ts';

/** Reads and validates one JSON file of an artifact; any failure names the file. */
export async function readJsonFile<S extends z.ZodTypeAny>(path: string, schema: S): Promise<z.infer<S>> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (cause) {
    throw new ArtifactError(path, 'missing or unreadable', { cause });
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (cause) {
    throw new ArtifactError(path, 'not valid JSON', { cause });
  }
  const parsed = schema.safeParse(json);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw new ArtifactError(path, `unexpected content at ${issue?.path.join('.') || '(root)'}: ${issue?.message}`);
  }
  return parsed.data;
}
