import { open, writeFile } from 'node:fs/promises';
import { ArtifactError } from '../errors.ts';

/**
 * Named arrays in one binary file plus a spec list, the layout of TensorFlow.js weight
 * manifests ({name, shape, dtype}, little-endian, concatenated in spec order), so the
 * weights stay readable by tf.io tooling. Written from plain typed arrays: the large
 * tables never need to become tensors just to be saved.
 */
export type Dtype = 'float32' | 'int32' | 'uint32';
export type TypedArray = Float32Array | Int32Array | Uint32Array;

export interface TensorSpec {
  name: string;
  dtype: Dtype;
  shape: number[];
}

export interface NamedArray extends TensorSpec {
  data: TypedArray;
}

const ARRAY_OF: Record<Dtype, { new (buffer: ArrayBuffer, offset: number, length: number): TypedArray }> = {
  float32: Float32Array,
  int32: Int32Array,
  uint32: Uint32Array,
};

/** Most bytes asked of one read: a single read stops short of 2 GiB. */
const READ_CHUNK = 1 << 30;

/** A one-dimensional array to save, its dtype read from its type. */
export function vector(name: string, data: TypedArray): NamedArray {
  const dtype: Dtype = data instanceof Float32Array ? 'float32' : data instanceof Int32Array ? 'int32' : 'uint32';
  return { name, dtype, shape: [data.length], data };
}

function elements(shape: readonly number[]): number {
  return shape.reduce((a, b) => a * b, 1);
}

export async function writeTensorFile(path: string, arrays: readonly NamedArray[]): Promise<TensorSpec[]> {
  for (const a of arrays) {
    if (a.data.length !== elements(a.shape)) throw new Error(`${a.name}: ${a.data.length} values for shape [${a.shape}]`);
  }
  const chunks = arrays.map((a) => Buffer.from(a.data.buffer, a.data.byteOffset, a.data.byteLength));
  await writeFile(path, Buffer.concat(chunks));
  return arrays.map(({ name, dtype, shape }) => ({ name, dtype, shape: [...shape] }));
}

/** Every array of a weights file, each read into a buffer of its own (the file is never held twice). */
export async function readTensorFile(path: string, specs: readonly TensorSpec[]): Promise<Map<string, TypedArray>> {
  return readTensorArrays(path, specs, specs.map((s) => s.name));
}

/**
 * Only the named arrays of a weights file, read where they lie: a process that needs a
 * model's small parts (the gating model's prototype rows, not its text tower's table)
 * does not hold the whole file. Checks the file's size against the whole spec, as
 * readTensorFile does.
 */
export async function readTensorArrays(path: string, specs: readonly TensorSpec[], names: readonly string[]): Promise<Map<string, TypedArray>> {
  const wanted = new Set(names);
  const out = new Map<string, TypedArray>();
  let file;
  try {
    file = await open(path, 'r');
  } catch (cause) {
    throw new ArtifactError(path, 'cannot read weights', { cause });
  }
  try {
    const expected = specs.reduce((n, s) => n + elements(s.shape) * 4, 0);
    const { size } = await file.stat();
    if (size !== expected) throw new ArtifactError(path, `weights file has ${size} bytes, its spec needs ${expected}`);
    let offset = 0;
    for (const spec of specs) {
      const n = elements(spec.shape);
      if (wanted.has(spec.name)) {
        const bytes = new Uint8Array(n * 4);
        for (let at = 0; at < bytes.length; ) {
          const { bytesRead } = await file.read(bytes, at, Math.min(bytes.length - at, READ_CHUNK), offset + at);
          if (bytesRead === 0) throw new ArtifactError(path, `weights file ended inside '${spec.name}'`);
          at += bytesRead;
        }
        out.set(spec.name, new ARRAY_OF[spec.dtype](bytes.buffer, 0, n));
      }
      offset += n * 4;
    }
  } finally {
    await file.close();
  }
  return out;
}

export function requireArray<T extends TypedArray>(arrays: Map<string, TypedArray>, name: string, kind: { new (...args: never[]): T }, path: string): T {
  const a = arrays.get(name);
  if (!(a instanceof kind)) throw new ArtifactError(path, `weights lack '${name}'`);
  return a;
}
