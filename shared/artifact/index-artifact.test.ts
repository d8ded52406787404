import { mkdtempSync, mkdirSync, readFileSync, rmSync, writeFileSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { defaultIndexConfig } from '../config.ts';
import { ArtifactError } from '../errors.ts';
import { commitIndex, openIndex, stagingDirFor, verifyIndex } from './index-artifact.ts';
import { readTensorFile, writeTensorFile } from './tensor-file.ts';

let dir: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'dsi-artifact-'));
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

async function sealedIndex(): Promise<string> {
  const out = join(dir, 'index');
  const staging = await stagingDirFor(out);
  mkdirSync(join(staging, 'shards', 's0'), { recursive: true });
  await writeTensorFile(join(staging, 'shards', 's0', 'weights.bin'), [{ name: 'w', dtype: 'float32', shape: [2, 2], data: Float32Array.from([1, 2, 3, 4]) }]);
  writeFileSync(join(staging, 'docs.jsonl'), '{"id":"d1","docid":"0-0","title":"t","text":"x"}\n');
  await commitIndex(staging, out, {
    createdAt: new Date(0).toISOString(),
    config: defaultIndexConfig(10, 1, 1),
    corpus: { documents: 1, sha256: 'x' },
    topics: 2,
    shards: [{ id: 's0', topics: [0, 1], docs: 1, dir: 'shards/s0' }],
  });
  return out;
}

describe('index artifact', () => {
  it('seals every file with a checksum and leaves no staging folder', async () => {
    const out = await sealedIndex();
    const manifest = await openIndex(out);
    expect(Object.keys(manifest.files).sort()).toEqual(['docs.jsonl', 'shards/s0/weights.bin']);
    await expect(verifyIndex(out, manifest)).resolves.toBeUndefined();
    expect(existsSync(`${out}.partial-${process.pid}`)).toBe(false);
  });

  it('refuses a changed file, naming it', async () => {
    const out = await sealedIndex();
    const manifest = await openIndex(out);
    writeFileSync(join(out, 'docs.jsonl'), '{"id":"d2","docid":"0-0","title":"t","text":"x"}\n');
    await expect(verifyIndex(out, manifest)).rejects.toThrow(/docs\.jsonl: checksum mismatch/);
    // Verifying only the shard's folder is unaffected by a damaged file elsewhere.
    await expect(verifyIndex(out, manifest, ['shards/s0'])).resolves.toBeUndefined();
  });

  it('refuses a missing file', async () => {
    const out = await sealedIndex();
    const manifest = await openIndex(out);
    rmSync(join(out, 'shards', 's0', 'weights.bin'));
    await expect(verifyIndex(out, manifest)).rejects.toBeInstanceOf(ArtifactError);
  });

  it('refuses another format version and a malformed manifest', async () => {
    const out = await sealedIndex();
    const path = join(out, 'manifest.json');
    const manifest = JSON.parse(readFileSync(path, 'utf8'));
    writeFileSync(path, JSON.stringify({ ...manifest, format: 99 }));
    await expect(openIndex(out)).rejects.toThrow(/format 99/);
    writeFileSync(path, '{not json');
    await expect(openIndex(out)).rejects.toBeInstanceOf(ArtifactError);
    rmSync(path);
    await expect(openIndex(out)).rejects.toThrow(/manifest\.json: missing/);
  });

  it('round-trips weights and refuses a truncated weights file', async () => {
    const path = join(dir, 'w.bin');
    const specs = await writeTensorFile(path, [
      { name: 'a', dtype: 'float32', shape: [3], data: Float32Array.from([1, 2, 3]) },
      { name: 'b', dtype: 'int32', shape: [2], data: Int32Array.from([-1, 7]) },
    ]);
    const arrays = await readTensorFile(path, specs);
    expect(Array.from(arrays.get('a')!)).toEqual([1, 2, 3]);
    expect(Array.from(arrays.get('b')!)).toEqual([-1, 7]);
    writeFileSync(path, readFileSync(path).subarray(0, 8));
    await expect(readTensorFile(path, specs)).rejects.toThrow(/spec needs 20/);
  });
});
