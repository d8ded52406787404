import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';

export async function sha256File(path: string): Promise<string> {
  const hash = createHash('sha256');
  for await (const chunk of createReadStream(path)) hash.update(chunk as Buffer);
  return hash.digest('hex');
}

/** Digest of a sequence of strings, fed in order with separators (e.g. a corpus's ids and texts). */
export class StreamDigest {
  readonly #hash = createHash('sha256');
  add(...parts: string[]): void {
    for (const p of parts) this.#hash.update(p).update('\u0000');
  }
  hex(): string {
    return this.#hash.digest('hex');
  }
}
