import type { ObjectBucket } from '../bus/stores.ts';
import type { StoredObject } from '../bus/protocol.ts';
import { ArtifactError } from '../errors.ts';
import { sha256Hex, sha256HexYielding } from './bundle.ts';

/**
 * Objects named by their content and checked against it when fetched: what the registry
 * keeps its models in, and what distributed training keeps jobs and their outputs in. A
 * missing, damaged or replaced object is an ArtifactError, never loaded.
 */
export class CheckedObjects {
  readonly #objects: ObjectBucket;
  readonly #store: string;

  /** `store` names the store in errors ("the model store"). */
  constructor(objects: ObjectBucket, store: string) {
    this.#objects = objects;
    this.#store = store;
  }

  /** Stores bytes as `<prefix>-<sha256 prefix>` (storing the same bytes twice is a no-op). */
  async upload(prefix: string, bytes: Uint8Array): Promise<StoredObject> {
    const sha256 = sha256Hex(bytes);
    const object = `${prefix}-${sha256.slice(0, 24)}`;
    await this.#objects.put(object, bytes);
    return { object, sha256, bytes: bytes.length };
  }

  /** An object's bytes, refused unless they are exactly what the reference says. */
  async download(ref: StoredObject): Promise<Uint8Array> {
    const bytes = await this.#objects.get(ref.object);
    if (!bytes) throw new ArtifactError(`object ${ref.object}`, `missing from ${this.#store}`);
    if (bytes.length !== ref.bytes) throw new ArtifactError(`object ${ref.object}`, `${bytes.length} bytes, its reference says ${ref.bytes}`);
    const actual = await sha256HexYielding(bytes);
    if (actual !== ref.sha256) throw new ArtifactError(`object ${ref.object}`, `sha256 ${actual.slice(0, 12)}… does not match its reference's ${ref.sha256.slice(0, 12)}…`);
    return bytes;
  }

  delete(name: string): Promise<void> {
    return this.#objects.delete(name);
  }

  list(): Promise<string[]> {
    return this.#objects.list();
  }
}
