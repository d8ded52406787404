import { mkdtemp, rm, truncate } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { ArtifactError } from '../errors.ts';
import { readTensorArrays, readTensorFile, vector, writeTensorFile } from './tensor-file.ts';

const dir = await mkdtemp(join(tmpdir(), 'dsi-tensor-file-'));
afterAll(() => rm(dir, { recursive: true }));

const arrays = [vector('a', Float32Array.of(1, 2, 3)), vector('b', Int32Array.of(-4, 5)), vector('c', Uint32Array.of(6, 7, 8, 9))];

describe('readTensorArrays', () => {
  it('reads the named arrays where they lie, as readTensorFile reads them', async () => {
    const path = join(dir, 'w.bin');
    const specs = await writeTensorFile(path, arrays);
    const some = await readTensorArrays(path, specs, ['b', 'c']);
    const all = await readTensorFile(path, specs);
    expect([...some.keys()]).toEqual(['b', 'c']);
    expect(some.get('b')).toEqual(all.get('b'));
    expect(some.get('c')).toEqual(Uint32Array.of(6, 7, 8, 9));
  });

  it('refuses a file whose size is not its spec\'s, naming the file', async () => {
    const path = join(dir, 'short.bin');
    const specs = await writeTensorFile(path, arrays);
    await truncate(path, 20);
    await expect(readTensorArrays(path, specs, ['a'])).rejects.toThrow(ArtifactError);
    await expect(readTensorArrays(path, specs, ['a'])).rejects.toThrow(/short\.bin.*20 bytes/);
    await expect(readTensorArrays(join(dir, 'missing.bin'), specs, ['a'])).rejects.toThrow(ArtifactError);
  });
});
