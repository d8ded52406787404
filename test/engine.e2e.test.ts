import { cpSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { initBackend } from '../shared/model/backend.ts';
import { ArtifactError } from '../shared/errors.ts';
import { openIndex, verifyIndex } from '../shared/artifact/index-artifact.ts';
import { LocalIndex } from '../cluster/local-index.ts';
import { DEMO_CORPUS, runDsi } from './helpers/cli.ts';

/**
 * End to end on the demo collection shipped in the repo: `dsi index` trains a real (small)
 * index, `dsi eval` and `dsi query` answer from it, a damaged artifact is refused, and
 * `--out` replaces only an index.
 */
let work: string;
let indexDir: string;
let buildSeconds: number;

beforeAll(async () => {
  work = mkdtempSync(join(tmpdir(), 'dsi-e2e-'));
  indexDir = join(work, 'index');
  const started = performance.now();
  const result = await runDsi(['index', '--corpus', DEMO_CORPUS, '--out', indexDir, '--shards', '2', '--seed', '3']);
  buildSeconds = (performance.now() - started) / 1000;
  if (result.code !== 0) throw new Error(`dsi index failed (${result.code}): ${result.stderr}`);
}, 180_000);

afterAll(() => rmSync(work, { recursive: true, force: true }));

describe('dsi index on the demo collection', () => {
  it('builds in under a minute and leaves a sealed artifact, no staging folder', () => {
    expect(buildSeconds).toBeLessThan(60);
    expect(existsSync(join(indexDir, 'manifest.json'))).toBe(true);
    expect(existsSync(`${indexDir}.partial-${process.pid}`)).toBe(false);
  });

  it('memorises its documents: every shard decodes most documents to their own DocID', () => {
    // 0.85: a trained expert reaches ~0.95 on this collection; near-identical package
    // descriptions (e.g. a library and its -dev package) are the expected misses.
    for (const shard of ['s0', 's1']) {
      const report = JSON.parse(readFileSync(join(indexDir, 'shards', shard, 'report.json'), 'utf8'));
      expect(report['index_recall@1']).toBeGreaterThan(0.85);
      expect(report.collision_rate).toBeLessThan(0.15);
      expect(report.docs).toBeGreaterThan(0);
    }
  });
});

describe('dsi eval', () => {
  it('reports DSI and BM25 figures on the test split as one JSON line, its stdout nothing else (its logs on stderr)', async () => {
    // At the info level a run logs (the backend chosen, …): none of it may reach stdout, so `dsi eval --json > file` is a clean file.
    const result = await runDsi(['eval', '--index', indexDir, '--corpus', DEMO_CORPUS, '--split', 'test', '--json'], { DSI_LOG_LEVEL: 'info' });
    expect(result.code, result.stderr).toBe(0);
    expect(result.stdout.split('\n')).toEqual([expect.stringMatching(/^\{.*\}$/), '']);
    expect(result.stderr).toContain('"msg":"TensorFlow.js backend ready"');
    const report = JSON.parse(result.stdout);
    expect(report.queries).toBeGreaterThan(100);
    for (const key of ['hits@1', 'hits@10', 'mrr@10', 'p50_ms', 'p99_ms']) {
      expect(typeof report.dsi[key]).toBe('number');
      expect(typeof report.bm25[key]).toBe('number');
    }
    // Test documents were indexed from their text alone (no training query): the search
    // still has to find most of them in its top 10.
    expect(report.dsi['hits@10']).toBeGreaterThan(0.6);
    expect(report.dsi['hits@1']).toBeLessThanOrEqual(report.dsi['hits@10']);
    expect(report.routing.hits).toBeGreaterThan(0.7);
    expect(report.shards).toHaveLength(2);
  });
});

describe('dsi query', () => {
  it('answers a query with titled results, on stdout alone: human log lines go to stderr', async () => {
    const result = await runDsi(['query', '--index', indexDir, '--json', '--k', '5', '--log-format', 'pretty', 'real-time strategy game'], { DSI_LOG_LEVEL: 'info' });
    expect(result.code, result.stderr).toBe(0);
    expect(result.stderr).toMatch(/^\[\d\d:\d\d:\d\d\] INFO: dsi-query {2}TensorFlow\.js backend ready/m);
    expect(result.stdout.split('\n')).toHaveLength(2);
    const body = JSON.parse(result.stdout);
    expect(body.results).toHaveLength(5);
    expect(body.results[0]).toMatchObject({ id: expect.any(String), docid: expect.stringMatching(/^\d+(-\d+)+$/), title: expect.any(String) });
  });

  it('rejects an empty query with a one-line reason and exit code 2', async () => {
    const result = await runDsi(['query', '--index', indexDir, '   ']);
    expect(result.code).toBe(2);
    expect(result.stderr.trim().split('\n')).toHaveLength(1);
  });
});

describe('the search in process', () => {
  it('leaks no tensors across queries', async () => {
    await initBackend({ prefer: 'wasm' });
    const { index } = await LocalIndex.open(indexDir);
    try {
      await index.search('warm up', 10);
      const before = tf.memory().numTensors;
      for (const q of ['image viewer', 'python library for http', 'documentation', 'kernel module', '']) await index.search(q || 'x', 10);
      expect(tf.memory().numTensors).toBe(before);
    } finally {
      index.dispose();
    }
  });

  it('refuses a damaged artifact', async () => {
    const copy = join(work, 'damaged');
    cpSync(indexDir, copy, { recursive: true });
    const weights = join(copy, 'shards', 's1', 'weights.bin');
    const bytes = readFileSync(weights);
    bytes[100] = bytes[100]! ^ 0xff;
    writeFileSync(weights, bytes);
    await expect(LocalIndex.open(copy)).rejects.toBeInstanceOf(ArtifactError);
    const result = await runDsi(['query', '--index', copy, 'image viewer']);
    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(/weights\.bin: checksum mismatch/);
  });
});

describe('bad input to dsi index', () => {
  it('names a missing flag', async () => {
    const result = await runDsi(['index', '--out', join(work, 'x')]);
    expect(result.code).toBe(2);
    expect(result.stderr).toMatch(/--corpus is required/);
  });

  it('names the missing corpus file and leaves no index behind', async () => {
    const out = join(work, 'nothing');
    const result = await runDsi(['index', '--corpus', join(work, 'no-such-dir'), '--out', out]);
    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(/corpus\.jsonl: not found/);
    expect(existsSync(out)).toBe(false);
  });
});

describe('dsi index --out', () => {
  /** Every file under a folder with its bytes, to check a folder was left exactly as it was. */
  function snapshot(root: string, into = new Map<string, string>(), prefix = ''): Map<string, string> {
    for (const e of readdirSync(root, { withFileTypes: true })) {
      if (e.isDirectory()) snapshot(join(root, e.name), into, `${prefix}${e.name}/`);
      else into.set(`${prefix}${e.name}`, readFileSync(join(root, e.name)).toString('base64'));
    }
    return into;
  }

  it("refuses a folder holding someone's files with one line and exit code 2, and leaves the files intact", async () => {
    const mine = join(work, 'someones-folder');
    mkdirSync(join(mine, 'thesis'), { recursive: true });
    writeFileSync(join(mine, 'thesis', 'chapter-1.tex'), '\\section{Introduction}');
    writeFileSync(join(mine, 'todo.txt'), 'back up the thesis');
    const before = snapshot(mine);
    const result = await runDsi(['index', '--corpus', DEMO_CORPUS, '--out', mine]);
    expect(result.code).toBe(2);
    expect(result.stderr.trim().split('\n')).toHaveLength(1);
    expect(result.stderr).toMatch(/someones-folder is not empty and holds no index/);
    expect(snapshot(mine)).toEqual(before);
    expect(readdirSync(work).filter((f) => f.startsWith('someones-folder'))).toEqual(['someones-folder']);
  });

  it('rebuilds over an existing index by swapping the new one in whole; a rebuild that fails leaves the old one as it was', async () => {
    const out = join(work, 'rebuilt');
    cpSync(indexDir, out, { recursive: true });
    const before = snapshot(out);

    const failed = await runDsi(['index', '--corpus', join(work, 'no-such-dir'), '--out', out]);
    expect(failed.code).toBe(1);
    expect(snapshot(out)).toEqual(before);

    const rebuilt = await runDsi(['index', '--corpus', DEMO_CORPUS, '--out', out, '--shards', '2', '--seed', '4', '--epochs', '1', '--gating-epochs', '1']);
    expect(rebuilt.code, rebuilt.stderr).toBe(0);
    const manifest = await openIndex(out);
    expect(manifest.config.seed).toBe(4);
    await expect(verifyIndex(out, manifest)).resolves.toBeUndefined();
    // Nothing of the old index is left in the new one, and no staging or old folder beside it.
    expect([...snapshot(out).keys()].sort()).toEqual(['manifest.json', ...Object.keys(manifest.files)].sort());
    expect(readdirSync(work).filter((f) => f.startsWith('rebuilt'))).toEqual(['rebuilt']);
  }, 120_000);
});
