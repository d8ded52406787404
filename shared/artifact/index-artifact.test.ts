import { mkdtempSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { defaultIndexConfig } from '../config.ts';
import { ArtifactError, BadInputError } from '../errors.ts';
import { FEATURIZER_VERSION } from '../text/featurizer.ts';
import { openIndex, verifyIndex } from './index-artifact.ts';
import { IndexWriter } from './index-writer.ts';
import { readTensorFile, writeTensorFile } from './tensor-file.ts';

let dir: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'dsi-artifact-'));
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

/** A one-shard index written the way every index is: staged, filled, sealed. */
async function sealedIndex(out = join(dir, 'index'), text = 'x'): Promise<string> {
  const writer = await IndexWriter.stage(out);
  mkdirSync(writer.shardDir('s0'), { recursive: true });
  await writeTensorFile(join(writer.shardDir('s0'), 'weights.bin'), [{ name: 'w', dtype: 'float32', shape: [2, 2], data: Float32Array.from([1, 2, 3, 4]) }]);
  await writer.writeShard('s0', { report: { id: 's0' }, queries: { train: [], heldout: [] } });
  await writer.writeDocuments([{ id: 'd1', docid: '0-0', title: 't', text }]);
  writeFileSync(join(await writer.scratchDir('scratch'), 'tower.bin'), 'intermediate');
  await writer.seal({
    createdAt: new Date(0).toISOString(),
    config: defaultIndexConfig(10, 1, 1),
    corpus: { documents: 1, sha256: 'x' },
    topics: 2,
    shards: [{ id: 's0', topics: [0, 1], docs: 1, dir: 'shards/s0' }],
  });
  return out;
}

/** Every file under a folder with its content: what "untouched" is checked against. */
function snapshot(root: string): Record<string, string> {
  const out: Record<string, string> = {};
  const walk = (d: string, prefix: string) => {
    for (const e of readdirSync(d, { withFileTypes: true })) {
      if (e.isDirectory()) walk(join(d, e.name), `${prefix}${e.name}/`);
      else out[`${prefix}${e.name}`] = readFileSync(join(d, e.name), 'utf8');
    }
  };
  walk(root, '');
  return out;
}

describe('index artifact', () => {
  it('seals every file with a checksum, records the featurizer version, and leaves no staging folder or scratch space', async () => {
    const out = await sealedIndex();
    const manifest = await openIndex(out);
    expect(Object.keys(manifest.files).sort()).toEqual(['docs.jsonl', 'shards/s0/queries.json', 'shards/s0/report.json', 'shards/s0/weights.bin']);
    expect(manifest.featurizer).toBe(FEATURIZER_VERSION);
    await expect(verifyIndex(out, manifest)).resolves.toBeUndefined();
    expect(readdirSync(dir)).toEqual(['index']);
  });

  it('refuses an index whose models read text with another featurizer version', async () => {
    const out = await sealedIndex();
    const path = join(out, 'manifest.json');
    writeFileSync(path, JSON.stringify({ ...JSON.parse(readFileSync(path, 'utf8')), featurizer: FEATURIZER_VERSION + 1 }));
    await expect(openIndex(out)).rejects.toThrow(/featurizer version .*rebuild the index/);
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

describe('IndexWriter', () => {
  it("refuses to replace a folder holding someone's files, before writing anything, and leaves them as they were", async () => {
    const mine = join(dir, 'mine');
    mkdirSync(join(mine, 'photos'), { recursive: true });
    writeFileSync(join(mine, 'notes.txt'), 'do not lose me');
    writeFileSync(join(mine, 'photos', 'a.jpg'), 'jpeg');
    // A manifest.json that is not an index's (a web app's, say) does not make the folder an index.
    writeFileSync(join(mine, 'manifest.json'), '{"name":"my app","icons":[]}');
    const before = snapshot(mine);
    await expect(IndexWriter.stage(mine)).rejects.toBeInstanceOf(BadInputError);
    await expect(IndexWriter.stage(mine)).rejects.toThrow(/not empty and holds no index/);
    expect(snapshot(mine)).toEqual(before);
    expect(readdirSync(dir)).toEqual(['mine']);
  });

  it('refuses a file', async () => {
    const file = join(dir, 'file');
    writeFileSync(file, 'x');
    await expect(IndexWriter.stage(file)).rejects.toThrow(/is a file/);
    expect(readFileSync(file, 'utf8')).toBe('x');
  });

  it('writes into an empty folder, and replaces an index whole', async () => {
    const out = join(dir, 'empty');
    mkdirSync(out);
    await sealedIndex(out, 'first');
    expect(readFileSync(join(out, 'docs.jsonl'), 'utf8')).toMatch(/first/);
    await sealedIndex(out, 'second');
    expect(readFileSync(join(out, 'docs.jsonl'), 'utf8')).toMatch(/second/);
    await expect(verifyIndex(out, await openIndex(out))).resolves.toBeUndefined();
    expect(readdirSync(dir)).toEqual(['empty']);
  });

  it('leaves the index it would have replaced as it was when the write is discarded', async () => {
    const out = await sealedIndex();
    const before = snapshot(out);
    const writer = await IndexWriter.stage(out);
    await writer.writeDocuments([{ id: 'd2', docid: '0-1', title: 'u', text: 'y' }]);
    await writer.discard();
    expect(snapshot(out)).toEqual(before);
    expect(readdirSync(dir)).toEqual(['index']);
  });
});
