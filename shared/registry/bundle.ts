import { createHash } from 'node:crypto';
import { mkdir, readdir, readFile, writeFile } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { z } from 'zod';
import { decode, encode } from '../bus/codec.ts';
import { ArtifactError } from '../errors.ts';

/**
 * A model folder as one object: the files of a flat folder packed into one MessagePack
 * map, so that a model is stored, fetched and checked (one sha256) as a unit.
 */
const BUNDLE_FORMAT = 1;
const BundleSchema = z.object({ format: z.literal(BUNDLE_FORMAT), files: z.record(z.string(), z.instanceof(Uint8Array)) });

export async function packFolder(dir: string, only?: readonly string[]): Promise<Uint8Array> {
  const names = (await readdir(dir, { withFileTypes: true })).filter((e) => e.isFile() && (!only || only.includes(e.name))).map((e) => e.name).sort();
  const files: Record<string, Uint8Array> = {};
  for (const name of names) files[name] = await readFile(join(dir, name));
  return encode({ format: BUNDLE_FORMAT, files });
}

/** Writes a bundle's files into `dir`; anything that is not a bundle, or names a path outside the folder, is an ArtifactError. */
export async function unpackFolder(bytes: Uint8Array, dir: string, what: string): Promise<string[]> {
  const parsed = parseBundle(bytes, what, 'not a model bundle');
  await mkdir(dir, { recursive: true });
  const names = Object.keys(parsed.files);
  for (const name of names) {
    if (basename(name) !== name || name === '.' || name === '..') throw new ArtifactError(what, `bundle names a file outside its folder: ${name}`);
    await writeFile(join(dir, name), parsed.files[name]!);
  }
  return names;
}

/**
 * A folder with its subfolders as one bundle (names are paths relative to it, '/'-separated):
 * for folders whose layout the packer does not know, such as a training job's input or output.
 */
export async function packTree(dir: string): Promise<Uint8Array> {
  const files: Record<string, Uint8Array> = {};
  const walk = async (sub: string) => {
    const entries = (await readdir(join(dir, sub), { withFileTypes: true })).sort((a, b) => a.name.localeCompare(b.name));
    for (const e of entries) {
      const rel = sub ? `${sub}/${e.name}` : e.name;
      if (e.isDirectory()) await walk(rel);
      else if (e.isFile()) files[rel] = await readFile(join(dir, rel));
    }
  };
  await walk('');
  return encode({ format: BUNDLE_FORMAT, files });
}

/** Writes a packTree bundle into `dir`; a path that leaves the folder is an ArtifactError. */
export async function unpackTree(bytes: Uint8Array, dir: string, what: string): Promise<string[]> {
  const parsed = parseBundle(bytes, what, 'not a folder bundle');
  const names = Object.keys(parsed.files);
  for (const name of names) {
    if (name.split('/').some((part) => part === '' || part === '.' || part === '..' || part.includes('\\'))) throw new ArtifactError(what, `bundle names a path outside its folder: ${name}`);
  }
  for (const name of names) {
    await mkdir(dirname(join(dir, name)), { recursive: true });
    await writeFile(join(dir, name), parsed.files[name]!);
  }
  await mkdir(dir, { recursive: true });
  return names;
}

function parseBundle(bytes: Uint8Array, what: string, notOne: string): z.infer<typeof BundleSchema> {
  try {
    return BundleSchema.parse(decode(bytes));
  } catch (cause) {
    throw new ArtifactError(what, notOne, { cause });
  }
}

export function sha256Hex(bytes: Uint8Array): string {
  return createHash('sha256').update(bytes).digest('hex');
}

/** Hashing a large model takes a while: in slices, giving the event loop a turn between them, so a process that serves while it checks a new model keeps answering. */
const HASH_SLICE = 4 * 1024 * 1024;

export async function sha256HexYielding(bytes: Uint8Array): Promise<string> {
  const hash = createHash('sha256');
  for (let start = 0; start < bytes.length; start += HASH_SLICE) {
    hash.update(bytes.subarray(start, start + HASH_SLICE));
    await new Promise((r) => setImmediate(r));
  }
  return hash.digest('hex');
}
